/**
 * Non-streaming chat answers are read into memory by the upstream client's dispatch handler
 * (src/providers/shared/buffered-request.ts) instead of undici's body stream: the same outcomes
 * as before for a client that leaves mid-answer (the upstream call is cut, nothing retried), an
 * answer cut mid-body (502), a UTF-8 BOM (skipped, as undici's body.text() does), a large error
 * body (read up to the bound, status kept), and a 2xx answer split into many chunks.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHarness, type Harness } from './support/gateway-harness.ts';

type Behaviour = (request: IncomingMessage, response: ServerResponse) => void;

const ANSWER = JSON.stringify({
  id: 'chatcmpl-buffered',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'héllo 👋' }, finish_reason: 'stop' }],
});

let upstream: Server;
let behaviour: Behaviour = (_request, response) => response.end(ANSWER);
/** Upstream requests seen, and whether each one's connection closed before its answer ended. */
const seen: Array<{ closedEarly: boolean }> = [];
let harness: Harness;

before(async () => {
  upstream = createServer((request, response) => {
    const record = { closedEarly: false };
    seen.push(record);
    response.once('close', () => {
      if (!response.writableFinished) record.closedEarly = true;
    });
    request.resume();
    request.once('end', () => behaviour(request, response));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  harness = await startHarness({
    config: () => ({
      model_list: [{ model_name: 'scripted', litellm_params: { model: 'openai/m', api_base: base, api_key: 'sk-upstream', max_retries: 2 } }],
    }),
  });
});
after(async () => {
  await harness.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

function chat(signal?: AbortSignal): Promise<Response> {
  return harness.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'scripted', messages: [{ role: 'user', content: 'hi' }] }),
    ...(signal ? { signal } : {}),
  });
}

test('an answer in many small chunks arrives whole and byte for byte', async () => {
  behaviour = (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    const bytes = Buffer.from(ANSWER);
    // Split inside the multi-byte characters too.
    let offset = 0;
    const next = () => {
      if (offset >= bytes.length) return void response.end();
      response.write(bytes.subarray(offset, offset + 7));
      offset += 7;
      setImmediate(next);
    };
    next();
  };
  const response = await chat();
  assert.equal(response.status, 200);
  assert.equal(await response.text(), ANSWER);
});

test('a UTF-8 BOM before the answer is skipped', async () => {
  behaviour = (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ANSWER)]));
  };
  const response = await chat();
  assert.equal(response.status, 200);
  assert.equal(await response.text(), ANSWER);
});

test('a large error body keeps its status and does not reach the client', async () => {
  behaviour = (_request, response) => {
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message: 'x'.repeat(1024 * 1024), type: 'invalid_request_error', code: 'too_much' } }));
  };
  const response = await chat();
  assert.equal(response.status, 400);
  const text = await response.text();
  assert.ok(text.length < 4096, `the envelope is short (${text.length} bytes)`);
  assert.equal((JSON.parse(text) as { error: { type: string } }).error.type, 'invalid_request_error');
});

test('an answer cut mid-body is a 502 naming the provider; the retries are for failures before the answer', async () => {
  seen.length = 0;
  behaviour = (request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(ANSWER)) });
    response.write(ANSWER.slice(0, 20));
    setTimeout(() => request.socket.destroy(), 20);
  };
  const response = await chat();
  assert.equal(response.status, 502);
  const body = (await response.json()) as { error: { message: string } };
  assert.match(body.error.message, /openai/);
  // max_retries counts failures before the status arrived; a 2xx cut mid-body is not sent again
  // (with one deployment there is nothing to fail over to).
  assert.equal(seen.length, 1);
});

test('a client that leaves while the answer is arriving cuts the upstream call, which is not retried', async () => {
  seen.length = 0;
  behaviour = (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"id":"chatcmpl-slow",');
    // The rest never comes: the gateway holds the call open until its client leaves.
  };
  const controller = new AbortController();
  const pending = chat(controller.signal).catch((error: unknown) => error);
  while (seen.length === 0) await sleep(10);
  await sleep(100);
  controller.abort();
  assert.ok((await pending) instanceof Error, 'the client saw its own abort');
  const deadline = Date.now() + 5000;
  while (!seen[0]!.closedEarly && Date.now() < deadline) await sleep(20);
  assert.equal(seen[0]!.closedEarly, true, 'the upstream connection was closed before the answer ended');
  await sleep(300);
  assert.equal(seen.length, 1, 'an abandoned call is not sent again');
});
