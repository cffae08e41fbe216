/**
 * Fields-first uploads (curl order) stream straight to the provider without spooling; the size
 * limit still holds mid-stream with nothing left upstream; a routing field that arrives after
 * the file is refused and the provider copy taken back.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';
import { multipartChunks, postChunked, type MultipartPart } from './emulators/helpers.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
let harness: Harness;
before(async () => {
  harness = await startHarness({ general: { max_upload_size_mb: 2 } });
});
after(async () => harness.close());

const storedFiles = async () => ((await (await harness.fetch('/openai/v1/files')).json()) as { data: Array<{ id: string }> }).data.length;

function post(parts: MultipartPart[]) {
  const boundary = `b${randomBytes(8).toString('hex')}`;
  return postChunked(`${harness.url}/openai/v1/files`, { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, multipartChunks(boundary, parts));
}

test('purpose before the file: the bytes stream straight through (chunked upstream) and arrive intact', async () => {
  const data = randomBytes(1_500_000);
  const response = await post([
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: data, filename: 'direct.bin', contentType: 'application/octet-stream' },
  ]);
  assert.equal(response.status, 200, response.text);
  const file = JSON.parse(response.text) as { id: string; bytes: number };
  assert.equal(file.bytes, data.length);
  const call = harness.emulators.openai.calls.findLast((item) => item.method === 'POST' && item.path === '/v1/files')!;
  assert.equal(call.headers['transfer-encoding'], 'chunked', 'not spooled: the length was unknown when the upload started');
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
});

test('over the size limit while streaming straight through: 413 and no file upstream', async () => {
  const before = await storedFiles();
  const response = await post([
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: randomBytes(3 * 1024 * 1024), filename: 'big.bin' },
  ]);
  assert.equal(response.status, 413, response.text);
  assert.equal(JSON.parse(response.text).error.code, 'file_too_large');
  assert.equal(await storedFiles(), before);
});

test('a routing field after a streamed file is refused and the provider copy removed', async () => {
  const before = await storedFiles();
  const response = await post([
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: Buffer.from('late'), filename: 'late.txt' },
    { name: 'target_model_names', value: 'gpt-4o-mini-openai' },
  ]);
  assert.equal(response.status, 400);
  assert.match(JSON.parse(response.text).error.message, /before the file part/);
  assert.equal(await storedFiles(), before);
});
