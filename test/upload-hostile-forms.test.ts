/**
 * Upload forms that end badly (README "Endpoints"): cut, malformed, over the form limits, or failing
 * after their file already streamed to a provider. Every one is answered in the OpenAI envelope
 * with a 4xx, and the emulators' stores are the judge: nothing is left upstream.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';
import { multipartChunks, postChunked, type MultipartPart } from './emulators/helpers.ts';

const BUCKET = 'plain-bucket';
let harness: Harness;
before(async () => {
  harness = await startHarness({
    config: (emulators) => ({
      files_settings: [
        { custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
        {
          custom_llm_provider: 'vertex_ai',
          vertex_project: 'p',
          vertex_location: 'us-central1',
          vertex_credentials: JSON.stringify(emulators.google.createServiceAccount({ projectId: 'p' })),
          bucket_name: BUCKET,
          gcs_api_base: emulators.urls.google,
        },
      ],
    }),
  });
});
after(async () => harness.close());

/** Files the OpenAI emulator holds, asked over its own API. */
async function storedFiles(): Promise<number> {
  const response = await fetch(`${harness.emulators.urls.openai}/files`, { headers: { authorization: 'Bearer sk-emulator-openai' } });
  return ((await response.json()) as { data: unknown[] }).data.length;
}

const B = 'xBoundary42';
const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${B}` };
const field = (name: string, value: string | Buffer) => Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n')]);
const fileHead = (filename = 'a.txt', name = 'file') =>
  Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: text/plain\r\n\r\n`);
const END = Buffer.from(`--${B}--\r\n`);

async function send(chunks: Buffer[]) {
  return postChunked(`${harness.url}/openai/v1/files`, headers, chunks);
}

function assertEnvelope(response: { status: number; text: string }, status: number, pattern?: RegExp) {
  assert.equal(response.status, status, response.text);
  const body = JSON.parse(response.text) as { error: { message: string; type: string; code: string } };
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.error.type, 'string');
  if (pattern) assert.match(body.error.message, pattern);
}

test('a fields-first upload whose body ends mid-file is a 400 (not 502) and leaves nothing upstream', async () => {
  const before = await storedFiles();
  for (const tail of [Buffer.from('half of the'), Buffer.from('data\r\n'), Buffer.from(`data\r\n--${B}\r\n`)]) {
    const response = await send([field('purpose', 'user_data'), fileHead(), tail]);
    assertEnvelope(response, 400, /ended before the upload was complete/);
  }
  assert.equal(await storedFiles(), before);
});

test('a client that disconnects mid-file leaves nothing upstream', async () => {
  const before = await storedFiles();
  const seen = harness.emulators.openai.calls.length;
  const socket = connect(Number(new URL(harness.url).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /openai/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: multipart/form-data; boundary=${B}\r\nTransfer-Encoding: chunked\r\n\r\n`,
  );
  const body = Buffer.concat([field('purpose', 'user_data'), fileHead(), randomBytes(2_000_000)]);
  socket.write(`${body.length.toString(16)}\r\n`);
  socket.write(body);
  socket.write('\r\n');
  // The file part has begun, so the upload is already streaming to the provider; the client vanishes.
  await new Promise((resolve) => socket.write('', resolve));
  socket.destroy();
  await harness.emulators.openai.waitForCall((call) => call.seq > seen && call.method === 'POST' && call.status !== 200, 10_000);
  assert.equal(await storedFiles(), before);
});

test('failures after the file streamed upstream take the provider copy back', async () => {
  const before = await storedFiles();
  const cases: Array<{ name: string; tail: Buffer[]; pattern: RegExp }> = [
    { name: 'late invalid expires_after', tail: [field('expires_after[anchor]', 'created_at'), field('expires_after[seconds]', '12'), END], pattern: /expires_after/ },
    { name: 'late anchor without seconds', tail: [field('expires_after[anchor]', 'bogus'), END], pattern: /expires_after/ },
    { name: 'a second file part', tail: [fileHead('b.txt'), Buffer.from('second\r\n'), END], pattern: /one file part/ },
    {
      name: 'too many fields',
      tail: [...Array.from({ length: 25 }, (_, index) => field(`extra${index}`, 'x')), END],
      pattern: /at most 20 fields/,
    },
    { name: 'a late routing field', tail: [field('custom_llm_provider', 'vertex_ai'), END], pattern: /before the file part/ },
    { name: 'a late field with a NUL', tail: [field('note', 'a\u0000b'), END], pattern: /NUL character/ },
    { name: 'a late oversized field', tail: [field('note', Buffer.alloc(64 * 1024 + 1, 0x61)), END], pattern: /64 KiB/ },
    { name: 'a cut after the file', tail: [field('note', 'x')], pattern: /ended before/ },
  ];
  for (const { name, tail, pattern } of cases) {
    const response = await send([field('purpose', 'user_data'), fileHead(), Buffer.from('streamed bytes\r\n'), ...tail]);
    assert.equal(response.status, 400, `${name}: ${response.text}`);
    assertEnvelope(response, 400, pattern);
    assert.equal(await storedFiles(), before, `${name} left a provider file behind`);
  }
});

test('odd but well-formed uploads are answered, and what they answer is what the provider holds', async () => {
  const cases: Buffer[][] = [
    // junk header lines in a part, a part without Content-Disposition
    [field('purpose', 'user_data'), fileHead(), Buffer.from(`data\r\n--${B}\r\nX-Junk: \u0001\u0002\r\n\r\nzzz\r\n`), END],
    [field('purpose', 'user_data'), Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="j.txt"\r\nGarbage\r\n\r\n`), Buffer.from(`data\r\n`), END],
    // the boundary string inside the data, with and without a line break before it
    [field('purpose', 'user_data'), fileHead(), Buffer.from(`abc --${B} def\r\n--${B}x more\r\n`), END],
    [fileHead(), Buffer.from(`abc\r\n--${B}\r\nstray\r\n`), field('purpose', 'user_data'), END],
    // no final boundary, and nothing after the headers at all
    [field('purpose', 'user_data'), fileHead(), Buffer.from('abc\r\n')],
    [fileHead(), Buffer.from('abc')],
    [Buffer.from('not multipart at all')],
  ];
  for (const chunks of cases) {
    const before = await storedFiles();
    const response = await send(chunks);
    if (response.status === 200) {
      assert.equal(await storedFiles(), before + 1);
    } else {
      assertEnvelope(response, 400);
      assert.equal(await storedFiles(), before);
    }
  }
});

test('NUL bytes and text that is not UTF-8 in filenames and fields are 400, before anything goes upstream', async () => {
  const before = await storedFiles();
  const uploads = harness.emulators.openai.calls.filter((call) => call.method === 'POST').length;
  const cases: Buffer[][] = [
    [field('purpose', 'user_data'), fileHead('a\u0000b.txt'), Buffer.from('x\r\n'), END],
    [fileHead('a\u0000b.txt'), Buffer.from('x\r\n'), field('purpose', 'user_data'), END],
    [field('purpose', 'user_data\u0000'), fileHead(), Buffer.from('x\r\n'), END],
    // a lone surrogate as UTF-8 bytes (ED A0 80) in the filename and in a field
    [field('purpose', 'user_data'), Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="a`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('.txt"\r\n\r\nx\r\n')]), END],
    [field('purpose', Buffer.concat([Buffer.from('user_data'), Buffer.from([0xed, 0xa0, 0x80])])), fileHead(), Buffer.from('x\r\n'), END],
  ];
  for (const chunks of cases) assertEnvelope(await send(chunks), 400, /NUL character|not valid UTF-8/);
  assert.equal(await storedFiles(), before);
  assert.equal(harness.emulators.openai.calls.filter((call) => call.method === 'POST').length, uploads, 'nothing was sent upstream');
});

test('form limits: 20 fields of 64 KiB and one file are accepted; one more field or byte is a 400', async () => {
  const value = 'v'.repeat(64 * 1024);
  const maximal: MultipartPart[] = [
    { name: 'purpose', value: 'user_data' },
    ...Array.from({ length: 19 }, (_, index) => ({ name: `note${index}`, value })),
    { name: 'file', value: randomBytes(10_000), filename: 'max.bin' },
  ];
  for (const parts of [maximal, [maximal.at(-1)!, ...maximal.slice(0, -1)]]) {
    const response = await postChunked(`${harness.url}/openai/v1/files`, headers, multipartChunks(B, parts));
    assert.equal(response.status, 200, response.text);
  }
  const before = await storedFiles();
  const tooMany = [...maximal.slice(0, -1), { name: 'note-extra', value: 'x' }, maximal.at(-1)!];
  const tooBig = [{ name: 'purpose', value: 'user_data' }, { name: 'note', value: `${value}x` }, maximal.at(-1)!];
  for (const parts of [tooMany, tooBig, [maximal.at(-1)!, ...tooMany.slice(0, -1)], [maximal.at(-1)!, ...tooBig.slice(0, -1)]]) {
    const response = await postChunked(`${harness.url}/openai/v1/files`, headers, multipartChunks(B, parts));
    assertEnvelope(response, 400, /at most 20 fields|larger than 64 KiB/);
  }
  assert.equal(await storedFiles(), before);
  // Spooled files of refused forms are gone too.
  assert.deepEqual(await readdir(harness.runtime.spoolDirectory).catch(() => []), []);
});

test('a plain Vertex upload with a long name is deleted from the bucket through the SDK', async () => {
  const client = harness.client(MASTER_KEY, { defaultHeaders: { 'custom-llm-provider': 'vertex_ai' } });
  const filename = `${'a-rather-long-file-name-'.repeat(6)}.txt`;
  const file = await client.files.create({ file: await toFile(Buffer.from('gcs bytes'), filename), purpose: 'user_data' });
  assert.ok(file.id.startsWith(`gs://${BUCKET}/`) && file.id.length > 100, file.id);
  assert.equal(harness.emulators.google.objects(BUCKET).length, 1);
  assert.equal((await client.files.retrieve(file.id)).id, file.id);
  assert.deepEqual(await client.files.delete(file.id), { id: file.id, object: 'file', deleted: true });
  assert.equal(harness.emulators.google.objects(BUCKET).length, 0);
});
