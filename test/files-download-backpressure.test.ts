/**
 * A file download streams through the gateway with backpressure (issue 10): the real CLI gateway
 * between a real local HTTP upstream that serves 64 MiB of file content (honouring its own
 * socket's backpressure) and raw TCP clients. A client that stops reading holds the upstream back
 * and leaves the gateway's RSS flat; resumed, every byte arrives in order with the download
 * headers. A client that goes away mid-download aborts the upstream request; an upstream that cuts
 * its body short cuts the client's response short (never a complete-looking answer).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type ServerResponse, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startGatewayInFrontOf, type CliGateway } from './support/cli-gateway.ts';
import { rssWhileReaderPaused } from './support/process-rss.ts';

const MASTER = 'sk-download-backpressure-master';
const TOTAL_BYTES = 64 * 1024 * 1024;
const PIECE_BYTES = 64 * 1024;

/** Piece i of the content: its index in every 8 bytes, so a lost, repeated or reordered piece shows. */
function piece(index: number): Buffer {
  const buffer = Buffer.alloc(PIECE_BYTES);
  for (let offset = 0; offset < PIECE_BYTES; offset += 8) buffer.writeUInt32BE(index, offset);
  return buffer;
}
const expectedSha256 = (() => {
  const hash = createHash('sha256');
  for (let index = 0; index < TOTAL_BYTES / PIECE_BYTES; index += 1) hash.update(piece(index));
  return hash.digest('hex');
})();

let upstream: Server;
let gateway: CliGateway;
let stop: (() => Promise<void>) | undefined;
/** Per content request: the bytes handed to the upstream socket, whether it finished, whether it was closed early. */
const served: Array<{ bytes: number; finished: boolean; closedEarly: boolean }> = [];
/** `cut`: the next content answer stops after this many bytes and the upstream drops the connection. */
let cutAfter: number | undefined;

function serveContent(response: ServerResponse): void {
  const state = { bytes: 0, finished: false, closedEarly: false };
  served.push(state);
  const cut = cutAfter;
  cutAfter = undefined;
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL_BYTES) });
  response.once('close', () => (state.closedEarly = !state.finished));
  let index = 0;
  const pump = () => {
    while (state.bytes < TOTAL_BYTES) {
      if (cut !== undefined && state.bytes >= cut) return void response.destroy();
      const ok = response.write(piece(index));
      index += 1;
      state.bytes += PIECE_BYTES;
      if (!ok) return void response.once('drain', pump);
    }
    state.finished = true;
    response.end();
  };
  pump();
}

/** 8 MB in pieces of 7,777 bytes, written one per event-loop turn: the gateway gets small, odd chunks. */
const ODD_PIECE = Buffer.alloc(7777, 'abcdefghij');
const ODD_COUNT = 1000;
function serveOddPieces(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(ODD_PIECE.length * ODD_COUNT) });
  let sent = 0;
  const pump = () => {
    if (sent === ODD_COUNT) return void response.end();
    sent += 1;
    if (response.write(ODD_PIECE)) setImmediate(pump);
    else response.once('drain', pump);
  };
  pump();
}

before(async () => {
  upstream = createServer((request, response) => {
    request.resume();
    if (request.url === '/v1/files/file-big/content') return serveContent(response);
    if (request.url === '/v1/files/file-odd/content') return serveOddPieces(response);
    if (request.url === '/v1/files/file-big') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end(
        JSON.stringify({ id: 'file-big', object: 'file', bytes: TOTAL_BYTES, created_at: 1700000000, filename: 'big.bin', purpose: 'user_data', status: 'processed' }),
      );
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }));
  });
  ({ gateway, stop } = await startGatewayInFrontOf(upstream, MASTER, (upstreamPort) => ({
    files_settings: [{ custom_llm_provider: 'openai', api_base: `http://127.0.0.1:${upstreamPort}/v1`, api_key: 'sk-upstream' }],
  })));
});
after(() => stop?.());

/** A raw HTTP/1.1 GET of the file's content; the caller reads (or pauses) the socket. */
async function requestContent(): Promise<{ socket: Socket; received: Buffer[]; bytes: () => number }> {
  const { hostname, port } = new URL(gateway.base);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const received: Buffer[] = [];
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    bytes += chunk.length;
  });
  socket.write(`GET /openai/v1/files/file-big/content HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${MASTER}\r\nConnection: close\r\n\r\n`);
  return { socket, received, bytes: () => bytes };
}

const closed = (socket: Socket) =>
  new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });

test('a paused reader holds the upstream back and leaves the gateway RSS flat; resumed, all 64 MiB arrive intact with the download headers', { timeout: 120_000 }, async () => {
  const pid = gateway.process.pid!;
  const { socket, received, bytes } = await requestContent();
  while (bytes() < 256 * 1024) await sleep(5);
  socket.pause();
  const state = served.at(-1)!;
  const { baseline, peak, sentAtPause } = await rssWhileReaderPaused(pid, state);
  assert.ok(!state.finished, 'the upstream is held back while the client does not read');
  assert.ok(state.bytes < TOTAL_BYTES / 2, `the upstream sent ${(state.bytes / 1e6).toFixed(1)} MB of 67 MB while the client was paused`);
  assert.ok(state.bytes - sentAtPause < 4 * 1024 * 1024, `the upstream kept sending during the pause: ${((state.bytes - sentAtPause) / 1e6).toFixed(1)} MB`);
  assert.ok(peak - baseline < 16 * 1024 * 1024, `gateway RSS grew by ${((peak - baseline) / 1e6).toFixed(1)} MB while the client was paused`);

  socket.resume();
  await closed(socket);
  const raw = Buffer.concat(received);
  const headerEnd = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, headerEnd).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.match(head, /\r\ncontent-type: application\/octet-stream\r\n/i);
  assert.match(head, /\r\ncontent-disposition: attachment; filename="big\.bin"; filename\*=UTF-8''big\.bin\r\n/i);
  assert.match(head, /\r\nx-content-type-options: nosniff\r\n/i);
  assert.match(head, new RegExp(`\\r\\ncontent-length: ${TOTAL_BYTES}\\r\\n`, 'i'));
  assert.doesNotMatch(head, /transfer-encoding/i);
  const body = raw.subarray(headerEnd + 4);
  assert.equal(body.length, TOTAL_BYTES);
  assert.equal(createHash('sha256').update(body).digest('hex'), expectedSha256, 'every piece arrived once, in order');
  assert.ok(state.finished && !state.closedEarly);
});

test('a client that goes away mid-download aborts the upstream request; the gateway serves the next one', { timeout: 120_000 }, async () => {
  const { socket, bytes } = await requestContent();
  while (bytes() < 1024 * 1024) await sleep(5);
  const state = served.at(-1)!;
  socket.destroy();
  for (const deadline = Date.now() + 20_000; !state.closedEarly && Date.now() < deadline; ) await sleep(50);
  assert.ok(state.closedEarly, 'the upstream connection was closed before the content was all sent');
  assert.ok(state.bytes < TOTAL_BYTES);

  const response = await fetch(`${gateway.base}/openai/v1/files/file-big/content`, { headers: { authorization: `Bearer ${MASTER}` } });
  assert.equal(response.status, 200);
  const hash = createHash('sha256');
  for await (const chunk of response.body!) hash.update(chunk);
  assert.equal(hash.digest('hex'), expectedSha256);
});

test('an upstream that cuts the content short cuts the response short: fewer bytes than its Content-Length, connection closed', { timeout: 120_000 }, async () => {
  cutAfter = 3 * 1024 * 1024;
  const { socket, received } = await requestContent();
  await closed(socket);
  const raw = Buffer.concat(received);
  const headerEnd = raw.indexOf('\r\n\r\n');
  assert.match(raw.subarray(0, headerEnd).toString('latin1'), new RegExp(`^HTTP/1\\.1 200 [^]*\\r\\ncontent-length: ${TOTAL_BYTES}\\r\\n`, 'i'));
  const bodyBytes = raw.length - headerEnd - 4;
  assert.ok(bodyBytes <= cutAfterLimit() && bodyBytes < TOTAL_BYTES, `the client got ${bodyBytes} bytes`);
  // The gateway is still there.
  const health = await fetch(`${gateway.base}/health/liveliness`);
  assert.equal(health.status, 200);
});

/** The cut upstream sent at most 3 MiB and one piece. */
function cutAfterLimit(): number {
  return 3 * 1024 * 1024 + PIECE_BYTES;
}

test('HEAD answers the download headers without a body, and reads the upstream content through as before', { timeout: 120_000 }, async () => {
  const before = served.length;
  const response = await fetch(`${gateway.base}/openai/v1/files/file-big/content`, { method: 'HEAD', headers: { authorization: `Bearer ${MASTER}` } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-length'), String(TOTAL_BYTES));
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.equal(await response.text(), '');
  assert.equal(served.length, before + 1);
  const state = served.at(-1)!;
  for (const deadline = Date.now() + 20_000; !state.finished && Date.now() < deadline; ) await sleep(50);
  assert.ok(state.finished && !state.closedEarly, 'the upstream content was read to its end');
});

test('small odd-sized chunks to a reader that keeps pausing all arrive, in order, and the download ends', { timeout: 120_000 }, async () => {
  const { hostname, port } = new URL(gateway.base);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    socket.pause();
    setTimeout(() => socket.resume(), 2);
  });
  socket.write(`GET /openai/v1/files/file-odd/content HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${MASTER}\r\nConnection: close\r\n\r\n`);
  await closed(socket);
  const raw = Buffer.concat(received);
  const headerEnd = raw.indexOf('\r\n\r\n');
  assert.match(raw.subarray(0, headerEnd).toString('latin1'), /^HTTP\/1\.1 200 /);
  assert.ok(raw.subarray(headerEnd + 4).equals(Buffer.concat(Array.from({ length: ODD_COUNT }, () => ODD_PIECE))));
});
