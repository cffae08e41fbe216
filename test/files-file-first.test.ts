/**
 * File-first forms (the openai SDKs' order) whose destination the request names (path prefix,
 * header or query): the upload starts at the file part, purpose follows the file upstream, and
 * the file is spooled meanwhile. When the complete form routes elsewhere (a late
 * target_model_names or model) the started upload is abandoned before its body completes — the
 * provider keeps nothing — and the spooled copy goes where the form says.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';
import { multipartChunks, postChunked, type MultipartPart } from './emulators/helpers.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
let harness: Harness;
before(async () => {
  harness = await startHarness({ general: { max_upload_size_mb: 2 } });
});
after(async () => harness.close());

const storedFiles = async () => ((await (await harness.fetch('/openai/v1/files')).json()) as { data: Array<{ id: string }> }).data.length;
const uploadCalls = () => harness.emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/files');
/** The upload call that carried this filename (abandoned uploads of earlier tests may be recorded later). */
const callFor = (filename: string) => uploadCalls().find((call) => call.form?.files[0]?.filename === filename)!;
const lastSeq = () => harness.emulators.openai.calls.at(-1)?.seq ?? 0;

/** Files left in the gateway's spool directory (none once a request is answered). */
async function spooled(): Promise<number> {
  const directories = await readdir(harness.runtime.spoolDirectory).catch(() => [] as string[]);
  return directories.length;
}

function post(parts: MultipartPart[], path = '/openai/v1/files', headers: Record<string, string> = {}) {
  const boundary = `b${randomBytes(8).toString('hex')}`;
  return postChunked(
    `${harness.url}${path}`,
    { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers },
    multipartChunks(boundary, parts),
  );
}

/** As `post`, with a Content-Length (as the SDKs send it) instead of chunks. */
function postWithLength(parts: MultipartPart[]) {
  const boundary = `b${randomBytes(8).toString('hex')}`;
  const chunks = multipartChunks(boundary, parts);
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return postChunked(
    `${harness.url}/openai/v1/files`,
    { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(length) },
    chunks,
  );
}

test('the openai SDK on /openai/v1: the upload starts at the file part and purpose follows the file upstream', async () => {
  const data = randomBytes(1_200_000);
  const client = harness.client(MASTER_KEY, { baseURL: `${harness.url}/openai/v1` });
  const file = await client.files.create({ file: await toFile(data, 'sdk.bin'), purpose: 'user_data' });
  assert.equal(file.bytes, data.length);
  assert.match(file.id, /^file-/);
  assert.doesNotMatch(file.id, /uf_/, 'a plain upload answers with the provider id');
  const call = callFor('sdk.bin');
  assert.equal(call.status, 200);
  // The SDK sends a Content-Length: the upload, started before purpose arrived, declares one too
  // (purpose and expiry counted at their longest, the rest filled in the epilogue), not chunks.
  assert.equal(call.headers['transfer-encoding'], undefined);
  assert.ok(Number(call.headers['content-length']) > data.length);
  assert.deepEqual(call.form!.fields, { purpose: ['user_data'] });
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
  assert.equal(call.form!.files[0]!.bytes, data.length);
  assert.equal(call.form!.files[0]!.filename, 'sdk.bin');
  const content = Buffer.from(await (await client.files.content(file.id)).arrayBuffer());
  assert.equal(sha256(content), sha256(data));
  assert.equal(await spooled(), 0, 'the spool kept meanwhile is removed');
});

test('expires_after after the file reaches the provider after the file part too', async () => {
  const response = await post([
    { name: 'file', value: Buffer.from('{"a":1}\n'), filename: 'late.jsonl', contentType: 'application/jsonl' },
    { name: 'purpose', value: 'batch' },
    { name: 'expires_after[anchor]', value: 'created_at' },
    { name: 'expires_after[seconds]', value: '3600' },
  ]);
  assert.equal(response.status, 200, response.text);
  const call = callFor('late.jsonl');
  assert.deepEqual(call.form!.fields['expires_after[seconds]'], ['3600']);
  assert.deepEqual(call.form!.fields.purpose, ['batch']);
  const file = JSON.parse(response.text) as { expires_at: number; created_at: number };
  assert.equal(file.expires_at - file.created_at, 3600);
});

test('a late target_model_names makes it a managed upload: the started upload is abandoned, nothing extra stays upstream', async () => {
  const before = await storedFiles();
  const seq = lastSeq();
  const data = randomBytes(300_000);
  const response = await post([
    { name: 'file', value: data, filename: 'managed.bin' },
    { name: 'purpose', value: 'user_data' },
    { name: 'target_model_names', value: 'gpt-4o-mini-openai' },
  ]);
  assert.equal(response.status, 200, response.text);
  const file = JSON.parse(response.text) as { id: string };
  assert.match(file.id, /^file-.*uf_/, 'a unified id');
  // The provisional upload was cut before its end (no answer, no file), the managed copy made from the spool.
  await harness.emulators.openai.waitForCall((call) => call.seq > seq && call.path === '/v1/files' && call.status === 0);
  const made = uploadCalls().filter((call) => call.seq > seq);
  assert.deepEqual(made.map((call) => call.status).sort(), [0, 200]);
  assert.equal(callFor('managed.bin').form!.files[0]!.sha256, sha256(data));
  assert.equal(await storedFiles(), before + 1, 'only the managed copy is stored');
  assert.equal(await spooled(), 0);
});

test('a late invalid purpose: 400 as before, and the provider keeps nothing', async () => {
  const before = await storedFiles();
  const response = await post([
    { name: 'file', value: randomBytes(100_000), filename: 'x.bin' },
    { name: 'purpose', value: 'nonsense' },
  ]);
  assert.equal(response.status, 400, response.text);
  assert.equal(JSON.parse(response.text).error.param, 'purpose');
  assert.equal(await storedFiles(), before);
  assert.equal(await spooled(), 0);
});

test('a late field that is not allowed after the file part (a second file) fails the form with nothing upstream', async () => {
  const before = await storedFiles();
  const response = await post([
    { name: 'file', value: randomBytes(100_000), filename: 'one.bin' },
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: Buffer.from('two'), filename: 'two.bin' },
  ]);
  assert.equal(response.status, 400, response.text);
  assert.equal(await storedFiles(), before);
  assert.equal(await spooled(), 0);
});

test('over the size limit with the file first: 413 and no file upstream', async () => {
  const before = await storedFiles();
  const response = await post([
    { name: 'file', value: randomBytes(3 * 1024 * 1024), filename: 'big.bin' },
    { name: 'purpose', value: 'user_data' },
  ]);
  assert.equal(response.status, 413, response.text);
  assert.equal(await storedFiles(), before);
  assert.equal(await spooled(), 0);
});

test('provider named by header: the same early start; a late custom_llm_provider field does not move it (the header wins)', async () => {
  const before = await storedFiles();
  const response = await post(
    [
      { name: 'file', value: Buffer.from('header routed'), filename: 'h.txt', contentType: 'text/plain' },
      { name: 'purpose', value: 'user_data' },
      { name: 'custom_llm_provider', value: 'azure' },
    ],
    '/v1/files',
    { 'custom-llm-provider': 'openai' },
  );
  assert.equal(response.status, 200, response.text);
  assert.equal(callFor('h.txt').headers['transfer-encoding'], 'chunked');
  assert.equal(await storedFiles(), before + 1);
});

test('without a destination in the request (/v1/files, no header or query) the file is spooled first, as before', async () => {
  const response = await post(
    [
      { name: 'file', value: Buffer.from('spooled'), filename: 's.txt', contentType: 'text/plain' },
      { name: 'purpose', value: 'user_data' },
    ],
    '/v1/files',
  );
  assert.equal(response.status, 200, response.text);
  const call = callFor('s.txt');
  assert.notEqual(call.headers['transfer-encoding'], 'chunked', 'sent from the spool with its length');
  assert.ok(Number(call.headers['content-length']) > 0);
});

test('Azure on /azure/v1: the same early start, with the purpose Azure stores', async () => {
  const data = randomBytes(200_000);
  const response = await post([{ name: 'file', value: data, filename: 'azure.bin' }, { name: 'purpose', value: 'user_data' }], '/azure/v1/files');
  assert.equal(response.status, 200, response.text);
  const call = harness.emulators.azure.calls.find((item) => item.method === 'POST' && item.form?.files[0]?.filename === 'azure.bin')!;
  assert.equal(call.headers['transfer-encoding'], 'chunked');
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
  assert.ok(call.form!.fields.purpose?.length === 1, 'one purpose, after the file');
});

test('with a Content-Length: purpose and expires_after follow the file in a body of declared length; other late fields are not sent on', async () => {
  const data = randomBytes(700_000);
  const response = await postWithLength([
    { name: 'file', value: data, filename: 'sized-late.bin' },
    { name: 'purpose', value: 'batch' },
    { name: 'note', value: 'n'.repeat(30_000) },
    { name: 'expires_after[anchor]', value: 'created_at' },
    { name: 'expires_after[seconds]', value: '7200' },
  ]);
  assert.equal(response.status, 200, response.text);
  const call = callFor('sized-late.bin');
  assert.equal(call.headers['transfer-encoding'], undefined);
  assert.deepEqual(call.form!.fields, { purpose: ['batch'], 'expires_after[anchor]': ['created_at'], 'expires_after[seconds]': ['7200'] });
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
  assert.equal(call.form!.files[0]!.bytes, data.length);
  const file = JSON.parse(response.text) as { expires_at: number; created_at: number };
  assert.equal(file.expires_at - file.created_at, 7200);
  assert.equal(await spooled(), 0);
});

test('with a Content-Length: a late target_model_names abandons the started upload (nothing extra upstream); a late invalid purpose is a 400 with nothing upstream', async () => {
  const before = await storedFiles();
  const seq = lastSeq();
  const data = randomBytes(300_000);
  const response = await postWithLength([
    { name: 'file', value: data, filename: 'sized-managed.bin' },
    { name: 'purpose', value: 'user_data' },
    { name: 'target_model_names', value: 'gpt-4o-mini-openai' },
  ]);
  assert.equal(response.status, 200, response.text);
  assert.match((JSON.parse(response.text) as { id: string }).id, /^file-.*uf_/);
  await harness.emulators.openai.waitForCall((call) => call.seq > seq && call.path === '/v1/files' && call.status === 0);
  assert.deepEqual(uploadCalls().filter((call) => call.seq > seq).map((call) => call.status).sort(), [0, 200]);
  assert.equal(callFor('sized-managed.bin').form!.files[0]!.sha256, sha256(data));
  assert.equal(await storedFiles(), before + 1, 'only the managed copy is stored');
  const invalid = await postWithLength([
    { name: 'file', value: randomBytes(100_000), filename: 'sized-invalid.bin' },
    { name: 'purpose', value: 'nonsense' },
  ]);
  assert.equal(invalid.status, 400, invalid.text);
  assert.equal(await storedFiles(), before + 1);
  const big = await postWithLength([
    { name: 'file', value: randomBytes(3 * 1024 * 1024), filename: 'sized-big.bin' },
    { name: 'purpose', value: 'user_data' },
  ]);
  assert.equal(big.status, 413, big.text);
  assert.equal(await storedFiles(), before + 1);
  assert.equal(await spooled(), 0);
});
