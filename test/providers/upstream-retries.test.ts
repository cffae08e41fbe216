/**
 * The transport's retry policy against scripted emulator faults over real HTTP: idempotent calls
 * are sent again after a 429 (honouring retry-after) or a 5xx, up to the deployment's
 * max_retries; uploads whose body cannot be replayed never are; max_retries: 0 disables it; a
 * Google 401 gets one fresh token. What the emulator received is the proof.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { UpstreamError } from '../../src/core/errors.ts';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import { createOpenAIAdapter } from '../../src/providers/openai/openai-adapter.ts';
import type { ProviderAdapter } from '../../src/providers/provider-adapter.ts';
import { backoffMs, retryAfterMs } from '../../src/providers/shared/retry-policy.ts';
import { createVertexAdapter } from '../../src/providers/vertex/vertex-adapter.ts';
import { answerOf, recordingContext, rejection } from './chat-support.ts';

let openai: OpenAIEmulator;
let google: GoogleEmulator;
const adapters: ProviderAdapter[] = [];

function openaiAdapter(maxRetries: number | undefined): ProviderAdapter {
  const adapter = createOpenAIAdapter({ provider: 'openai', instance: 'oai-retry', model: 'gpt-4o-mini', apiKey: openai.apiKey, apiBase: openai.apiBase, ...(maxRetries === undefined ? {} : { maxRetries }) });
  adapters.push(adapter);
  return adapter;
}

const calls = (method: string, path: string | RegExp) =>
  openai.calls.filter((call) => call.method === method && (typeof path === 'string' ? call.path === path : path.test(call.path))).length;

before(async () => {
  [openai, google] = await Promise.all([startOpenAIEmulator(), startGoogleEmulator()]);
});
beforeEach(() => {
  openai.reset();
  google.reset();
});
after(async () => {
  await Promise.all(adapters.map((adapter) => adapter.close()));
  await Promise.all([openai.close(), google.close()]);
});

async function uploaded(adapter: ProviderAdapter): Promise<string> {
  const data = Buffer.from('retry me');
  const file = await adapter.files!.upload({ body: { open: () => Readable.from([data]), bytes: data.length }, filename: 'r.txt', mimeType: 'text/plain', purpose: 'user_data' }, recordingContext());
  return file.id;
}

describe('retry policy', () => {
  test('a 429 with retry-after then 200 is retried for an idempotent call, after the asked wait', async () => {
    const adapter = openaiAdapter(2);
    const id = await uploaded(adapter);
    openai.faults.add({ method: 'GET', path: `/v1/files/${id}`, action: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'slow down' } } } });
    const context = recordingContext();
    const started = performance.now();
    const file = await adapter.files!.retrieve(id, context);
    assert.equal(file.id, id);
    assert.ok(performance.now() - started >= 950, 'waited for retry-after');
    assert.equal(calls('GET', `/v1/files/${id}`), 2);
    assert.deepEqual(context.lines.map((line) => [line.operation, line.status, line.attempt]), [
      ['files.retrieve', 429, undefined],
      ['files.retrieve', 200, 2],
    ]);
  });

  test('5xx twice then 200 is retried with backoff up to max_retries; one more failure is surfaced', async () => {
    const adapter = openaiAdapter(2);
    const id = await uploaded(adapter);
    openai.faults.add({ method: 'GET', path: `/v1/files/${id}`, times: 2, action: { kind: 'status', status: 503, body: 'busy' } });
    assert.equal((await adapter.files!.retrieve(id, recordingContext())).id, id);
    assert.equal(calls('GET', `/v1/files/${id}`), 2 + 1);
    openai.faults.add({ method: 'GET', path: `/v1/files/${id}`, times: 3, action: { kind: 'status', status: 500, body: 'down' } });
    const error = await rejection(adapter.files!.retrieve(id, recordingContext()));
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 502);
    assert.equal(calls('GET', `/v1/files/${id}`), 3 + 3);
  });

  test('chat completions are retried (no effect upstream besides the answer)', async () => {
    const adapter = openaiAdapter(1);
    openai.faults.add({ method: 'POST', path: '/v1/chat/completions', action: { kind: 'status', status: 429, headers: { 'retry-after': '0' }, body: { error: { message: 'rate' } } } });
    const answer = await answerOf(adapter.chat!.complete({ body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, fileReferences: {} }, recordingContext()));
    assert.equal((answer as { object?: string }).object, 'chat.completion');
    assert.equal(calls('POST', '/v1/chat/completions'), 2);
  });

  test('an upload whose body is a stream is never retried', async () => {
    const adapter = openaiAdapter(3);
    openai.faults.add({ method: 'POST', path: '/v1/files', action: { kind: 'status', status: 429, headers: { 'retry-after': '0' }, body: { error: { message: 'rate' } } } });
    const error = await rejection(uploaded(adapter));
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 429);
    assert.equal(calls('POST', '/v1/files'), 1);
  });

  test('max_retries: 0 (and the default) disables retries', async () => {
    for (const maxRetries of [0, undefined]) {
      openai.reset();
      const adapter = openaiAdapter(maxRetries);
      const id = await uploaded(adapter);
      openai.faults.add({ method: 'GET', path: `/v1/files/${id}`, action: { kind: 'status', status: 429, headers: { 'retry-after': '0' }, body: { error: { message: 'rate' } } } });
      const error = await rejection(adapter.files!.retrieve(id, recordingContext()));
      assert.equal(error.status, 429);
      assert.equal(calls('GET', `/v1/files/${id}`), 1);
    }
  });

  test('a dropped connection on an idempotent call is retried', async () => {
    const adapter = openaiAdapter(1);
    const id = await uploaded(adapter);
    openai.faults.add({ method: 'DELETE', path: `/v1/files/${id}`, action: { kind: 'drop' } });
    assert.deepEqual(await adapter.files!.delete(id, recordingContext()), { id, object: 'file', deleted: true });
    assert.equal(calls('DELETE', `/v1/files/${id}`), 2);
  });

  test('a retry-after longer than a minute is answered to the client instead of waited for', async () => {
    const adapter = openaiAdapter(2);
    const id = await uploaded(adapter);
    openai.faults.add({ method: 'GET', path: `/v1/files/${id}`, action: { kind: 'status', status: 429, headers: { 'retry-after': '3600' }, body: { error: { message: 'later' } } } });
    const error = await rejection(adapter.files!.retrieve(id, recordingContext()));
    assert.equal(error.status, 429);
    assert.equal(error.headers['retry-after'], '3600');
    assert.equal(calls('GET', `/v1/files/${id}`), 1);
  });

  test('retry-after forms and the backoff schedule', () => {
    assert.equal(retryAfterMs({ 'retry-after-ms': '250' }), 250);
    assert.equal(retryAfterMs({ 'retry-after': '2' }), 2000);
    assert.equal(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 7_000), 3000);
    assert.equal(retryAfterMs({ 'retry-after': 'soon' }), undefined);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((attempt) => backoffMs(attempt, () => 0)), [500, 1000, 2000, 4000, 8000, 8000]);
    assert.equal(backoffMs(1, () => 1), 375);
  });
});

describe('auth hook', () => {
  test('a Google 401 on a cached token gets one fresh token, on storage and chat alike', async () => {
    const adapter = createVertexAdapter({
      provider: 'vertex_ai', instance: 'vx-401', model: 'gemini-2.0-flash', vertexCredentials: JSON.stringify(google.createServiceAccount()),
      bucketName: 'retry-bucket', gcsApiBase: google.gcsBaseUrl, apiBase: google.vertexApiBase,
    });
    adapters.push(adapter);
    const data = Buffer.from('x');
    const file = await adapter.files!.upload({ body: { open: () => Readable.from([data]), bytes: 1 }, filename: 'x.txt', mimeType: 'text/plain', purpose: 'user_data' }, recordingContext());
    const tokens = () => google.calls.filter((call) => call.path === '/token').length;
    assert.equal(tokens(), 1);
    google.faults.add({ method: 'GET', path: '/storage/v1/b/*', action: { kind: 'status', status: 401, body: { error: { code: 401, message: 'expired' } } } });
    assert.equal((await adapter.files!.retrieve(file.id, recordingContext())).id, file.id);
    assert.equal(tokens(), 2);
    google.faults.add({ method: 'POST', path: /generateContent$/, action: { kind: 'status', status: 401, body: { error: { code: 401, message: 'expired' } } } });
    const answer = await adapter.chat!.complete({ body: { model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'hi' }] }, fileReferences: {} }, recordingContext());
    assert.equal((answer as { object?: string }).object, 'chat.completion');
    assert.equal(tokens(), 3, 'one token cache per deployment: storage and chat share it');
  });
});
