/**
 * bufferedRequest's `forward` body against a real node:http server over an undici pool: every
 * byte in order whenever the consumer attaches or pauses, the upstream held back while paused,
 * cancel() and a cut connection reject.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import type { CallContext } from '../../core/call-context.ts';
import { bufferedRequest, type ForwardedBody } from './buffered-request.ts';

const PIECE = Buffer.alloc(64 * 1024, 'x');
let answer: (response: ServerResponse) => void = () => {};
let origin = '';
const server = createServer((request, response) => {
  request.resume();
  request.once('end', () => answer(response));
});
const agent = new Agent();
const context: CallContext = { requestId: 'r', logger: { info() {}, warn() {}, error() {} } };

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function open(): Promise<ForwardedBody> {
  const response = await bufferedRequest(agent, { origin, path: '/', method: 'GET' }, context, (status) => status === 200, 'forward');
  assert.equal(response.statusCode, 200);
  return response.body as ForwardedBody;
}

/** Writes `count` pieces as fast as the connection takes them; resolves with the pieces written when done or closed. */
function writePieces(response: ServerResponse, count: number): Promise<number> {
  if (!response.headersSent) response.writeHead(200, { 'content-type': 'application/octet-stream' });
  return new Promise((resolve) => {
    let written = 0;
    response.once('close', () => resolve(written));
    const next = () => {
      while (written < count) {
        written += 1;
        if (!response.write(PIECE)) return void response.once('drain', next);
      }
      response.end();
    };
    next();
  });
}

test('attached late, paused and resumed: every byte arrives in order, and the body ends only after the consumer resumed', async () => {
  let serverDone: Promise<number> = Promise.resolve(0);
  answer = (response) => {
    response.writeHead(200);
    response.write('first|');
    serverDone = new Promise((resolve) => setTimeout(() => resolve(0), 20)).then(() => writePieces(response, 64));
  };
  const body = await open();
  await sleep(50); // the first read came and was kept; the upstream is paused
  const received: Buffer[] = [];
  let pauses = 0;
  let ended = false;
  const forwarding = body.forward((chunk) => {
    received.push(chunk);
    if (received.length % 3 !== 0) return true;
    pauses += 1;
    setTimeout(() => body.resume(), 1);
    return false;
  });
  void forwarding.then(() => (ended = true));
  await forwarding;
  assert.ok(ended);
  assert.ok(pauses > 0);
  await serverDone;
  const text = Buffer.concat(received).toString();
  assert.ok(text.startsWith('first|'));
  assert.equal(text.length, 'first|'.length + 64 * PIECE.length);
});

test('while the consumer is paused the upstream is held back (the server cannot finish writing 64 MiB)', async () => {
  let serverDone: Promise<number> = Promise.resolve(0);
  answer = (response) => {
    serverDone = writePieces(response, 1024);
  };
  const body = await open();
  let received = 0;
  let pausedAt = -1;
  const forwarding = body.forward((chunk) => {
    received += chunk.length;
    if (received < 1024 * 1024) return true;
    pausedAt = received;
    return false; // paused until resume()
  });
  await sleep(300);
  assert.equal(received, pausedAt, 'nothing handed over while paused');
  body.resume();
  // Paused again at once (received stays over the bound); let it run to the end instead.
  const rest = new Promise<void>((resolve) => {
    const drainAll = () => {
      if (received >= 1024 * PIECE.length) return resolve();
      body.resume();
      setImmediate(drainAll);
    };
    drainAll();
  });
  await rest;
  body.resume(); // the last read paused the consumer too: the body ends once it resumes
  await forwarding;
  assert.equal(received, 1024 * PIECE.length);
  assert.equal(await serverDone, 1024);
});

test('cancel() rejects with its reason and closes the upstream connection; a cut connection rejects', async () => {
  let serverDone: Promise<number> = Promise.resolve(0);
  answer = (response) => {
    serverDone = writePieces(response, 4096);
  };
  let body = await open();
  const reason = new Error('stop');
  let count = 0;
  await assert.rejects(
    body.forward(() => {
      count += 1;
      if (count === 2) body.cancel(reason);
      return true;
    }),
    (error) => error === reason,
  );
  assert.ok((await serverDone) < 4096, 'the server saw its answer closed early');

  answer = (response) => {
    response.writeHead(200);
    response.write('part');
    setTimeout(() => response.socket!.destroy(), 10);
  };
  body = await open();
  await assert.rejects(body.forward(() => true));
});
