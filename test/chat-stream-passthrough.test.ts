/**
 * What a streaming client gets from an OpenAI-compatible upstream, byte for byte, however the
 * upstream's events are cut into reads: the provider's event text where it passes on as is,
 * re-serialized where an event holds "error" but is no error event, comments and other fields
 * dropped, CRLF framing normalised, nothing after [DONE]; an error event mid-stream ends the
 * answer with the gateway's error event after the events before it (src/http/routes/chat-routes.ts,
 * src/providers/openai/openai-chat.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';
import { rawRequest } from './support/raw-http.ts';

let upstream: Server;
let pieces: Array<string | Buffer> = [];
/** How the upstream's answer ends after the pieces: complete, or its connection cut. */
let ending: 'end' | 'cut' = 'end';
let harness: Harness;

/** Writes `pieces` one per event-loop turn (separate reads at the gateway), or all at once. */
function send(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  let index = 0;
  const next = () => {
    if (index >= pieces.length) return void (ending === 'cut' ? response.socket?.destroy() : response.end());
    response.write(pieces[index]!);
    index += 1;
    setTimeout(next, 2);
  };
  next();
}

before(async () => {
  upstream = createServer((request, response) => {
    request.resume();
    request.once('end', () => send(response));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  harness = await startHarness({
    config: () => ({ model_list: [{ model_name: 'scripted', litellm_params: { model: 'openai/m', api_base: base, api_key: 'sk-upstream' } }] }),
  });
});
after(async () => {
  await harness.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

async function streamed(): Promise<string> {
  const response = await harness.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'scripted', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  return response.text();
}

const UPSTREAM =
  ': keep-alive\n\n' +
  'data: {"id":"c1", "object":"chat.completion.chunk","choices":[{"delta":{"content":"héllo 👋"}}]}\n\n' +
  'event: message\r\nid: 7\r\ndata:{"id":"c2", "logprobs":{"error":null} }\r\n\r\n' +
  'data: {"id":"c3","choices":[]}\r\rdata: [DONE]\n\n' +
  'data: {"id":"after-done"}\n\n';
const EXPECTED =
  'data: {"id":"c1", "object":"chat.completion.chunk","choices":[{"delta":{"content":"héllo 👋"}}]}\n\n' +
  'data: {"id":"c2","logprobs":{"error":null}}\n\n' +
  'data: {"id":"c3","choices":[]}\n\n' +
  'data: [DONE]\n\n';

test('the client gets the same bytes whether the upstream events come in one read or cut anywhere', async () => {
  const bytes = Buffer.from(UPSTREAM);
  const cuts: Buffer[][] = [[bytes]];
  // Between events, inside an event, between \r and \n, inside the emoji's UTF-8 bytes…
  for (const at of [14, 40, 103, 104, 180, 181, 215, 230]) cuts.push([bytes.subarray(0, at), bytes.subarray(at)]);
  // …and every 5 bytes.
  cuts.push(Array.from({ length: Math.ceil(bytes.length / 5) }, (_, index) => bytes.subarray(index * 5, index * 5 + 5)));
  for (const cut of cuts) {
    pieces = cut;
    assert.equal(await streamed(), EXPECTED, `cut into ${cut.length} pieces at ${cut.map((piece) => piece.length).join(', ')}`);
  }
});

test('an error event mid-stream: the events before it, then the gateway\'s error event, and no [DONE]', async () => {
  pieces = ['data: {"id":"c1","choices":[]}\n\ndata: {"error":{"message":"overloaded","type":"server_error"}}\n\ndata: {"id":"c2","choices":[]}\n\n'];
  const text = await streamed();
  const events = text.split('\n\n').filter(Boolean);
  assert.equal(events.length, 2, text);
  assert.equal(events[0], 'data: {"id":"c1","choices":[]}');
  const failure = JSON.parse(events[1]!.slice('data: '.length)) as { error?: { message?: string } };
  assert.ok(failure.error, text);
  assert.doesNotMatch(text, /\[DONE\]|c2/);
});

test('a last event without its blank line still reaches the client, then [DONE]', async () => {
  ending = 'end';
  for (const cut of [['data: {"id":"c1","choices":[]}\n\ndata: {"id":"c2","choices":[]}'], ['data: {"id":"c1","choices":[]}\n\n', 'data: {"id":"c2",', '"choices":[]}']]) {
    pieces = cut;
    assert.equal(await streamed(), 'data: {"id":"c1","choices":[]}\n\ndata: {"id":"c2","choices":[]}\n\ndata: [DONE]\n\n');
  }
});

test('an upstream connection cut mid-stream: the events before it, then an error event naming the provider, and no [DONE]', async () => {
  ending = 'cut';
  try {
    pieces = ['data: {"id":"c1","choices":[]}\n\n', 'data: {"id":"c2","choi'];
    const text = await streamed();
    const events = text.split('\n\n').filter(Boolean);
    assert.equal(events.length, 2, text);
    assert.equal(events[0], 'data: {"id":"c1","choices":[]}');
    assert.deepEqual(JSON.parse(events[1]!.slice('data: '.length)), {
      error: { message: 'Could not reach openai.', type: 'upstream_error', param: null, code: 'upstream_unreachable' },
    });
  } finally {
    ending = 'end';
  }
});

test('a stream asked for with `Connection: close`: the whole answer, then the gateway closes the connection', async () => {
  ending = 'end';
  pieces = ['data: {"id":"c1","choices":[]}\n\n', 'data: [DONE]\n\n'];
  const body = JSON.stringify({ model: 'scripted', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  // rawRequest resolves when the gateway closes the socket (it would wait for the idle timeout otherwise).
  const answer = await rawRequest(
    harness.url,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.connection, 'close');
  assert.equal(answer.body, 'data: {"id":"c1","choices":[]}\n\ndata: [DONE]\n\n');
});
