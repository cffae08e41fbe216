import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI, { AzureOpenAI, BadRequestError, NotFoundError, RateLimitError, toFile } from 'openai';
import { startAzureEmulator, type AzureEmulator } from '../../src/emulators/azure-emulator.ts';
import { randomData, sha256 } from './helpers.ts';

const API_VERSION = '2024-10-21';
let emulator: AzureEmulator;
let client: AzureOpenAI;

before(async () => {
  emulator = await startAzureEmulator({ pendingPolls: 2 });
  client = new AzureOpenAI({ endpoint: emulator.url, apiKey: emulator.apiKey, apiVersion: API_VERSION, maxRetries: 0 });
});
after(() => emulator.close());
beforeEach(() => emulator.reset());

const upload = async (name: string, data: Buffer | string, purpose: 'batch' | 'fine-tune' | 'assistants' = 'batch') =>
  client.files.create({ file: await toFile(Buffer.from(data), name), purpose });

function rawForm(fields: Record<string, string>, data: Buffer | string = 'x', filename = 'in.jsonl'): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([Buffer.from(data)]), filename);
  return form;
}

describe('Azure emulator, classic surface', () => {
  test('upload answers 201 + Location, a pending file with bytes and an apim-request-id', async () => {
    const response = await fetch(`${emulator.url}/openai/files?api-version=${API_VERSION}`, {
      method: 'POST',
      headers: { 'api-key': emulator.apiKey },
      body: rawForm({ purpose: 'fine-tune' }, '{"messages":[]}\n', 'puppy.jsonl'),
    });
    assert.equal(response.status, 201);
    const file = (await response.json()) as Record<string, unknown>;
    assert.match(String(file['id']), /^file-[0-9a-f]{32}$/);
    assert.equal(response.headers.get('location'), `${emulator.url}/openai/files/${String(file['id'])}`);
    assert.match(response.headers.get('apim-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...file, id: '', created_at: 0 }, {
      status: 'pending', bytes: 16, purpose: 'fine-tune', filename: 'puppy.jsonl', id: '', created_at: 0, object: 'file',
    });
  });

  test('AzureOpenAI round-trips bytes; the recorded call shows api-key and api-version', async () => {
    const data = randomData(700_001);
    const file = await upload('big.jsonl', data);
    const call = emulator.calls.at(-1)!;
    assert.equal(call.status, 201);
    assert.equal(call.path, '/openai/files');
    assert.deepEqual(call.query, { 'api-version': API_VERSION });
    assert.equal(call.headers['api-key'], emulator.apiKey);
    assert.equal(call.form?.files[0]?.sha256, sha256(data));
    const content = await client.files.content(file.id);
    assert.equal(content.headers.get('content-type'), 'application/octet-stream');
    assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(data));
  });

  test('retrieves report pending, running, then processed (pendingPolls: 2); list does not advance it', async () => {
    const file = await upload('poll.jsonl', '{}');
    assert.equal(file.status, 'pending');
    const statuses: string[] = [];
    for (let poll = 0; poll < 4; poll += 1) {
      statuses.push((await client.files.list()).data[0]!.status);
      statuses.push((await client.files.retrieve(file.id)).status);
    }
    assert.deepEqual(statuses, ['pending', 'pending', 'pending', 'running', 'running', 'processed', 'processed', 'processed']);
  });

  test('pendingPolls: 0 makes files processed at once', async () => {
    const eager = await startAzureEmulator({ pendingPolls: 0, apiKey: 'k' });
    try {
      const eagerClient = new AzureOpenAI({ endpoint: eager.url, apiKey: 'k', apiVersion: API_VERSION, maxRetries: 0 });
      const file = await eagerClient.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'batch' });
      assert.equal(file.status, 'processed');
    } finally {
      await eager.close();
    }
  });

  test('list has data and object only, filters by purpose and ignores paging params', async () => {
    const batchIds = [(await upload('a.jsonl', '1')).id, (await upload('b.jsonl', '2')).id, (await upload('c.jsonl', '3')).id];
    await upload('t.jsonl', '4', 'fine-tune');
    const response = await fetch(`${emulator.url}/openai/files?api-version=${API_VERSION}&purpose=batch&limit=1`, {
      headers: { 'api-key': emulator.apiKey },
    });
    const body = (await response.json()) as { data: Array<{ id: string }> };
    assert.deepEqual(Object.keys(body).sort(), ['data', 'object']);
    assert.deepEqual(new Set(body.data.map((file) => file.id)), new Set(batchIds));
    const seen = [];
    for await (const file of client.files.list()) seen.push(file.id);
    assert.equal(seen.length, 4, 'openai-node reads the single page (no has_more)');
  });

  test('missing or malformed api-version is 404 Resource not found', async () => {
    for (const query of ['', '?api-version=latest']) {
      const response = await fetch(`${emulator.url}/openai/files${query}`, { headers: { 'api-key': emulator.apiKey } });
      assert.equal(response.status, 404);
      assert.equal(await response.text(), '{"error":{"code":"404","message":"Resource not found"}}');
    }
  });

  test('a wrong key is 401; Bearer with the key is accepted', async () => {
    const denied = await fetch(`${emulator.url}/openai/files?api-version=${API_VERSION}`, { headers: { 'api-key': 'nope' } });
    assert.equal(denied.status, 401);
    assert.deepEqual(await denied.json(), {
      error: {
        code: '401',
        message:
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      },
    });
    const bearer = await fetch(`${emulator.url}/openai/files?api-version=${API_VERSION}`, { headers: { authorization: `Bearer ${emulator.apiKey}` } });
    assert.equal(bearer.status, 200);
  });

  test('unknown id, delete and content follow the Azure shapes', async () => {
    await assert.rejects(client.files.retrieve('file-0000'), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.deepEqual(error.error, { code: 'notFound', message: "File with id 'file-0000' was not found." });
      return true;
    });
    const file = await upload('d.jsonl', 'bye');
    const response = await fetch(`${emulator.url}/openai/files/${file.id}?api-version=${API_VERSION}`, {
      method: 'DELETE',
      headers: { 'api-key': emulator.apiKey },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { object: 'file', deleted: true, id: file.id });
    await assert.rejects(client.files.content(file.id), NotFoundError);
  });

  test('expiry accepts brackets and dots; batch files need 14–30 days', async () => {
    const dotted = await fetch(`${emulator.url}/openai/files?api-version=2025-04-01-preview`, {
      method: 'POST',
      headers: { 'api-key': emulator.apiKey },
      body: rawForm({ purpose: 'batch', 'expires_after.seconds': '1209600', 'expires_after.anchor': 'created_at' }),
    });
    const dottedFile = (await dotted.json()) as { expires_at: number; created_at: number };
    assert.equal(dotted.status, 201);
    assert.equal(dottedFile.expires_at, dottedFile.created_at + 1209600);
    const bracketed = await client.files.create({
      file: await toFile(Buffer.from('{}'), 'a.jsonl'),
      purpose: 'assistants',
      expires_after: { anchor: 'created_at', seconds: 3600 },
    });
    assert.equal(bracketed.expires_at, bracketed.created_at + 3600);
    const noExpiry = await upload('n.jsonl', '{}');
    assert.ok(!('expires_at' in noExpiry), 'no expires_at without an expiry');
    await assert.rejects(
      client.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 3600 } }),
      (error: unknown) => error instanceof BadRequestError && (error.error as { code?: string }).code === 'invalidPayload',
    );
  });

  test('purposes outside the Azure enum and unknown fields are refused', async () => {
    await assert.rejects(
      client.files.create({ file: await toFile(Buffer.from('x'), 'a.txt'), purpose: 'user_data' }),
      (error: unknown) => error instanceof BadRequestError && /Invalid value: 'user_data'/.test(error.message),
    );
    const unknown = await fetch(`${emulator.url}/openai/files?api-version=${API_VERSION}`, {
      method: 'POST',
      headers: { 'api-key': emulator.apiKey },
      body: rawForm({ purpose: 'batch', deployment: 'gpt-4o' }),
    });
    assert.equal(unknown.status, 400);
    assert.deepEqual(await unknown.json(), { error: { code: 'invalidPayload', message: "Unknown parameter: 'deployment'." } });
  });

  test('a 429 with retry-after once, then the retried upload succeeds', async () => {
    emulator.faults.add({ method: 'POST', path: '/openai/files', action: { kind: 'status', status: 429, body: { error: { code: 'tooManyRequests', message: 'Rate limit' } }, headers: { 'retry-after': '0' } } });
    const retrying = new AzureOpenAI({ endpoint: emulator.url, apiKey: emulator.apiKey, apiVersion: API_VERSION, maxRetries: 1 });
    const file = await retrying.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'batch' });
    assert.match(file.id, /^file-/);
    assert.deepEqual(emulator.calls.map((call) => call.status), [429, 201]);
    emulator.faults.add({ action: { kind: 'status', status: 429, body: { error: { code: 'tooManyRequests', message: 'Rate limit' } } } });
    await assert.rejects(client.files.list(), RateLimitError);
  });
});

describe('Azure emulator, v1 surface', () => {
  const v1Client = () =>
    new OpenAI({ apiKey: 'unused', baseURL: `${emulator.url}/openai/v1`, defaultHeaders: { 'api-key': emulator.apiKey, authorization: null }, maxRetries: 0 });

  test('upload answers 200 without api-version; list pages like OpenAI', async () => {
    const openai = v1Client();
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const file = await openai.files.create({ file: await toFile(Buffer.from(`${index}`), `${index}.jsonl`), purpose: 'evals' });
      ids.push(file.id);
    }
    assert.deepEqual(emulator.calls.map((call) => [call.status, call.headers['authorization']]), Array(5).fill([200, undefined]));
    const seen = [];
    for await (const file of openai.files.list({ limit: 2 })) seen.push(file.id);
    assert.deepEqual(new Set(seen), new Set(ids));
    assert.equal(seen.length, 5);
    assert.deepEqual(emulator.calls.slice(5).map((call) => call.query['after'] ?? null), [null, seen[1], seen[3]]);
    const classic = await fetch(`${emulator.url}/openai/files/${ids[0]}?api-version=${API_VERSION}`, { headers: { 'api-key': emulator.apiKey } });
    assert.equal(classic.status, 200, 'both surfaces share one store');
  });

  test('v1 errors carry param and type; a dated api-version is refused', async () => {
    const missing = await fetch(`${emulator.url}/openai/v1/files/file-none?api-version=v1`, { headers: { 'api-key': emulator.apiKey } });
    assert.deepEqual(await missing.json(), {
      error: { code: 'notFound', message: "File with id 'file-none' was not found.", param: 'file_id', type: 'error' },
    });
    const dated = await fetch(`${emulator.url}/openai/v1/files?api-version=${API_VERSION}`, { headers: { 'api-key': emulator.apiKey } });
    assert.equal(dated.status, 400);
    const fineTuneResults = await fetch(`${emulator.url}/openai/v1/files`, {
      method: 'POST',
      headers: { 'api-key': emulator.apiKey },
      body: rawForm({ purpose: 'fine-tune-results' }),
    });
    assert.equal(fineTuneResults.status, 400, 'the v1 upload enum is assistants|batch|fine-tune|evals (docs/wire-formats.md §2.3)');
  });
});
