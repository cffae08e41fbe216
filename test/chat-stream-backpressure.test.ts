/**
 * A client that stops reading a streamed chat answer must not make the gateway hold the answer
 * (issue 10): the real CLI gateway between a real local HTTP upstream that can stream 50 MB of
 * OpenAI chunks (honouring its own socket's backpressure) and a raw TCP client that pauses its
 * socket. While the client is paused the gateway's RSS stays flat and the upstream is held back;
 * once resumed, every chunk arrives intact, in order, followed by `[DONE]`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startGatewayInFrontOf, type CliGateway } from './support/cli-gateway.ts';
import { rssWhileReaderPaused } from './support/process-rss.ts';

const MASTER = 'sk-backpressure-master';
const TOTAL_BYTES = Number(process.env.BACKPRESSURE_TEST_MB ?? 50) * 1024 * 1024;
const PIECE = 'x'.repeat(1000);

/** Chunk i as the upstream frames it; its content carries i so the client can check the order. */
function event(index: number): string {
  const chunk = {
    id: 'chatcmpl-big',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'big-model',
    choices: [{ index: 0, delta: { content: `${String(index).padStart(8, '0')}:${PIECE}` }, finish_reason: null }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

let upstream: Server;
let gateway: CliGateway;
let stop: (() => Promise<void>) | undefined;
/** Bytes of SSE the upstream has handed to its socket so far, and the chunks it will send. */
const sent = { bytes: 0, chunks: 0, finished: false };

before(async () => {
  upstream = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      let index = 0;
      const pump = () => {
        while (sent.bytes < TOTAL_BYTES) {
          const text = event(index);
          index += 1;
          sent.bytes += text.length;
          sent.chunks = index;
          if (!response.write(text)) return void response.once('drain', pump);
        }
        sent.finished = true;
        response.end('data: [DONE]\n\n');
      };
      pump();
    });
  });
  ({ gateway, stop } = await startGatewayInFrontOf(upstream, MASTER, (upstreamPort) => ({
    model_list: [{ model_name: 'big', litellm_params: { model: 'openai/big-model', api_base: `http://127.0.0.1:${upstreamPort}/v1`, api_key: 'sk-upstream' } }],
  })));
});
after(() => stop?.());

test('a paused SSE reader leaves the gateway RSS flat while the upstream could stream 50 MB; resumed, all of it arrives intact', { timeout: 120_000 }, async () => {
  const pid = gateway.process.pid!;
  const { hostname, port } = new URL(gateway.base);
  const body = JSON.stringify({ model: 'big', stream: true, messages: [{ role: 'user', content: 'a lot, please' }] });
  const socket: Socket = connect(Number(port), hostname);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const received: Buffer[] = [];
  let receivedBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    receivedBytes += chunk.length;
  });
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${MASTER}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // The answer has started (status line and the first chunks), then the client stops reading.
  while (receivedBytes < 64 * 1024) await sleep(5);
  socket.pause();
  const { baseline, peak, sentAtPause } = await rssWhileReaderPaused(pid, sent);
  const heldBack = sent.bytes;
  assert.ok(!sent.finished, 'the upstream is held back while the client does not read');
  assert.ok(heldBack < TOTAL_BYTES / 2, `the upstream sent ${(heldBack / 1e6).toFixed(1)} MB of 50 MB while the client was paused`);
  assert.ok(heldBack - sentAtPause < 4 * 1024 * 1024, `the upstream kept streaming during the pause: ${((heldBack - sentAtPause) / 1e6).toFixed(1)} MB`);
  assert.ok(peak - baseline < 16 * 1024 * 1024, `gateway RSS grew by ${((peak - baseline) / 1e6).toFixed(1)} MB while the client was paused`);

  socket.resume();
  await new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  const text = Buffer.concat(received).toString('utf8');
  const headerEnd = text.indexOf('\r\n\r\n');
  assert.match(text.slice(0, headerEnd), /^HTTP\/1\.1 200 /);
  assert.match(text.slice(0, headerEnd), /content-type: text\/event-stream/i);
  // The client asked for `Connection: close`: the gateway closes once the answer is done rather
  // than keep the socket until its keep-alive timeout (RFC 9112 §9.6).
  assert.match(text.slice(0, headerEnd), /\r\nconnection: close\r\n/i);
  // Chunked transfer encoding: strip the chunk-size lines to get the SSE text.
  const sse = dechunk(text.slice(headerEnd + 4));
  const events = sse.split('\n\n').filter((frame) => frame !== '');
  assert.equal(events.at(-1), 'data: [DONE]');
  const chunks = events.slice(0, -1);
  assert.equal(chunks.length, sent.chunks, 'every chunk the upstream sent arrived');
  chunks.forEach((frame, index) => {
    assert.ok(frame.startsWith('data: '), `event ${index} is a data event`);
    const chunk = JSON.parse(frame.slice(6)) as { choices: Array<{ delta: { content: string } }> };
    assert.equal(chunk.choices[0]!.delta.content, `${String(index).padStart(8, '0')}:${PIECE}`);
  });
  assert.ok(sent.finished && sent.bytes >= TOTAL_BYTES);
});

/** The body of a `Transfer-Encoding: chunked` HTTP/1.1 message. */
function dechunk(raw: string): string {
  let offset = 0;
  let out = '';
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    const size = Number.parseInt(raw.slice(offset, lineEnd), 16);
    if (!(size > 0)) return out;
    out += raw.slice(lineEnd + 2, lineEnd + 2 + size);
    offset = lineEnd + 2 + size + 2;
  }
}
