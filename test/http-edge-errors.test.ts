/**
 * Errors raised by the HTTP layer itself (README "Endpoints" (errors)): parser failures, unknown routes and
 * provider prefixes, wrong methods, over-long URLs, headers and ids, bad percent-encoding,
 * unsupported media types, oversized and over-nested JSON — each in the OpenAI envelope with
 * its own status, and nothing reaching a provider.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHarness, MASTER_KEY, type Harness } from './support/gateway-harness.ts';
import { rawRequest } from './support/raw-http.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness({ general: { max_request_body_mb: 1 } });
});
after(async () => harness.close());

function assertEnvelope(body: string, status: number, code?: string): { message: string; type: string; param: string | null; code: string } {
  const parsed = JSON.parse(body) as { error: { message: string; type: string; param: string | null; code: string } };
  assert.deepEqual(Object.keys(parsed), ['error']);
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof parsed.error.message, 'string');
  assert.equal(parsed.error.type, status >= 500 ? parsed.error.type : 'invalid_request_error');
  if (code) assert.equal(parsed.error.code, code, body);
  return parsed.error;
}

async function expectError(response: Response, status: number, code?: string) {
  const body = await response.text();
  assert.equal(response.status, status, body);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return assertEnvelope(body, status, code);
}

const raw = (head: string) => rawRequest(harness.url, head);
const json = { 'content-type': 'application/json' };

test('parser errors: invalid JSON 400, unsupported media type 415, body over max_request_body_mb 413', async () => {
  await expectError(await harness.fetch('/v1/chat/completions', { method: 'POST', headers: json, body: '{"model":' }), 400, 'invalid_request');
  await expectError(await harness.fetch('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<a/>' }), 415, 'unsupported_media_type');
  const big = JSON.stringify({ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 'x'.repeat(1024 * 1024 + 10) }] });
  await expectError(await harness.fetch('/v1/chat/completions', { method: 'POST', headers: json, body: big }), 413, 'body_too_large');
  const getWithBody = (body: string) =>
    raw(`GET /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  const badGet = await getWithBody('{"target_model_names":');
  assert.equal(badGet.status, 400);
  assertEnvelope(badGet.body, 400, 'invalid_request');
  const bigGet = await getWithBody(JSON.stringify({ target_model_names: ['x'.repeat(70_000)] }));
  assert.equal(bigGet.status, 413);
  assertEnvelope(bigGet.body, 413, 'body_too_large');
  const malformedType = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: ;;;\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  assert.equal(malformedType.status, 415);
  assertEnvelope(malformedType.body, 415);
});

test('JSON nesting: 64 levels pass, 65 and 5,000 are 400 (no stack overflow, nothing upstream)', async () => {
  const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
  const ok = await harness.fetch('/key/generate', { method: 'POST', headers: json, body: `{"metadata":${nested(63)}}` });
  assert.equal(ok.status, 200, await ok.clone().text());
  await expectError(await harness.fetch('/key/generate', { method: 'POST', headers: json, body: `{"metadata":${nested(64)}}` }), 400, 'invalid_request');
  const before = harness.emulators.openai.calls.length;
  const deep = `{"model":"gpt-4o-mini-openai","messages":[{"role":"user","content":${'['.repeat(5000)}${']'.repeat(5000)}}]}`;
  const error = await expectError(await harness.fetch('/v1/chat/completions', { method: 'POST', headers: json, body: deep }), 400);
  assert.match(error.message, /nested deeper than 64/);
  assert.equal(harness.emulators.openai.calls.length, before);
  await expectError(await harness.fetch('/v1/chat/completions', { method: 'POST', headers: json, body: '['.repeat(200_000) }), 400);
  await expectError(await harness.fetch('/v1/chat/completions', { method: 'POST', headers: json, body: '{"__proto__":{"x":1},"model":"m"}' }), 400);
});

test('unknown routes 404, unknown provider prefixes 404 (nothing uploaded), wrong methods 405 with Allow', async () => {
  await expectError(await harness.fetch('/v1/nothing/here'), 404, 'route_not_found');
  await expectError(await harness.fetch('/nosuch/v1/files'), 404, 'route_not_found');
  await expectError(await harness.fetch('/v1/v1/files'), 404, 'route_not_found');
  const before = harness.emulators.openai.calls.length;
  const form = new FormData();
  form.append('purpose', 'user_data');
  form.append('target_model_names', 'gpt-4o-mini-openai');
  form.append('file', new Blob(['x']), 'x.txt');
  await expectError(await harness.fetch('/nosuch/v1/files', { method: 'POST', body: form }), 404, 'route_not_found');
  assert.equal(harness.emulators.openai.calls.length, before, 'nothing reached a provider');
  assert.equal((await harness.fetch('/openai/v1/files')).status, 200);

  const put = await harness.fetch('/v1/files', { method: 'PUT', headers: json, body: '{}' });
  await expectError(put, 405, 'method_not_allowed');
  assert.match(put.headers.get('allow') ?? '', /GET/);
  assert.match(put.headers.get('allow') ?? '', /POST/);
  await expectError(await harness.fetch('/v1/chat/completions'), 405, 'method_not_allowed');
  await expectError(await harness.fetch('/v1/files/file-abc', { method: 'PATCH', headers: json, body: '{}' }), 405, 'method_not_allowed');
});

test('URLs: bad percent-encoding 400, ids of a few KB route, too-long ids 400, too-long URLs 414, huge headers 431', async () => {
  await expectError(await harness.fetch('/v1/files/%zz'), 400, 'invalid_url');
  await expectError(await harness.fetch('/v1/files/abc%zz/content'), 400, 'invalid_url');
  // A plain Vertex id is a URL-encoded gs:// name: ~3 KB must reach the files service.
  const vertexLike = encodeURIComponent(`gs://bucket/unifile/${'n'.repeat(1000)}/${'é'.repeat(400)}.pdf`);
  assert.ok(vertexLike.length > 3000);
  const found = await expectError(await harness.fetch(`/v1/files/${vertexLike}`), 404);
  assert.notEqual(found.code, 'route_not_found');
  const tooLongId = await expectError(await harness.fetch(`/v1/files/${'a'.repeat(7000)}`), 400, 'invalid_value');
  assert.equal(tooLongId.param, 'file_id');
  await expectError(await harness.fetch(`/v1/files?after=${'a'.repeat(9000)}`), 414, 'uri_too_long');
  await expectError(await harness.fetch(`/v1/files/${'a'.repeat(9000)}`), 414, 'uri_too_long');
  const hugeUrl = await raw(`GET /v1/files?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(hugeUrl.status, 414);
  assertEnvelope(hugeUrl.body, 414, 'uri_too_long');
  const hugeHeader = await raw(`GET /v1/files HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
  assert.equal(hugeHeader.status, 431);
  assertEnvelope(hugeHeader.body, 431, 'request_header_fields_too_large');
  const expectation = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: nosuch\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  assert.equal(expectation.status, 417);
  assertEnvelope(expectation.body, 417, 'expectation_failed');
  for (const line of ['GET /v1/files/\u00c3\u00a9 HTTP/1.1', 'GET /v1/files/a\u0000b HTTP/1.1', 'GET v1/files HTTP/1.1']) {
    const odd = await raw(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(odd.status, 400, line);
    assertEnvelope(odd.body, 400, 'malformed_request');
  }
  for (const framing of ['Transfer-Encoding: gzip\r\n', 'Content-Length: 2\r\nContent-Length: 3\r\n', 'X Bad: a\r\n']) {
    const odd = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${framing}Connection: close\r\n\r\n{}`);
    assert.equal(odd.status, 400, framing);
    assertEnvelope(odd.body, 400, 'malformed_request');
  }
  for (const path of ['/v1/files/%ED%A0%80', '/v1/files/%C0%AF', '/v1/files/%', '/v1/files/%uD800/content']) {
    await expectError(await harness.fetch(path), 400, 'invalid_url');
  }
  const garbage = await raw('GARBAGE\r\n\r\n');
  assert.equal(garbage.status, 400);
  assertEnvelope(garbage.body, 400, 'malformed_request');
});
