/**
 * Plain (non-managed) files on the Gemini API through the gateway (README "Configuration reference" and "Endpoints"): the
 * official openai client on `/gemini/v1/files` and with `custom-llm-provider: gemini`, against the
 * Gemini emulator over HTTP. Asserts what the emulator received (resumable protocol, key header,
 * the exact bytes) and the OpenAI FileObjects the client got back.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { toFile } from 'openai';
import { buildConfig, type ConfigError } from '../src/config/load-config.ts';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { geminiApiBase } from '../src/providers/gemini/gemini-wire.ts';
import { closeProviderClients, createFile, deleteFile, fileContent, listFiles, retrieveFile } from '../src/sdk/index.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';

const FILES_KEY = 'gemini-files-key';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let emulators: AllEmulators;
let harness: Harness;
before(async () => {
  // The emulator's own key serves the deployment; files_settings uses a second project.
  emulators = await startAllEmulators({ gemini: { apiKeys: ['gemini-emulator-key', FILES_KEY] } });
  harness = await startHarness({
    emulators,
    config: (emulators) => ({
      files_settings: [{ custom_llm_provider: 'gemini', api_key: FILES_KEY, api_base: emulators.urls.gemini }],
      model_list: [{ model_name: 'gemini-flash', litellm_params: { model: 'gemini/gemini-2.0-flash', api_key: 'gemini-emulator-key', api_base: emulators.urls.gemini } }],
    }),
  });
});
after(async () => {
  await harness.close();
  await emulators.close();
});
beforeEach(() => harness.emulators.gemini.faults.clear());

const gemini = (key?: string) => harness.client(key, { baseURL: `${harness.url}/gemini/v1` });
const starts = () => harness.emulators.gemini.calls.filter((call) => call.headers['x-goog-upload-command'] === 'start');

test('upload on /gemini/v1/files: resumable upload with the files_settings key, an OpenAI FileObject back', async () => {
  const data = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(40_000)]);
  const file = await gemini().files.create({ file: await toFile(data, 'report.pdf', { type: 'application/pdf' }), purpose: 'user_data' });
  assert.match(file.id, /^file-gemini-[a-z0-9-]{1,40}$/);
  assert.ok(file.id.length <= 64);
  assert.equal(file.bytes, data.length);
  assert.equal(file.filename, 'report.pdf');
  assert.equal(file.purpose, 'user_data');
  assert.equal(file.status, 'processed');
  assert.equal(file.expires_at, file.created_at + 48 * 3600, 'Gemini deletes files after 48 hours');

  const start = starts().at(-1)!;
  assert.equal(start.headers['x-goog-api-key'], FILES_KEY);
  assert.equal(start.headers['x-goog-upload-protocol'], 'resumable');
  assert.equal(start.headers['x-goog-upload-header-content-length'], String(data.length));
  assert.equal(start.headers['x-goog-upload-header-content-type'], 'application/pdf');
  // The gateway names the file itself, so it can journal the id before sending any byte.
  assert.deepEqual(start.json, { file: { display_name: 'report.pdf', name: `files/${file.id.slice('file-gemini-'.length)}` } });
  const stored = harness.emulators.gemini.files().find((item) => `file-gemini-${item.name.slice(6)}` === file.id)!;
  assert.equal(stored.sha256, sha256(data));
  assert.equal(stored.apiKey, FILES_KEY);
});

test('custom-llm-provider: gemini serves retrieve, list and delete; content is a clear 400', async () => {
  const client = harness.client(undefined, { defaultHeaders: { 'custom-llm-provider': 'gemini' } });
  const file = await client.files.create({ file: await toFile(Buffer.from('hello gemini'), 'hello.txt'), purpose: 'assistants' });
  assert.equal(file.purpose, 'user_data', 'the Files API keeps no purpose');
  const retrieved = await client.files.retrieve(file.id);
  assert.deepEqual({ ...retrieved, status: file.status }, file);
  const listed = await client.files.list();
  assert.ok(listed.data.some((item) => item.id === file.id));
  await assert.rejects(client.files.content(file.id), (error: { status?: number; message: string }) => {
    assert.equal(error.status, 400);
    assert.match(error.message, /not supported by provider 'gemini'/);
    return true;
  });
  assert.deepEqual(await client.files.delete(file.id), { id: file.id, object: 'file', deleted: true });
  const deletes = harness.emulators.gemini.calls.filter((call) => call.method === 'DELETE');
  assert.equal(deletes.at(-1)!.path, `/v1beta/files/${file.id.slice('file-gemini-'.length)}`);
  await assert.rejects(client.files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
  await assert.rejects(client.files.retrieve('file-gemini-NOT/valid'), (error: { status?: number }) => error.status === 404);
});

test('list pages through Gemini pageTokens and answers OpenAI paging', async () => {
  const client = gemini();
  const made: string[] = [];
  for (let index = 0; index < 3; index += 1) made.push((await client.files.create({ file: await toFile(Buffer.from(`n${index}`), `n${index}.txt`), purpose: 'user_data' })).id);
  const first = await client.files.list({ limit: 2 });
  assert.equal(first.data.length, 2);
  assert.equal(first.has_more, true);
  const all = [];
  for await (const item of client.files.list({ limit: 2 })) all.push(item.id);
  for (const id of made) assert.ok(all.includes(id));
  for (const id of made) await client.files.delete(id);
});

test('fields before the file stream straight through: 8 MiB upload chunks, the last one finalises', async () => {
  const data = randomBytes(9 * 1024 * 1024);
  const form = new FormData();
  form.append('purpose', 'user_data');
  form.append('file', new Blob([data], { type: 'application/octet-stream' }), 'big.bin');
  const response = await harness.fetch('/gemini/v1/files', { method: 'POST', body: form });
  assert.equal(response.status, 200, await response.clone().text());
  const file = (await response.json()) as { id: string; bytes: number };
  assert.equal(file.bytes, data.length);
  const start = starts().at(-1)!;
  assert.equal(start.headers['x-goog-upload-header-content-length'], undefined, 'length unknown while streaming');
  const parts = harness.emulators.gemini.calls.filter((call) => call.seq > start.seq && call.query.upload_id !== undefined);
  assert.deepEqual(
    parts.map((call) => [call.headers['x-goog-upload-command'], call.headers['x-goog-upload-offset'], call.bodyBytes]),
    [
      ['upload', '0', 8 * 1024 * 1024],
      ['upload, finalize', String(8 * 1024 * 1024), 1024 * 1024],
    ],
  );
  assert.equal(harness.emulators.gemini.files().find((item) => file.id.endsWith(item.name.slice(6)))!.sha256, sha256(data));
  await gemini().files.delete(file.id);
});

test('an upstream failure is a clear error and leaves no file; a refused key is upstream_auth_failed', async () => {
  const before = harness.emulators.gemini.files().length;
  harness.emulators.gemini.faults.add({ method: 'POST', path: '/upload/v1beta/files', nth: 2, action: { kind: 'status', status: 503, body: { error: { code: 503, message: 'busy', status: 'UNAVAILABLE' } } } });
  await assert.rejects(gemini().files.create({ file: await toFile(randomBytes(1000), 'x.bin'), purpose: 'user_data' }), (error: { status?: number; message: string }) => {
    assert.equal(error.status, 502);
    assert.match(error.message, /gemini/);
    return true;
  });
  assert.equal(harness.emulators.gemini.files().length, before, 'an unfinished session is no file');

  harness.emulators.gemini.faults.add({
    method: 'GET',
    path: '/v1beta/files',
    action: { kind: 'status', status: 400, body: { error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] } } },
  });
  await assert.rejects(gemini().files.list(), (error: { status?: number; code?: string }) => error.status === 502 && error.code === 'upstream_auth_failed');
});

test('a non-admin reaches only the Gemini files recorded as theirs', async () => {
  const owner = await harness.newUser({ user_id: 'gemini-owner' });
  const other = await harness.newUser({ user_id: 'gemini-other' });
  const file = await gemini(owner.key).files.create({ file: await toFile(Buffer.from('mine'), 'mine.txt'), purpose: 'user_data' });
  assert.equal((await gemini(owner.key).files.retrieve(file.id)).id, file.id);
  await assert.rejects(gemini(other.key).files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
  await assert.rejects(gemini(other.key).files.delete(file.id), (error: { status?: number }) => error.status === 404);
  assert.deepEqual((await gemini(other.key).files.list()).data, []);
  assert.deepEqual((await gemini(owner.key).files.list()).data.map((item) => item.id), [file.id]);
});

test('config: gemini needs an api_key (or GEMINI_API_KEY); api_base may carry /v1beta', () => {
  const entry = (params: Record<string, unknown>) => ({ model_list: [{ model_name: 'g', litellm_params: { model: 'gemini/gemini-2.0-flash', ...params } }] });
  assert.throws(() => buildConfig(entry({}), {}), (error: ConfigError) => error.problems.some((problem) => /model_list\[0\]\.litellm_params\.api_key: required for gemini/.test(problem)));
  const fromEnv = buildConfig(entry({}), { GEMINI_API_KEY: 'k' });
  assert.equal(fromEnv.deployments[0]!.settings.apiKey, 'k');
  assert.equal(fromEnv.deployments[0]!.settings.provider, 'gemini');
  assert.equal(geminiApiBase('http://127.0.0.1:9/v1beta/'), 'http://127.0.0.1:9');
  assert.equal(geminiApiBase(undefined), 'https://generativelanguage.googleapis.com');
});

test('the library face: createFile / retrieveFile / listFiles / deleteFile with customLlmProvider gemini', async () => {
  const options = { customLlmProvider: 'gemini' as const, apiKey: FILES_KEY, apiBase: emulators.urls.gemini };
  const data = randomBytes(5000);
  const file = await createFile({ ...options, file: data, filename: 'lib.bin', purpose: 'user_data' });
  assert.match(file.id, /^file-gemini-/);
  assert.equal((await retrieveFile(file.id, options)).bytes, data.length);
  assert.ok((await listFiles(options)).data.some((item) => item.id === file.id));
  await assert.rejects(fileContent(file.id, options), (error: { status?: number }) => error.status === 400);
  assert.deepEqual(await deleteFile(file.id, options), { id: file.id, object: 'file', deleted: true });
  assert.equal(harness.emulators.gemini.files().some((item) => file.id.endsWith(item.name.slice(6))), false);
  await closeProviderClients();
});
