/**
 * UpstreamClient.forwardable over real HTTP (a local node:http upstream, undici underneath): the
 * body is an ordinary stream for a reader, and `forwardChunks` hands the chunks straight to one
 * consumer — those that arrived before it first, in order — with the upstream held back while
 * the consumer holds it, aborted when the body is destroyed, and a body cut short failing
 * instead of ending (core/forwardable-body.ts, providers/shared/buffered-request.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallContext } from '../src/core/call-context.ts';
import { ForwardableBody } from '../src/core/forwardable-body.ts';
import { UpstreamClient } from '../src/providers/shared/upstream-client.ts';

const PIECE = 64 * 1024;
const PIECES = 256; // 16 MiB: far more than the socket buffers hold
const piece = (index: number) => Buffer.alloc(PIECE, index % 251);
const expected = (() => {
  const hash = createHash('sha256');
  for (let index = 0; index < PIECES; index += 1) hash.update(piece(index));
  return hash.digest('hex');
})();

let server: Server;
let client: UpstreamClient;
/** Per request: bytes handed to the socket, and whether it closed before the end. */
const served: Array<{ bytes: number; done: boolean; closedEarly: boolean }> = [];

function serve(response: ServerResponse, cutAt?: number): void {
  const state = { bytes: 0, done: false, closedEarly: false };
  served.push(state);
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(PIECE * PIECES) });
  response.once('close', () => (state.closedEarly = !state.done));
  let index = 0;
  const pump = () => {
    while (index < PIECES) {
      if (cutAt !== undefined && index === cutAt) return void response.destroy();
      const ok = response.write(piece(index));
      index += 1;
      state.bytes += PIECE;
      if (!ok) return void response.once('drain', pump);
    }
    state.done = true;
    response.end();
  };
  pump();
}

const context = (): CallContext => ({ requestId: 'test', logger: { info() {}, warn() {}, error() {} } });

before(async () => {
  server = createServer((request, response) => serve(response, request.url === '/cut' ? 40 : undefined));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  client = new UpstreamClient({ provider: 'test', instance: 'test', baseUrl: `http://127.0.0.1:${port}`, parseError: (_status, text) => ({ message: text }) });
});
after(async () => {
  await client.close();
  server.closeAllConnections();
  server.close();
});

const get = (path: string) => client.forwardable({ operation: 'files.content', method: 'GET', path, bodyTimeoutMs: 0 }, context());

test('read as a stream, the body gives every byte in order', async () => {
  const response = await get('/content');
  assert.ok(response.body instanceof ForwardableBody);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  assert.equal(bytes, PIECE * PIECES);
  assert.equal(hash.digest('hex'), expected);
});

test('forwarded: the chunks buffered before come first, then the rest, in order; held back while paused; then it ends', async () => {
  const response = await get('/content');
  await sleep(100); // chunks arrive and wait in the stream's buffer; the upstream is held back
  const upstream = served.at(-1)!;
  assert.ok(upstream.bytes < PIECE * PIECES, 'the upstream waits while nobody reads');
  const hash = createHash('sha256');
  let bytes = 0;
  let held = false;
  let heldAt = 0;
  const control = response.body.forwardChunks((chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
    if (!held && bytes >= 4 * 1024 * 1024) {
      held = true;
      heldAt = bytes;
      control.pause();
    }
  });
  while (!held) await sleep(10);
  await sleep(300);
  assert.ok(bytes - heldAt <= 2 * PIECE, `at most what was in hand when paused arrives (${bytes - heldAt} bytes)`);
  assert.ok(upstream.bytes < PIECE * PIECES, 'the upstream is held back while the consumer holds it');
  const ended = finished(response.body);
  control.resume();
  await ended;
  assert.equal(bytes, PIECE * PIECES);
  assert.equal(hash.digest('hex'), expected);
});

test('destroyed mid-body (a client gone): the upstream request is aborted', async () => {
  const response = await get('/content');
  response.body.forwardChunks(() => {}).pause();
  await sleep(50);
  response.body.destroy();
  const upstream = served.at(-1)!;
  for (let waited = 0; !upstream.closedEarly && waited < 5000; waited += 20) await sleep(20);
  assert.equal(upstream.closedEarly, true);
  assert.equal(upstream.done, false);
});

test('an upstream that cuts the body short fails it: an error, not an end', async () => {
  const response = await get('/cut');
  let bytes = 0;
  response.body.forwardChunks((chunk) => (bytes += chunk.length));
  await assert.rejects(finished(response.body));
  assert.ok(bytes < PIECE * PIECES);
});
