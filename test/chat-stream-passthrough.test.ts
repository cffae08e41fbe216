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
import { startHarness, type Harness } from './support/gateway-harness.ts';

let upstream: Server;
let pieces: Array<string | Buffer> = [];
let harness: Harness;

/** Writes `pieces` one per event-loop turn (separate reads at the gateway), or all at once. */
function send(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  let index = 0;
  const next = () => {
    if (index >= pieces.length) return void response.end();
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
