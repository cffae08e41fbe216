/**
 * Upstream failures as the client sees them (README "Layout"), scripted on the
 * emulators: 4xx kept, 5xx → 502, 429 kept with retry-after, timeout → 504, dropped
 * connection → 502, non-JSON bodies, and 413 while streaming with nothing left upstream.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { toFile } from 'openai';
import { defaultConfig, startHarness, type Harness } from './support/gateway-harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness({
    config: (emulators) => {
      const config = defaultConfig(emulators);
      // A short header timeout so a slow upstream turns into 504 quickly.
      (config.files_settings as Array<Record<string, unknown>>)[0]!.timeout = 1;
      return config;
    },
    general: { max_upload_size_mb: 1 },
  });
});
after(async () => harness.close());
beforeEach(() => harness.emulators.openai.faults.clear());

async function errorOf(path: string, init?: RequestInit) {
  const response = await harness.fetch(path, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as { error: { message: string; type: string; code: string | null; param: string | null } } };
}

test('upstream 400/404 keep their status and say which provider answered, not what it said', async () => {
  harness.emulators.openai.faults.add({ method: 'GET', path: '/v1/files/*', action: { kind: 'status', status: 400, body: { error: { message: 'bad thing', type: 'invalid_request_error', param: null, code: 'bad_code' } } } });
  const result = await errorOf('/v1/files/file-x');
  assert.equal(result.status, 400);
  assert.match(result.body.error.message, /^openai rejected the request \(HTTP 400, type invalid_request_error, code bad_code; /);
  assert.doesNotMatch(result.body.error.message, /bad thing|files_settings/);
});

test('upstream 500 → 502, 401 → 502 upstream_auth_failed, 429 → 429 with retry-after', async () => {
  harness.emulators.openai.faults.add({ path: '/v1/files', action: { kind: 'status', status: 500, body: { error: { message: 'boom' } } } });
  let result = await errorOf('/openai/v1/files');
  assert.equal(result.status, 502);
  assert.equal(result.body.error.code, 'upstream_error');

  harness.emulators.openai.faults.add({ path: '/v1/files', action: { kind: 'status', status: 401, body: { error: { message: 'Incorrect API key' } } } });
  result = await errorOf('/openai/v1/files');
  assert.equal(result.status, 502);
  assert.equal(result.body.error.code, 'upstream_auth_failed');

  harness.emulators.openai.faults.add({ path: '/v1/files', action: { kind: 'status', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'slow down' } } } });
  result = await errorOf('/openai/v1/files');
  assert.equal(result.status, 429);
  assert.equal(result.headers.get('retry-after'), '7');
});

test('a non-JSON error body is not passed on; a dropped connection is 502', async () => {
  harness.emulators.openai.faults.add({ path: '/v1/files', action: { kind: 'status', status: 503, body: '<html>upstream gateway</html>' } });
  let result = await errorOf('/openai/v1/files');
  assert.equal(result.status, 502);
  assert.match(result.body.error.message, /^openai failed \(HTTP 503; /);
  assert.doesNotMatch(result.body.error.message, /html/);

  harness.emulators.openai.faults.add({ path: '/v1/files', action: { kind: 'drop' } });
  result = await errorOf('/openai/v1/files');
  assert.equal(result.status, 502);
  assert.equal(result.body.error.code, 'upstream_unreachable');
  assert.equal(result.body.error.type, 'upstream_error');
});

test('an upload larger than max_upload_size_mb is 413 and nothing reaches the provider', async () => {
  const before = harness.emulators.openai.calls.filter((call) => call.method === 'POST').length;
  await assert.rejects(
    harness.client().files.create({ file: await toFile(randomBytes(3 * 1024 * 1024), 'big.bin'), purpose: 'user_data' }),
    (error: { status?: number; code?: string }) => error.status === 413 && error.code === 'file_too_large',
  );
  assert.equal(harness.emulators.openai.calls.filter((call) => call.method === 'POST').length, before);
});

test('an upstream that does not answer within the configured timeout is 504', async () => {
  harness.emulators.openai.faults.add({ path: '/v1/files/file-slow', action: { kind: 'delay', ms: 2500 } });
  const result = await errorOf('/v1/files/file-slow');
  assert.equal(result.status, 504);
  assert.equal(result.body.error.code, 'upstream_timeout');
  assert.match(result.body.error.message, /openai/);
});
