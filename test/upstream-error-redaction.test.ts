/**
 * Upstream error text is never returned verbatim (README "Endpoints" (errors), ARCHITECTURE "Errors"): the client gets
 * the provider, the status class and the provider's error code/type; the provider's own message
 * (key fragments, provider ids behind unified ids, gs:// paths, the token endpoint URL) goes to
 * the log with the request id. Deployment ids never appear in client-facing messages.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { startManagedHarness, type ManagedHarness } from './support/managed-config.ts';

let harness: ManagedHarness;
let second: OpenAIEmulator;
let userKey: string;
let fileId: string;
let copies: Map<string, string>;
const DEPLOYMENT_IDS = ['oai-1', 'oai-2', 'vertex-1', 'azure-1'];

before(async () => {
  harness = await startManagedHarness({ captureLogs: true });
  second = harness.second;
  userKey = (await harness.newUser({ user_id: 'redaction-user' })).key;
  const file = await harness.client(userKey).files.create({
    file: await toFile(Buffer.from('%PDF-1.4 report'), 'report.pdf', { type: 'application/pdf' }),
    purpose: 'user_data',
    target_model_names: 'gpt-4o-mini-openai,gemini-2.0-flash',
  } as never);
  fileId = file.id;
  const rows = (await harness.runtime.database.db.execute(
    sql`SELECT deployment_id, provider_file_id FROM managed_file_copies WHERE file_id = ${fileId}`,
  )) as unknown as { rows: Array<{ deployment_id: string; provider_file_id: string }> };
  copies = new Map(rows.rows.map((row) => [row.deployment_id, row.provider_file_id]));
});
after(() => harness.close()); // closes the second emulator too
beforeEach(() => {
  for (const emulator of [harness.emulators.openai, second, harness.emulators.google]) emulator.faults.clear();
});

interface Answer {
  status: number;
  requestId: string;
  text: string;
  error: { message: string; type: string; code: string | null };
}

async function call(path: string, init: RequestInit & { key?: string } = {}): Promise<Answer> {
  const response = await harness.fetch(path, { key: userKey, ...init });
  const text = await response.text();
  return { status: response.status, requestId: response.headers.get('x-request-id')!, text, error: JSON.parse(text).error };
}

const chat = (model: string) =>
  call('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'file', file: { file_id: fileId } }] }] }),
  });

/** The client saw none of `secrets`; the log has each of them on a line carrying the request id. */
function assertRedacted(answer: Answer, secrets: string[]): void {
  for (const secret of [...secrets, ...DEPLOYMENT_IDS]) assert.ok(!answer.text.includes(secret), `client body must not contain ${secret}: ${answer.text}`);
  const lines = harness.logs.filter((line) => line.includes(answer.requestId));
  for (const secret of secrets) assert.ok(lines.some((line) => line.includes(secret)), `the log has ${secret} with request id ${answer.requestId}`);
}

test('an upstream 401 with a key fragment: 502 naming the provider and its code, the text only in the log', async () => {
  const message = 'Incorrect API key provided: sk-****CRET. You can find your API key at https://platform.openai.com/account/api-keys.';
  for (const emulator of [harness.emulators.openai, second]) {
    emulator.faults.add({ path: '/v1/chat/completions', action: { kind: 'status', status: 401, body: { error: { message, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } } });
  }
  const answer = await chat('gpt-4o-mini-openai');
  assert.equal(answer.status, 502);
  assert.equal(answer.error.code, 'upstream_auth_failed');
  assert.match(answer.error.message, /^openai rejected the gateway's credentials \(HTTP 401, type invalid_request_error, code invalid_api_key/);
  assertRedacted(answer, ['sk-****CRET']);
});

test("a provider id behind the unified id, in an upstream 400/404 text, stays in the log", async () => {
  const ids = [copies.get('oai-1')!, copies.get('oai-2')!];
  for (const [index, emulator] of [harness.emulators.openai, second].entries()) {
    emulator.faults.add({ path: '/v1/chat/completions', action: { kind: 'status', status: 400, body: { error: { message: `Invalid file ${ids[index]}: it is being processed`, type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } } } });
  }
  const answer = await chat('gpt-4o-mini-openai');
  assert.equal(answer.status, 400);
  assert.equal(answer.error.code, 'upstream_invalid_request');
  assert.match(answer.error.message, /^openai rejected the request \(HTTP 400, type invalid_request_error, code invalid_value/);
  const served = ids.filter((id) => harness.logs.some((line) => line.includes(answer.requestId) && line.includes(id)));
  assert.equal(served.length, 1, 'the deployment that answered is logged with its text');
  assertRedacted(answer, served);
  for (const id of ids) assert.ok(!answer.text.includes(id));
});

test('a Gemini error naming the gs:// object: the client sees vertex_ai and the Google status only', async () => {
  const uri = copies.get('vertex-1')!;
  harness.emulators.google.faults.add({
    path: /:generateContent$/,
    action: { kind: 'status', status: 403, body: { error: { code: 403, message: `Permission denied on resource ${uri} for service account sa@emulated-project.iam.gserviceaccount.com`, status: 'PERMISSION_DENIED' } } },
  });
  const answer = await chat('gemini-2.0-flash');
  assert.equal(answer.status, 502);
  assert.match(answer.error.message, /^vertex_ai rejected the gateway's credentials \(HTTP 403, code PERMISSION_DENIED/);
  assertRedacted(answer, [uri, 'sa@emulated-project.iam.gserviceaccount.com']);
});

test('a refusing token endpoint: its URL and description are logged, not returned', async () => {
  const tokenUri = `${harness.emulators.urls.google}/token`;
  harness.emulators.google.revokeTokens();
  harness.emulators.google.faults.add({ method: 'POST', path: '/token', times: Infinity, action: { kind: 'status', status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature for key 1234abcd.' } } });
  try {
    const answer = await call(`/v1/files/${fileId}`, { method: 'DELETE' });
    assert.equal(answer.status, 502);
    assert.equal(answer.error.code, 'delete_incomplete');
    assert.match(answer.error.message, /vertex_ai \(model gemini-2\.0-flash\)/);
    assert.match(answer.error.message, /code invalid_grant/);
    assertRedacted(answer, [tokenUri, 'Invalid JWT Signature for key 1234abcd.']);
  } finally {
    harness.emulators.google.faults.clear();
  }
  // A repeated delete finishes the job once the token endpoint behaves again.
  const done = await harness.client(userKey).files.delete(fileId);
  assert.equal(done.deleted, true);
});

test('a failed managed upload names provider and model, never the deployment id nor the provider text', async () => {
  second.faults.add({ method: 'POST', path: '/v1/files', action: { kind: 'status', status: 500, body: { error: { message: 'disk /srv/openai-internal/shard-7 full', type: 'server_error', code: null } } } });
  const form = new FormData();
  form.set('purpose', 'user_data');
  form.set('target_model_names', 'gpt-4o-mini-openai');
  form.set('file', new Blob(['hello']), 'a.txt');
  const answer = await call('/v1/files', { method: 'POST', body: form });
  assert.equal(answer.status, 502);
  assert.match(answer.error.message, /openai \(model gpt-4o-mini-openai\)/);
  assertRedacted(answer, ['/srv/openai-internal/shard-7']);
});

test('a plain upstream 404 is the same "No such File object" as any unknown id', async () => {
  const answer = await call('/openai/v1/files/file-nosuchthing', { key: undefined });
  assert.equal(answer.status, 404);
  assert.equal(answer.error.message, 'No such File object: file-nosuchthing');
});
