/**
 * Managed files on Gemini API models (README "Endpoints" (managed files)): one upload, one unified id, a Gemini Files
 * API copy next to an OpenAI copy; chat (plain and streamed) sends that deployment's fileUri with
 * x-goog-api-key; a copy still PROCESSING is waited for (bounded); an expired copy is re-made
 * from the OpenAI copy's bytes under the same id; without such a copy `expires_at` says so from
 * the start. The official openai client talks to the gateway; the emulators run over HTTP.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import type { RecordedCall } from '../src/emulators/emulator-kit.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const GEMINI_KEY = 'gemini-emulator-key';

let harness: Harness;
let ownerKey: string;
before(async () => {
  harness = await startHarness({
    config: (emulators) => ({
      model_list: [
        { model_name: 'gemini-flash', litellm_params: { model: 'gemini/gemini-2.0-flash', api_key: GEMINI_KEY, api_base: emulators.urls.gemini }, model_info: { id: 'gemini-1' } },
        { model_name: 'gpt-4o-mini-openai', litellm_params: { model: 'openai/gpt-4o-mini', api_key: 'sk-emulator-openai', api_base: emulators.urls.openai }, model_info: { id: 'oai-1' } },
      ],
      files_settings: [{ custom_llm_provider: 'gemini', api_key: GEMINI_KEY, api_base: emulators.urls.gemini }],
    }),
    general: { file_processing_timeout_seconds: 2 },
  });
  ownerKey = (await harness.newUser({ user_id: 'gemini-user' })).key;
});
after(async () => harness.close());
beforeEach(() => {
  const { gemini, openai } = harness.emulators;
  gemini.faults.clear();
  openai.faults.clear();
  gemini.setProcessing({ processingMs: 0, outcome: 'ACTIVE' });
});

const pdf = () => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(30_000)]);

async function upload(data: Buffer, models: string, key = ownerKey) {
  return harness.client(key).files.create({ file: await toFile(data, 'report.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: models } as never);
}

async function rows(query: ReturnType<typeof sql>) {
  return ((await harness.runtime.database.db.execute(query)) as unknown as { rows: Array<Record<string, any>> }).rows;
}

const copyOf = async (fileId: string, deploymentId: string) =>
  (await rows(sql`SELECT provider_file_id, upstream_state, upstream_expires_at FROM managed_file_copies WHERE file_id = ${fileId} AND deployment_id = ${deploymentId}`))[0]!;

const geminiName = (providerFileId: string) => `files/${providerFileId.slice('file-gemini-'.length)}`;
const generateCalls = (): RecordedCall[] => harness.emulators.gemini.calls.filter((call) => /:(stream)?[gG]enerateContent$/.test(call.path));
const fileParts = (call: RecordedCall) =>
  ((call.json as { contents: Array<{ parts: Array<{ fileData?: { fileUri: string; mimeType: string } }> }> }).contents.flatMap((content) => content.parts)).flatMap((part) => (part.fileData ? [part.fileData] : []));

const ask = (fileId: string, text = 'Summarize') => [{ role: 'user' as const, content: [{ type: 'text' as const, text }, { type: 'file' as const, file: { file_id: fileId } }] }];

test('one upload: a Gemini copy and an OpenAI copy, per-copy state recorded, chat plain and streamed with the one id', async () => {
  const data = pdf();
  const file = await upload(data, 'gemini-flash, gpt-4o-mini-openai');
  assert.match(file.id, /^file-uf_/);
  assert.equal(file.expires_at, null, 'the OpenAI copy holds the bytes for good: the Gemini copy can always be re-made');

  const gemini = await copyOf(file.id, 'gemini-1');
  const stored = harness.emulators.gemini.files().find((item) => item.name === geminiName(gemini.provider_file_id))!;
  assert.equal(stored.sha256, sha256(data));
  assert.equal(stored.mimeType, 'application/pdf');
  assert.equal(gemini.upstream_state, 'active');
  const lifetime = new Date(gemini.upstream_expires_at).getTime() - Date.now();
  assert.ok(lifetime > 47 * 3600_000 && lifetime <= 48 * 3600_000, 'Gemini deletes the copy after 48 h');
  assert.equal((await copyOf(file.id, 'oai-1')).upstream_expires_at, null);
  // The gateway names the file itself (journalled before any byte is sent).
  const start = harness.emulators.gemini.calls.filter((call) => call.headers['x-goog-upload-command'] === 'start').at(-1)!;
  assert.deepEqual(start.json, { file: { display_name: 'report.pdf', name: geminiName(gemini.provider_file_id) } });

  const answer = await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id) });
  const call = generateCalls().at(-1)!;
  assert.equal(call.path, '/v1beta/models/gemini-2.0-flash:generateContent');
  assert.equal(call.headers['x-goog-api-key'], GEMINI_KEY);
  assert.deepEqual(fileParts(call), [{ mimeType: 'application/pdf', fileUri: stored.uri }]);
  assert.match(answer.choices[0]!.message.content!, new RegExp(`^Echo from gemini:gemini-2.0-flash: Summarize \\[files: ${stored.uri}`));

  const stream = await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id, 'Stream it'), stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  const streamed = generateCalls().at(-1)!;
  assert.equal(streamed.path, '/v1beta/models/gemini-2.0-flash:streamGenerateContent');
  assert.equal(streamed.query.alt, 'sse');
  assert.deepEqual(fileParts(streamed), [{ mimeType: 'application/pdf', fileUri: stored.uri }]);
  assert.match(text, /^Echo from gemini:gemini-2.0-flash: Stream it \[files: /);

  const content = await harness.client(ownerKey).files.content(file.id);
  assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(data), 'content comes from the copy that can serve it');
});

test('a file only on Gemini says from the start that it ends with its 48 h copy', async () => {
  const file = await upload(pdf(), 'gemini-flash');
  assert.ok(file.expires_at !== null);
  assert.ok(Math.abs(file.expires_at! - (file.created_at + 48 * 3600)) <= 2);
  assert.equal((await harness.client(ownerKey).files.retrieve(file.id)).expires_at, file.expires_at);
  await assert.rejects(harness.client(ownerKey).files.content(file.id), (error: { status?: number; message: string }) => error.status === 400 && /not supported by provider 'gemini'/.test(error.message));
});

test('a copy still PROCESSING is waited for; past the bound a clear 409; FAILED a clear 400', async () => {
  harness.emulators.gemini.setProcessing({ processingMs: 600 });
  const file = await upload(pdf(), 'gemini-flash, gpt-4o-mini-openai');
  const copy = await copyOf(file.id, 'gemini-1');
  assert.equal(copy.upstream_state, 'processing');
  const before = harness.emulators.gemini.calls.length;
  await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id) });
  const polls = harness.emulators.gemini.calls.slice(before).filter((call) => call.method === 'GET' && call.path === `/v1beta/${geminiName(copy.provider_file_id)}`);
  assert.ok(polls.length >= 2, `polled until ACTIVE (${polls.length} gets)`);
  assert.ok(generateCalls().at(-1)!.seq > polls.at(-1)!.seq, 'generateContent only after the file was ACTIVE');
  assert.equal((await copyOf(file.id, 'gemini-1')).upstream_state, 'active');

  harness.emulators.gemini.setProcessing({ processingMs: 3_600_000 });
  const slow = await upload(pdf(), 'gemini-flash');
  const generated = generateCalls().length;
  await assert.rejects(harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(slow.id) }), (error: { status?: number; code?: string; message: string }) => {
    assert.equal(error.status, 409);
    assert.equal(error.code, 'file_not_ready');
    assert.match(error.message, /still being processed by gemini \(model gemini-flash\) after 2 s/);
    return true;
  });
  assert.equal(generateCalls().length, generated, 'nothing was sent to the model');
  harness.emulators.gemini.advanceClock(3_600_000);
  await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(slow.id) });

  harness.emulators.gemini.setProcessing({ processingMs: 0, outcome: 'FAILED' });
  const broken = await upload(pdf(), 'gemini-flash');
  await assert.rejects(harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(broken.id) }), (error: { status?: number; code?: string }) => error.status === 400 && error.code === 'file_processing_failed');
});

test('an expired Gemini copy is re-made from the OpenAI copy: same id, new fileUri, row updated', async () => {
  const data = pdf();
  const file = await upload(data, 'gemini-flash, gpt-4o-mini-openai');
  const first = await copyOf(file.id, 'gemini-1');
  const openaiCopy = await copyOf(file.id, 'oai-1');
  assert.ok(harness.emulators.gemini.expireFile(geminiName(first.provider_file_id)));

  const answer = await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id) });
  const second = await copyOf(file.id, 'gemini-1');
  assert.notEqual(second.provider_file_id, first.provider_file_id);
  const remade = harness.emulators.gemini.files().find((item) => item.name === geminiName(second.provider_file_id))!;
  assert.equal(remade.sha256, sha256(data), 'the same bytes, streamed from the OpenAI copy');
  assert.ok(harness.emulators.openai.calls.some((call) => call.path === `/v1/files/${openaiCopy.provider_file_id}/content` && call.status === 200));
  assert.deepEqual(fileParts(generateCalls().at(-1)!), [{ mimeType: 'application/pdf', fileUri: remade.uri }]);
  assert.match(answer.choices[0]!.message.content!, new RegExp(remade.uri));
  assert.equal((await harness.client(ownerKey).files.retrieve(file.id)).id, file.id);

  // The gateway's own record of the 48 h also triggers it, without asking Gemini first.
  await harness.runtime.database.db.execute(sql`UPDATE managed_file_copies SET upstream_expires_at = now() - interval '1 second' WHERE file_id = ${file.id} AND deployment_id = 'gemini-1'`);
  harness.emulators.gemini.advanceClock(48 * 3600_000);
  const before = harness.emulators.gemini.calls.length;
  await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id), stream: false });
  const third = await copyOf(file.id, 'gemini-1');
  assert.notEqual(third.provider_file_id, second.provider_file_id);
  const traffic = harness.emulators.gemini.calls.slice(before);
  assert.equal(traffic.filter((call) => call.method === 'GET' && call.path === `/v1beta/${geminiName(second.provider_file_id)}`).length, 0);
  assert.equal(traffic.filter((call) => call.headers['x-goog-upload-command'] === 'start').length, 1);

  // Used again: no further re-make.
  const uploads = harness.emulators.gemini.calls.filter((call) => call.headers['x-goog-upload-command'] === 'start').length;
  await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id) });
  assert.equal(harness.emulators.gemini.calls.filter((call) => call.headers['x-goog-upload-command'] === 'start').length, uploads);
});

test('two chats needing the same expired copy at once: both answer, one re-made copy is kept', async () => {
  const data = pdf();
  const file = await upload(data, 'gemini-flash, gpt-4o-mini-openai');
  harness.emulators.gemini.expireFile(geminiName((await copyOf(file.id, 'gemini-1')).provider_file_id));
  const chat = () => harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id) });
  const startsBefore = harness.emulators.gemini.calls.filter((call) => call.headers['x-goog-upload-command'] === 'start').length;
  const answers = await Promise.all([chat(), chat(), chat()]);
  const remakes = harness.emulators.gemini.calls.filter((call) => call.headers['x-goog-upload-command'] === 'start').length - startsBefore;
  assert.ok(remakes >= 1, 'at least one re-make (usually all three race)');
  for (const answer of answers) assert.match(answer.choices[0]!.message.content!, /\[files: /);
  const kept = await copyOf(file.id, 'gemini-1');
  const live = harness.emulators.gemini.files().filter((item) => item.sha256 === sha256(data));
  assert.deepEqual(live.map((item) => item.name), [geminiName(kept.provider_file_id)], 'the losers took their copies back');
});

test('an expired copy with no other copy to re-make it from is a clear 409', async () => {
  const file = await upload(pdf(), 'gemini-flash');
  harness.emulators.gemini.expireFile(geminiName((await copyOf(file.id, 'gemini-1')).provider_file_id));
  await assert.rejects(harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(file.id) }), (error: { status?: number; code?: string }) => error.status === 409 && error.code === 'file_copy_expired');
});

test('another user gets 404 for the managed id and for a raw Gemini id; the owner can chat with a raw id', async () => {
  const other = await harness.newUser({ user_id: 'gemini-stranger' });
  const file = await upload(pdf(), 'gemini-flash, gpt-4o-mini-openai');
  const stranger = harness.client(other.key);
  await assert.rejects(stranger.files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
  await assert.rejects(stranger.chat.completions.create({ model: 'gemini-flash', messages: ask(file.id) }), (error: { status?: number }) => error.status === 404);

  const raw = await harness.client(ownerKey, { baseURL: `${harness.url}/gemini/v1` }).files.create({ file: await toFile(Buffer.from('plain text'), 'notes.txt'), purpose: 'user_data' });
  const generated = generateCalls().length;
  await assert.rejects(stranger.chat.completions.create({ model: 'gemini-flash', messages: ask(raw.id) }), (error: { status?: number }) => error.status === 404);
  assert.equal(generateCalls().length, generated, 'a foreign raw id never reaches the provider');
  await harness.client(ownerKey).chat.completions.create({ model: 'gemini-flash', messages: ask(raw.id) });
  const stored = harness.emulators.gemini.files().find((item) => item.name === geminiName(raw.id))!;
  assert.deepEqual(fileParts(generateCalls().at(-1)!), [{ mimeType: 'text/plain', fileUri: stored.uri }]);
});

test('delete removes both copies', async () => {
  const file = await upload(pdf(), 'gemini-flash, gpt-4o-mini-openai');
  const gemini = await copyOf(file.id, 'gemini-1');
  const openai = await copyOf(file.id, 'oai-1');
  assert.deepEqual(await harness.client(ownerKey).files.delete(file.id), { id: file.id, object: 'file', deleted: true });
  assert.ok(!harness.emulators.gemini.files().some((item) => item.name === geminiName(gemini.provider_file_id)));
  assert.ok(harness.emulators.openai.calls.some((call) => call.method === 'DELETE' && call.path === `/v1/files/${openai.provider_file_id}` && call.status === 200));
  await assert.rejects(harness.client(ownerKey).files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
});

for (const [name, failing] of [
  ['the Gemini upload', 'gemini'],
  ['the OpenAI upload', 'openai'],
] as const) {
  test(`a fault on ${name} rolls back: nothing left in either emulator, no row`, async () => {
    const openaiLive = () => {
      const calls = harness.emulators.openai.calls;
      return calls.filter((call) => call.method === 'POST' && call.path === '/v1/files' && call.status === 200).length - calls.filter((call) => call.method === 'DELETE' && call.status === 200).length;
    };
    const geminiBefore = harness.emulators.gemini.files().length;
    const openaiBefore = openaiLive();
    const [count] = await rows(sql`SELECT count(*)::int AS n FROM managed_files`);
    if (failing === 'gemini') {
      // The bytes request (after start) fails: the session is never finalised.
      harness.emulators.gemini.faults.add({ method: 'POST', path: '/upload/v1beta/files', nth: 2, action: { kind: 'status', status: 500, body: { error: { code: 500, message: 'boom', status: 'INTERNAL' } } } });
    } else {
      harness.emulators.openai.faults.add({ method: 'POST', path: '/v1/files', action: { kind: 'status', status: 500, body: { error: { message: 'boom', type: 'server_error', param: null, code: null } } } });
    }
    await assert.rejects(upload(pdf(), 'gemini-flash, gpt-4o-mini-openai'), (error: { status?: number; message: string }) => {
      assert.equal(error.status, 502);
      assert.match(error.message, failing === 'gemini' ? /gemini \(model gemini-flash\)/ : /openai \(model gpt-4o-mini-openai\)/);
      assert.doesNotMatch(error.message, /gemini-1|oai-1|boom/, 'no deployment id, no provider text');
      assert.match(error.message, /No copy was kept/);
      return true;
    });
    assert.equal(harness.emulators.gemini.files().length, geminiBefore);
    assert.equal(openaiLive(), openaiBefore);
    assert.deepEqual(await rows(sql`SELECT count(*)::int AS n FROM managed_files`), [count]);
  });
}
