import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI, { APIConnectionError, AuthenticationError, BadRequestError, toFile } from 'openai';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import { multipartChunks, postChunked, randomData, sha256 } from './helpers.ts';

let emulator: OpenAIEmulator;
let client: OpenAI;

before(async () => {
  emulator = await startOpenAIEmulator();
  client = new OpenAI({ apiKey: emulator.apiKey, baseURL: emulator.apiBase, maxRetries: 0 });
});
after(() => emulator.close());
beforeEach(() => emulator.reset());

const upload = async (name: string, data: Buffer | string, purpose: 'user_data' | 'batch' = 'user_data') =>
  client.files.create({ file: await toFile(Buffer.from(data), name), purpose });

describe('OpenAI emulator files', () => {
  test('api_base is url + /v1 on 127.0.0.1', () => {
    assert.match(emulator.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(emulator.apiBase, `${emulator.url}/v1`);
  });

  test('upload returns the docs/wire-formats.md §1.3 FileObject and content round-trips the bytes', async () => {
    const data = randomData(300_000);
    const { data: file, request_id } = await client.files
      .create({ file: await toFile(data, 'notes.pdf'), purpose: 'user_data' })
      .withResponse();
    assert.match(file.id, /^file-[A-Za-z0-9]{24}$/);
    assert.match(request_id ?? '', /^req_[0-9a-f]{32}$/);
    assert.deepEqual(Object.keys(file).sort(), ['bytes', 'created_at', 'expires_at', 'filename', 'id', 'object', 'purpose', 'status', 'status_details']);
    assert.deepEqual({ ...file, id: '', created_at: 0 }, {
      id: '', object: 'file', bytes: 300_000, created_at: 0, expires_at: null, filename: 'notes.pdf',
      purpose: 'user_data', status: 'processed', status_details: null,
    });
    const content = await client.files.content(file.id);
    assert.equal(content.headers.get('content-type'), 'application/octet-stream');
    assert.equal(content.headers.get('content-length'), '300000');
    assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(data));
    assert.deepEqual(await client.files.retrieve(file.id), file);
  });

  test('an fs stream upload is stored byte for byte and recorded with its form', async () => {
    const data = randomData(2 * 1024 * 1024 + 17);
    const path = join(emulator.tempDir, 'source.jsonl');
    await writeFile(path, data);
    const file = await client.files.create({ file: createReadStream(path), purpose: 'batch' });
    assert.equal(file.filename, 'source.jsonl');
    assert.equal(file.expires_at, file.created_at + 30 * 24 * 3600, 'batch files default to +30 days (docs/wire-formats.md §1.4)');
    const call = emulator.calls.at(-1)!;
    assert.equal(call.status, 200);
    assert.deepEqual(call.form, {
      fields: { purpose: ['batch'] },
      files: [{ field: 'file', filename: 'source.jsonl', contentType: 'application/octet-stream', bytes: data.length, sha256: sha256(data) }],
    });
    assert.ok(call.bodyBytes > data.length);
    assert.equal(call.headers['authorization'], `Bearer ${emulator.apiKey}`);
    const content = await client.files.content(file.id);
    assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(data));
  });

  test('a chunked body with the purpose after the file part is accepted', async () => {
    const data = randomData(1_000_003);
    const boundary = 'unifile-test-boundary';
    const result = await postChunked(
      `${emulator.apiBase}/files`,
      { authorization: `Bearer ${emulator.apiKey}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      multipartChunks(boundary, [
        { name: 'file', value: data, filename: 'late.bin' },
        { name: 'purpose', value: 'assistants' },
      ]),
    );
    assert.equal(result.status, 200, result.text);
    const file = JSON.parse(result.text) as { id: string; bytes: number; purpose: string };
    assert.equal(file.bytes, data.length);
    assert.equal(file.purpose, 'assistants');
    const call = emulator.calls.at(-1)!;
    assert.equal(call.headers['transfer-encoding'], 'chunked');
    assert.equal(call.form?.files[0]?.sha256, sha256(data));
    // The temp part file was moved into the store, not copied or left behind.
    assert.deepEqual((await readdir(emulator.tempDir)).filter((name) => name.startsWith('part-')), []);
  });

  test('expires_after sets expires_at; half of it or a bad value is a 400', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from('x'), 'a.txt'),
      purpose: 'user_data',
      expires_after: { anchor: 'created_at', seconds: 3600 },
    });
    assert.equal(file.expires_at, file.created_at + 3600);
    assert.deepEqual(emulator.calls.at(-1)!.form?.fields, {
      purpose: ['user_data'], 'expires_after[anchor]': ['created_at'], 'expires_after[seconds]': ['3600'],
    });

    const onlySeconds = await postForm({ purpose: 'batch', 'expires_after[seconds]': '7200' });
    assert.equal(onlySeconds.status, 400);
    assert.equal(onlySeconds.body.error.param, 'expires_after.anchor');
    assert.equal(onlySeconds.body.error.code, 'missing_required_parameter');

    await assert.rejects(
      client.files.create({ file: await toFile(Buffer.from('x'), 'a.txt'), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 60 } }),
      (error: unknown) => error instanceof BadRequestError && error.code === 'integer_below_min_value' && error.param === 'expires_after.seconds',
    );
    const tooLong = await postForm({ purpose: 'batch', 'expires_after[anchor]': 'created_at', 'expires_after[seconds]': '2592001' });
    assert.equal(tooLong.body.error.code, 'integer_above_max_value');
    const badAnchor = await postForm({ purpose: 'batch', 'expires_after[anchor]': 'now', 'expires_after[seconds]': '3600' });
    assert.equal(badAnchor.body.error.param, 'expires_after.anchor');
    assert.equal((await client.files.list()).data.length, 1, 'refused uploads store nothing');
  });

  test('purpose is required and must be an upload purpose', async () => {
    const missing = await postForm({});
    assert.deepEqual(missing.body.error, {
      message: "Missing required parameter: 'purpose'.", type: 'invalid_request_error', param: 'purpose', code: 'missing_required_parameter',
    });
    const wrong = await postForm({ purpose: 'batch_output' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'invalid_value');
    assert.match(wrong.body.error.message, /^Invalid value: 'batch_output'\. Supported values are: 'assistants', 'batch'/);
  });

  test('unknown form fields are refused like OpenAI does', async () => {
    await assert.rejects(
      client.files.create({
        file: await toFile(Buffer.from('x'), 'a.txt'),
        purpose: 'user_data',
        // @ts-expect-error an undocumented field, sent as an extra form field (docs/wire-formats.md §1.8)
        unifile_target: 'openai-main',
      }),
      (error: unknown) =>
        error instanceof BadRequestError &&
        error.message.includes("Unknown parameter: 'unifile_target'.") &&
        error.param === 'unifile_target',
    );
    const noFile = await postForm({ purpose: 'user_data' }, false);
    assert.equal(noFile.body.error.param, 'file');
  });

  test('a non-multipart upload is a 400 and the emulator keeps serving', async () => {
    const response = await fetch(`${emulator.apiBase}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator.apiKey}`, 'content-type': 'application/json' },
      body: '{"purpose":"batch"}',
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    const broken = await fetch(`${emulator.apiBase}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator.apiKey}`, 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbat',
    });
    assert.equal(broken.status, 400);
    assert.equal((await client.files.list()).data.length, 0);
  });

  test('list pages 25 files by 10 with after/has_more, newest first', async () => {
    const ids = new Set<string>();
    for (let index = 0; index < 25; index += 1) ids.add((await upload(`f${index}.txt`, `file ${index}`)).id);
    await upload('other.jsonl', '{}', 'batch');
    emulator.calls.length = 0;
    const seen: string[] = [];
    const listed = [];
    for await (const file of client.files.list({ limit: 10, purpose: 'user_data' })) {
      seen.push(file.id);
      listed.push(file);
    }
    assert.deepEqual(new Set(seen), ids);
    assert.equal(seen.length, 25);
    const sorted = [...listed].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
    assert.deepEqual(seen, sorted.map((file) => file.id), 'desc by created_at, id tie-break');
    const queries = emulator.calls.map((call) => call.query);
    assert.deepEqual(queries, [
      { limit: '10', purpose: 'user_data' },
      { limit: '10', purpose: 'user_data', after: seen[9] },
      { limit: '10', purpose: 'user_data', after: seen[19] },
    ]);

    const firstPage = await client.get<{ first_id: string; last_id: string; has_more: boolean }>('/files', { query: { limit: 10, purpose: 'user_data' } });
    assert.deepEqual(
      { first_id: firstPage.first_id, last_id: firstPage.last_id, has_more: firstPage.has_more },
      { first_id: seen[0], last_id: seen[9], has_more: true },
    );
    const ascending = await client.files.list({ order: 'asc', purpose: 'user_data' });
    assert.deepEqual(ascending.data.map((file) => file.id), [...seen].reverse());
    const tail = await client.files.list({ order: 'asc', after: seen[1], purpose: 'user_data' });
    assert.deepEqual(tail.data.map((file) => file.id), [seen[0]]);
    assert.equal(tail.has_more, false);
    assert.equal((await client.files.list()).data.length, 26, 'default limit returns everything');
    await assert.rejects(client.files.list({ limit: 0 }), BadRequestError);
    // @ts-expect-error order outside the enum
    await assert.rejects(client.files.list({ order: 'sideways' }), BadRequestError);
  });

  test('an empty list still carries every paging field', async () => {
    const response = await fetch(`${emulator.apiBase}/files`, { headers: { authorization: `Bearer ${emulator.apiKey}` } });
    assert.deepEqual(await response.json(), { object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  test('delete answers the deletion object and then the id is gone', async () => {
    const file = await upload('gone.txt', 'bye');
    assert.deepEqual(await client.files.delete(file.id), { id: file.id, object: 'file', deleted: true });
    const response = await fetch(`${emulator.apiBase}/files/${file.id}/content`, { headers: { authorization: `Bearer ${emulator.apiKey}` } });
    assert.equal(response.status, 404);
    assert.match(response.headers.get('x-request-id') ?? '', /^req_/);
    assert.equal(
      await response.text(),
      `{"error":{"message":"No such File object: ${file.id}","type":"invalid_request_error","param":"id","code":null}}`,
    );
  });

  test('a wrong or missing key is a 401 invalid_api_key', async () => {
    const stranger = new OpenAI({ apiKey: 'sk-wrong-key-123456', baseURL: emulator.apiBase, maxRetries: 0 });
    await assert.rejects(stranger.files.list(), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.equal(error.code, 'invalid_api_key');
      assert.ok(!error.message.includes('sk-wrong-key-123456'), 'the key is masked');
      return true;
    });
    const anonymous = await fetch(`${emulator.apiBase}/files`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
  });

  test('unknown routes answer 404 in the OpenAI envelope', async () => {
    const response = await fetch(`${emulator.apiBase}/fyles`, { headers: { authorization: `Bearer ${emulator.apiKey}` } });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), {
      error: { message: 'Invalid URL (GET /v1/fyles)', type: 'invalid_request_error', param: null, code: null },
    });
  });
});

describe('OpenAI emulator faults', () => {
  test('a 500 once, then the call is handled (the client retries)', async () => {
    emulator.faults.add({ method: 'POST', path: '/v1/files', action: { kind: 'status', status: 500, body: { error: { message: 'boom', type: 'server_error', param: null, code: null } } } });
    const retrying = new OpenAI({ apiKey: emulator.apiKey, baseURL: emulator.apiBase, maxRetries: 1 });
    const file = await retrying.files.create({ file: await toFile(Buffer.from('retry me'), 'r.txt'), purpose: 'user_data' });
    assert.deepEqual(emulator.calls.map((call) => call.status), [500, 200]);
    assert.equal(emulator.calls[0]!.headers['x-stainless-retry-count'], '0');
    assert.equal(emulator.calls[1]!.headers['x-stainless-retry-count'], '1');
    assert.ok(emulator.calls[0]!.bodyBytes > 'retry me'.length, 'the faulted body was still read');
    assert.equal((await client.files.retrieve(file.id)).filename, 'r.txt');
  });

  test('a non-JSON error body reaches the client verbatim', async () => {
    emulator.faults.add({ path: '/v1/files*', action: { kind: 'status', status: 502, body: '<html>Bad Gateway</html>', headers: { 'x-should-retry': 'false' } } });
    const response = await fetch(`${emulator.apiBase}/files/file-x`, { headers: { authorization: `Bearer ${emulator.apiKey}` } });
    assert.equal(response.status, 502);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(response.headers.get('x-should-retry'), 'false');
    assert.match(response.headers.get('x-request-id') ?? '', /^req_/);
    assert.equal(await response.text(), '<html>Bad Gateway</html>');
  });

  test('drop cuts the connection: the client sees a connection error', async () => {
    emulator.faults.add({ method: 'POST', action: { kind: 'drop' } });
    await assert.rejects(upload('dropped.bin', randomData(3 * 1024 * 1024)), APIConnectionError);
    assert.equal(emulator.calls.at(-1)!.status, 0);
    assert.equal((await client.files.list()).data.length, 0, 'nothing stored and the emulator still answers');
  });

  test('delay holds the answer, then handles normally', async () => {
    emulator.faults.add({ method: 'GET', path: /^\/v1\/files$/, action: { kind: 'delay', ms: 150 } });
    const started = performance.now();
    const page = await client.files.list();
    assert.ok(performance.now() - started >= 140);
    assert.equal(page.data.length, 0);
    const impatient = new OpenAI({ apiKey: emulator.apiKey, baseURL: emulator.apiBase, maxRetries: 0, timeout: 50 });
    emulator.faults.add({ action: { kind: 'delay', ms: 1000 } });
    await assert.rejects(impatient.files.list(), (error: unknown) => error instanceof APIConnectionError);
    // The client gave up during the delay: the call is recorded as unanswered (status 0).
    assert.equal((await emulator.waitForCall((call) => call.seq === 2)).status, 0);
  });

  test('nth picks one call among the matching ones', async () => {
    emulator.faults.add({ method: 'GET', path: '/v1/files', nth: 2, action: { kind: 'status', status: 429, body: { error: { message: 'slow down', type: 'rate_limit_error', param: null, code: null } }, headers: { 'retry-after': '0' } } });
    await client.files.list();
    await assert.rejects(client.files.list(), (error: unknown) => (error as { status?: number }).status === 429);
    await client.files.list();
    assert.deepEqual(emulator.calls.map((call) => call.status), [200, 429, 200]);
  });

  test('control routes work over HTTP and are not recorded', async () => {
    const added = await fetch(`${emulator.url}/__emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ method: 'GET', path: { regex: '^/v1/files/file-' }, times: 'Infinity', action: { kind: 'status', status: 503, body: { error: { message: 'down', type: 'server_error', param: null, code: null } } } }),
    });
    assert.deepEqual(await added.json(), { rules: 1 });
    const faulted = await fetch(`${emulator.apiBase}/files/file-a`, { headers: { authorization: `Bearer ${emulator.apiKey}` } });
    const again = await fetch(`${emulator.apiBase}/files/file-b`, { headers: { authorization: `Bearer ${emulator.apiKey}` } });
    assert.deepEqual([faulted.status, again.status], [503, 503]);
    const calls = (await (await fetch(`${emulator.url}/__emulator/calls`)).json()) as Array<{ path: string; status: number; seq: number }>;
    assert.deepEqual(calls.map(({ path, status, seq }) => ({ path, status, seq })), [
      { path: '/v1/files/file-a', status: 503, seq: 1 },
      { path: '/v1/files/file-b', status: 503, seq: 2 },
    ]);
    const badRule = await fetch(`${emulator.url}/__emulator/faults`, { method: 'POST', body: '{"action":{"kind":"explode"}}' });
    assert.equal(badRule.status, 400);
    await upload('kept.txt', 'x');
    const reset = await fetch(`${emulator.url}/__emulator/reset`, { method: 'POST' });
    assert.equal(reset.status, 200);
    assert.deepEqual([emulator.calls.length, emulator.faults.rules.length], [0, 0]);
    assert.equal((await client.files.list()).data.length, 0, 'reset forgets stored files');
  });
});

/** Posts a hand-built form (with a small file part unless told otherwise). */
async function postForm(fields: Record<string, string>, withFile = true) {
  const form = new FormData();
  if (withFile) form.append('file', new Blob(['data']), 'd.txt');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const response = await fetch(`${emulator.apiBase}/files`, { method: 'POST', headers: { authorization: `Bearer ${emulator.apiKey}` }, body: form });
  return { status: response.status, body: (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } } };
}
