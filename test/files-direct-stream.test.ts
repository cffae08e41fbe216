/**
 * Fields-first uploads (curl order) stream straight to the provider without spooling; the size
 * limit still holds mid-stream with nothing left upstream; a routing field that arrives after
 * the file is refused and the provider copy taken back.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
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

test('purpose before the file, sent chunked: the bytes stream straight through (chunked upstream) and arrive intact', async () => {
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

/**
 * POSTs the form with a Content-Length, as curl and httpx send it, writing the body in pieces cut
 * at `cutsOf(body)` (byte offsets) with a pause in between so that the gateway reads them apart.
 */
async function postWithLength(parts: MultipartPart[], cutsOf: (body: Buffer) => number[] = () => [], options: { body?: (boundary: string) => Buffer } = {}) {
  const boundary = `b${randomBytes(8).toString('hex')}`;
  const body = options.body?.(boundary) ?? Buffer.concat(multipartChunks(boundary, parts));
  const cuts = cutsOf(body);
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const outgoing = request(
      `${harness.url}/openai/v1/files`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
      },
      (incoming) => {
        const received: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => received.push(chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(received).toString('utf8') }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    void (async () => {
      let from = 0;
      for (const cut of [...cuts, body.length]) {
        outgoing.write(body.subarray(from, cut));
        from = cut;
        if (cut < body.length) await delay(50);
      }
      outgoing.end();
    })();
  });
  return { response: await response, body, boundary };
}

/** The upstream upload of the file named `filename`. */
const uploadOf = (filename: string) =>
  harness.emulators.openai.calls.findLast((item) => item.method === 'POST' && item.path === '/v1/files' && item.form?.files[0]?.filename === filename)!;

test('purpose before the file, with a Content-Length: the upstream request declares its length too (no chunks), only purpose and the file go on', async () => {
  const data = randomBytes(1_500_000);
  const { response, body, boundary } = await postWithLength([
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: data, filename: 'sized.bin', contentType: 'application/octet-stream' },
  ]);
  assert.equal(response.status, 200, response.text);
  assert.equal((JSON.parse(response.text) as { bytes: number }).bytes, data.length);
  const call = uploadOf('sized.bin');
  assert.equal(call.headers['transfer-encoding'], undefined);
  // The client's boundary is reused, so the length is exact: the same parts make a body exactly as
  // long as the client's, with no filler after the closing delimiter.
  assert.equal(call.headers['content-type'], `multipart/form-data; boundary=${boundary}`);
  assert.equal(Number(call.headers['content-length']), body.length);
  assert.deepEqual(call.form!.fields, { purpose: ['user_data'] });
  assert.equal(call.form!.files.length, 1);
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
  assert.equal(call.form!.files[0]!.bytes, data.length);
});

test('with a Content-Length, the file part read apart from its headers still declares its length and arrives intact', async () => {
  const data = randomBytes(300_000);
  const parts = [
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: data, filename: 'apart.bin' },
  ];
  // Pauses right before the file's first byte and 1000 bytes into it.
  const { response } = await postWithLength(parts, (body) => [body.indexOf(data.subarray(0, 64)), body.indexOf(data.subarray(0, 64)) + 1000]);
  assert.equal(response.status, 200, response.text);
  const call = uploadOf('apart.bin');
  assert.equal(call.headers['transfer-encoding'], undefined);
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
});

test('with a Content-Length, a file whose first bytes look like a boundary split across reads goes on chunked, intact', async () => {
  const data = Buffer.concat([Buffer.from('\r\n-'), randomBytes(200_000)]);
  const parts = [
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: data, filename: 'split.bin' },
  ];
  // A pause after the file's first three bytes: busboy holds them back as a possible boundary.
  const { response } = await postWithLength(parts, (body) => [body.indexOf(data.subarray(0, 64)) + 3]);
  assert.equal(response.status, 200, response.text);
  const call = uploadOf('split.bin');
  assert.equal(call.headers['transfer-encoding'], 'chunked', 'the file start was not found in a body chunk: no length declared');
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
});

test('with a Content-Length, fields after the file are not sent on: the upstream gets only purpose and the file, intact', async () => {
  const data = randomBytes(100_000);
  const { response } = await postWithLength([
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: data, filename: 'late-note.bin' },
    { name: 'note', value: 'x'.repeat(40_000) },
    { name: 'purpose', value: 'user_data' },
  ]);
  assert.equal(response.status, 200, response.text);
  const call = uploadOf('late-note.bin');
  assert.equal(call.headers['transfer-encoding'], undefined);
  assert.deepEqual(call.form!.fields, { purpose: ['user_data'] });
  assert.equal(call.form!.files[0]!.sha256, sha256(data));
  assert.equal(call.form!.files[0]!.bytes, data.length);
});

test('with a Content-Length: a routing field after the file is refused and the copy removed; over the limit is a 413 with nothing upstream', async () => {
  const before = await storedFiles();
  const late = await postWithLength([
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: Buffer.from('late'), filename: 'late.txt' },
    { name: 'target_model_names', value: 'gpt-4o-mini-openai' },
  ]);
  assert.equal(late.response.status, 400);
  assert.match(JSON.parse(late.response.text).error.message, /before the file part/);
  assert.equal(await storedFiles(), before);
  const big = await postWithLength([
    { name: 'purpose', value: 'user_data' },
    { name: 'file', value: randomBytes(3 * 1024 * 1024), filename: 'big.bin' },
  ]);
  assert.equal(big.response.status, 413, big.response.text);
  assert.equal(await storedFiles(), before);
});

test('with a Content-Length, a file that runs on where the closing delimiter must be is a cut form: 400, nothing stored', async () => {
  const before = await storedFiles();
  const data = randomBytes(400_000);
  const { response } = await postWithLength([], () => [], {
    body: (boundary) =>
      Buffer.concat([
        ...multipartChunks(boundary, [{ name: 'purpose', value: 'user_data' }]).slice(0, -1),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="open.bin"\r\n\r\n`),
        data,
      ]),
  });
  assert.equal(response.status, 400, response.text);
  assert.match(JSON.parse(response.text).error.message, /ended before the upload was complete/);
  assert.equal(await storedFiles(), before);
});
