/**
 * Chat completions answered in front of fastify (src/http/chat-fast-path.ts) against the same
 * requests through fastify's route (a query string sends them there): the same status, headers in
 * the same order, body, log lines and metrics; requests the fast path leaves to fastify (a body
 * still arriving, chunked, another content type, a key it cannot settle, shutdown) answered as before.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { buildApp } from '../src/app.ts';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';
import { waitFor } from './support/wait-for.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness({ captureLogs: true });
});
after(async () => harness?.close());

const MODEL = 'gpt-4o-mini-openai';
const ask = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 16 });

interface Exchange {
  status: number;
  /** Header lines as sent, in order. */
  headers: string[];
  body: string;
}

/** Reads one HTTP/1.1 answer with a Content-Length body (or a chunked one to the end) off the socket. */
function readAnswer(socket: Socket): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const text = buffered.toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      const [statusLine, ...headers] = text.slice(0, headEnd).split('\r\n');
      const length = headers.find((line) => /^content-length:/i.test(line));
      const bodyBytes = buffered.subarray(headEnd + 4);
      if (length ? bodyBytes.length < Number(length.split(':')[1]) : !text.endsWith('0\r\n\r\n')) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: bodyBytes.toString('utf8') });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

async function open(): Promise<Socket> {
  const socket = connect(Number(new URL(harness.url).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

/** One request on a fresh keep-alive connection; `parts` of the body are written `pauseMs` apart. */
async function exchange(input: { path?: string; headers?: Record<string, string>; body?: string; parts?: string[]; pauseMs?: number }): Promise<Exchange> {
  const socket = await open();
  try {
    const parts = input.parts ?? [input.body ?? ask];
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}`, 'content-length': String(Buffer.byteLength(parts.join(''))), ...input.headers };
    const head = `POST ${input.path ?? '/v1/chat/completions'} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
    const answer = readAnswer(socket);
    socket.write(head + parts[0]!);
    for (const part of parts.slice(1)) {
      await new Promise((resolve) => setTimeout(resolve, input.pauseMs ?? 100));
      socket.write(part);
    }
    return await answer;
  } finally {
    socket.destroy();
  }
}

/** What differs between two answers to one request: the date, the request id, the completion's id and time. */
function comparable(answer: Exchange): Exchange {
  return {
    status: answer.status,
    headers: answer.headers.map((line) => (/^(date|x-request-id):/i.test(line) ? line.split(':')[0]! : line)),
    body: answer.body.replace(/"id":"chatcmpl-\w+"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0'),
  };
}

/** The log lines of one request id, with what differs between two requests made equal. */
function linesOf(requestId: string): string[] {
  return harness.logs
    .filter((line) => line.includes(`"reqId":"${requestId}"`))
    .map((line) =>
      line
        .replace(`"reqId":"${requestId}"`, '"reqId":"R"')
        .replace(/"time":\d+/, '"time":0')
        .replace(/"responseTime":[\d.e-]+/, '"responseTime":0')
        .replace(/"durationMs":\d+/, '"durationMs":0')
        .replace(/"(upstreamRequestId|requestId)":"\w+"/, '"$1":"U"')
        .replace(/"remotePort":\d+/, '"remotePort":0')
        .replace(/"url":"[^"?]*\?via=fastify"/, '"url":"U"')
        .replace(/"url":"\/v1\/chat\/completions"/, '"url":"U"'),
    );
}

async function metricCount(status: number): Promise<number> {
  const text = await (await fetch(`${harness.url}/metrics`)).text();
  const match = new RegExp(`unifile_http_requests_total\\{method="POST",route="/v1/chat/completions",status="${status}"\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

const cases: Array<[name: string, body: string, status: number]> = [
  ['completion', ask, 200],
  ['stream', JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'Say hello' }] }), 200],
  ['not JSON', '{"model":', 400],
  ['prototype key', `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"__proto__":{}}`, 400],
  ['NUL in a string', `{"model":"${MODEL}","messages":[{"role":"user","content":"a\\u0000"}]}`, 400],
  ['too deep', `{"model":"${MODEL}","x":${'['.repeat(70)}${']'.repeat(70)},"messages":[]}`, 400],
  ['no messages', `{"model":"${MODEL}"}`, 400],
  ['not an object', '[1]', 400],
  ['unknown model', ask.replace(MODEL, 'no-such-model'), 404],
  ['upstream 400', JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], temperature: 99 }), 400],
];

test('the fast path answers, logs and counts each request as fastify’s route does', async () => {
  for (const [name, body, status] of cases) {
    const countBefore = await metricCount(status);
    const fast = await exchange({ body, headers: { 'x-request-id': `fast-${cases.findIndex(([n]) => n === name)}` } });
    const routed = await exchange({ body, path: '/v1/chat/completions?via=fastify', headers: { 'x-request-id': `routed-${cases.findIndex(([n]) => n === name)}` } });
    assert.equal(fast.status, status, `${name}: ${fast.body}`);
    assert.deepEqual(comparable(fast), comparable(routed), name);
    assert.ok(fast.headers.includes(`x-request-id: fast-${cases.findIndex(([n]) => n === name)}`), name);
    const index = cases.findIndex(([n]) => n === name);
    await waitFor(() => linesOf(`routed-${index}`).some((line) => line.includes('"msg":"request completed"')) || undefined, `${name}: the completion line`);
    const fastLines = linesOf(`fast-${index}`);
    assert.deepEqual(fastLines, linesOf(`routed-${index}`), name);
    assert.ok(fastLines.some((line) => line.includes(`"res":{"statusCode":${status}}`) && line.includes('"msg":"request completed"')), name);
    if (status === 200) assert.ok(fastLines.some((line) => line.includes('"msg":"upstream call"')), name);
    assert.equal(await metricCount(status), countBefore + 2, name);
  }
});

test('a minted request id is echoed and logged; the route without /v1 is counted under its own pattern', async () => {
  const answer = await exchange({ path: '/chat/completions' });
  assert.equal(answer.status, 200);
  const id = answer.headers.find((line) => line.startsWith('x-request-id: '))!.slice('x-request-id: '.length);
  assert.match(id, /^[0-9a-f-]{36}$/);
  await waitFor(() => linesOf(id).some((line) => line.includes('"msg":"request completed"')) || undefined, 'the completion line');
  const text = await (await fetch(`${harness.url}/metrics`)).text();
  assert.match(text, /unifile_http_requests_total\{method="POST",route="\/chat\/completions",status="200"\} [1-9]/);
});

test('requests the fast path leaves to fastify are answered as before', async () => {
  // The body still arriving after the headers: fastify reads it (and would cut it after the idle time).
  const split = await exchange({ parts: [ask.slice(0, 10), ask.slice(10)], pauseMs: 150 });
  assert.equal(split.status, 200, split.body);
  // Chunked, another spelling of the media type, a charset in capitals.
  const chunkedBody = `${ask.length.toString(16)}\r\n${ask}\r\n0\r\n\r\n`;
  const socket = await open();
  const chunked = readAnswer(socket);
  socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody}`);
  assert.equal((await chunked).status, 200);
  socket.destroy();
  assert.equal((await exchange({ headers: { 'content-type': 'application/json; charset=UTF-8' } })).status, 200);
  // Another media type: 415 from fastify's parser, in the envelope.
  const text = await exchange({ headers: { 'content-type': 'application/xml' } });
  assert.equal(text.status, 415);
  assert.equal(JSON.parse(text.body).error.code, 'unsupported_media_type');
  // No key, a wrong key: fastify's auth hook answers 401.
  for (const authorization of ['', 'Bearer sk-not-a-key']) {
    const refused = await exchange({ headers: { authorization } });
    assert.equal(refused.status, 401);
    assert.ok(refused.headers.some((line) => line.startsWith('x-request-id: ')));
  }
  // A virtual key looked up in the database, then cached: both answered.
  const { key } = await harness.newUser({ models: [MODEL] });
  assert.equal((await exchange({ headers: { authorization: `Bearer ${key}` } })).status, 200);
  assert.equal((await exchange({ headers: { authorization: `Bearer ${key}` } })).status, 200);
  // Over max_request_body_mb by its Content-Length: 413.
  const large = await exchange({ headers: { 'content-length': String(64 * 1024 * 1024) }, parts: ['{'] });
  assert.equal(large.status, 413);
});

test('while the gateway shuts down, a chat request on an open connection gets fastify’s 503', async () => {
  const app = await buildApp(harness.runtime, { logLevel: 'silent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const socket = connect(typeof address === 'object' && address ? address.port : 0, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const request = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${ask.length}\r\n\r\n${ask}`;
  // The first answer is slow upstream, so the connection is busy (not idle) when closing starts;
  // the second request, sent on it after that, is answered by fastify's drain-time 503.
  let upstreamSaw = false;
  // A pattern that notes the emulator matched the call (calls are recorded only when they finish).
  const path = new (class extends RegExp {
    override test(text: string): boolean {
      upstreamSaw = true;
      return super.test(text);
    }
  })('^/v1/chat/completions$');
  harness.emulators.openai.faults.add({ method: 'POST', path, action: { kind: 'delay', ms: 400 } });
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  socket.write(request);
  await waitFor(() => upstreamSaw || undefined, 'the first request upstream');
  const closing = app.close();
  socket.write(request);
  await waitFor(() => (received.includes('"statusCode":503}') ? true : undefined), 'both answers');
  assert.match(received, /^HTTP\/1\.1 200 OK\r\n/);
  const second = received.slice(received.indexOf('HTTP/1.1 ', 10));
  assert.match(second, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.ok(second.endsWith('\r\n\r\n{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}'), second);
  socket.destroy();
  await closing;
});
