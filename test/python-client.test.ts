/**
 * Drop-in with the official Python client (README "Endpoints"): it sends `Content-Type: application/json`
 * with an empty body on every call (GET, DELETE, bodiless POST), fields before the file part, and
 * lists as repeated `name[]` fields. The first test runs the real client (openai-python, from
 * `../shared/clients` beside the repository, see its README); the second replays the exact bytes
 * it sends and always runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { rawRequest } from './support/raw-http.ts';
import { BUCKET, startManagedHarness, type ManagedHarness } from './support/managed-config.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
// UNIFILE_PYTHON_CLIENT_DIR names the clients folder when the repository is not beside it (.ci/run sets it).
const clients = resolve(process.env.UNIFILE_PYTHON_CLIENT_DIR ?? resolve(repoRoot, '../shared/clients'));
const clientSource = resolve(clients, 'openai-python-1.39.0/src');
const python = process.env.UNIFILE_PYTHON ?? '/usr/bin/python3';
// Only an explicit opt-out turns the real-client test off; a missing client otherwise fails it.
const optOut = process.env.UNIFILE_SKIP_PYTHON_CLIENT === '1';

let harness: ManagedHarness;
let second: OpenAIEmulator;
before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
});
after(() => harness.close()); // closes the second emulator too

function runPython(args: string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(
      python,
      [resolve(repoRoot, 'test/python/official_client_flow.py'), ...args],
      { env: { ...process.env, PYTHONPATH: `${clientSource}:${resolve(clients, 'py-shim')}` }, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`python client failed: ${error.message}\n${stderr}`)) : resolveRun(stdout)),
    );
  });
}

test('the official Python client: managed upload, list, retrieve, content, chat on two providers, delete', { skip: optOut && 'UNIFILE_SKIP_PYTHON_CLIENT=1' }, async () => {
  assert.ok(
    existsSync(resolve(clientSource, 'openai/__init__.py')),
    `The official Python client is missing: expected ${clientSource} (see ../shared/clients/README.md; UNIFILE_PYTHON_CLIENT_DIR names another folder). Set UNIFILE_SKIP_PYTHON_CLIENT=1 to run without it.`,
  );
  assert.ok(existsSync(python), `No Python interpreter at ${python} (set UNIFILE_PYTHON, or UNIFILE_SKIP_PYTHON_CLIENT=1 to run without it).`);
  const user = await harness.newUser({ user_id: 'py-user' });
  const seen = JSON.parse(await runPython([`${harness.url}/v1`, user.key, 'gpt-4o-mini-openai', 'gemini-2.0-flash', 'azure-gpt'])) as Record<string, any>;

  const id = seen.created.id as string;
  assert.match(id, /^file-uf_/);
  assert.equal(seen.created.filename, 'résumé q1.txt');
  assert.equal(seen.created.purpose, 'user_data');
  assert.ok(seen.listed_ids.includes(id));
  assert.deepEqual(seen.listed_for_a, [id]);
  assert.deepEqual(seen.listed_for_other, [], 'the JSON-body filter of a GET is applied');
  assert.equal(seen.retrieved.id, id);
  assert.equal(seen.content_equal, true);
  assert.equal(seen.content_headers['content-type'], 'text/plain');
  assert.equal(seen.content_headers['x-content-type-options'], 'nosniff');
  assert.equal(seen.content_headers['content-disposition'], `attachment; filename="r_sum_ q1.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20q1.txt`);
  assert.equal(seen.content_headers['content-length'], String(Buffer.byteLength('Unifile through the Python client: café ✓\n')));
  for (const model of ['gpt-4o-mini-openai', 'gemini-2.0-flash']) {
    assert.equal(seen.chat[model].object, 'chat.completion', model);
    assert.equal(typeof seen.chat[model].content, 'string', model);
  }
  assert.deepEqual(seen.deleted, { id, object: 'file', deleted: true });
  assert.equal(seen.after_delete.status, 404);
  assert.equal(seen.unknown_delete.status, 404);
  assert.equal(seen.unknown_delete.body.code, 'file_not_found');

  // Upstream: both names were one managed file on every deployment, the copies are gone again,
  // and the chats carried each deployment's own file reference, never the unified id.
  const uploads = [...harness.emulators.openai.calls, ...second.calls].filter((call) => call.method === 'POST' && call.path === '/v1/files' && call.status === 200);
  assert.equal(uploads.length, 2);
  for (const upload of uploads) assert.deepEqual(Object.keys(upload.form!.fields), ['purpose'], 'no gateway field upstream');
  assert.equal(harness.emulators.google.objects(BUCKET).length, 0, 'the GCS copy was deleted');
  const chats = [...harness.emulators.openai.calls, ...second.calls].filter((call) => call.path === '/v1/chat/completions');
  assert.equal(chats.length, 1);
  const openaiPart = (chats[0]!.json as { messages: Array<{ content: Array<{ file?: { file_id: string } }> }> }).messages[0]!.content[1]!;
  assert.match(openaiPart.file!.file_id, /^file-/);
  assert.notEqual(openaiPart.file!.file_id, id);
  const gemini = harness.emulators.google.calls.filter((call) => call.path.endsWith(':generateContent'));
  assert.equal(gemini.length, 1);
  const geminiPart = (gemini[0]!.json as { contents: Array<{ parts: Array<{ fileData?: { fileUri: string; mimeType: string } }> }> }).contents[0]!.parts[1]!;
  assert.match(geminiPart.fileData!.fileUri, new RegExp(`^gs://${BUCKET}/`));
  assert.equal(geminiPart.fileData!.mimeType, 'text/plain');
});

test("the Python client's exact bytes: Content-Type json and an empty body on GET, DELETE and bodiless POST", async () => {
  const client = harness.client();
  const host = new URL(harness.url).host;
  const send = (method: string, path: string, extra = '', body = '') =>
    rawRequest(
      harness.url,
      `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nContent-Type: application/json\r\n` +
        `User-Agent: OpenAI/Python 1.39.0\r\nAuthorization: Bearer sk-master-test-key\r\n${extra}Connection: close\r\n\r\n${body}`,
    );
  const plain = await client.files.create({ file: await toFile(Buffer.from('raw bytes'), 'raw.txt'), purpose: 'user_data' });
  const managed = await client.files.create({
    file: await toFile(Buffer.from('managed bytes'), 'm.txt'),
    purpose: 'user_data',
    // @ts-expect-error gateway field
    target_model_names: 'gpt-4o-mini-openai',
  });

  for (const path of ['/v1/files', `/v1/files/${plain.id}`, `/v1/files/${managed.id}`, '/v1/models', '/health/readiness']) {
    const answer = await send('GET', path);
    assert.equal(answer.status, 200, `GET ${path}: ${answer.body}`);
  }
  // A GET with a JSON body (files.list(extra_body=...)) filters the managed list.
  const filter = JSON.stringify({ target_model_names: ['azure-gpt'] });
  const filtered = await send('GET', '/v1/files', `Content-Length: ${Buffer.byteLength(filter)}\r\n`, filter);
  assert.equal(filtered.status, 200, filtered.body);
  assert.deepEqual(JSON.parse(filtered.body).data, []);
  const content = await send('GET', `/v1/files/${managed.id}/content`);
  assert.equal(content.status, 200);
  assert.equal(content.body, 'managed bytes');

  const deletedPlain = await send('DELETE', `/v1/files/${plain.id}`);
  assert.equal(deletedPlain.status, 200, deletedPlain.body);
  assert.deepEqual(JSON.parse(deletedPlain.body), { id: plain.id, object: 'file', deleted: true });
  const deletedManaged = await send('POST', `/v1/files/${managed.id}/delete`, 'Content-Length: 0\r\n');
  assert.equal(deletedManaged.status, 200, deletedManaged.body);
  assert.equal(JSON.parse(deletedManaged.body).deleted, true);
  assert.ok(
    harness.emulators.openai.calls.some((call) => call.method === 'DELETE' && call.path === `/v1/files/${plain.id}` && call.status === 200),
    'deleted upstream',
  );

  // A POST that needs a body still says so, in the envelope.
  const chat = await send('POST', '/v1/chat/completions', 'Content-Length: 0\r\n');
  assert.equal(chat.status, 400);
  assert.equal(JSON.parse(chat.body).error.type, 'invalid_request_error');
});
