import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSseData, SseParser } from './sse.ts';

async function events(chunks: Array<string | Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const data of readSseData((async function* () { yield* chunks; })())) out.push(data);
  return out;
}

test('LF, CRLF and CR framing, also when split across chunks', async () => {
  assert.deepEqual(await events(['data: {"a":1}\n\ndata: [DONE]\n\n']), ['{"a":1}', '[DONE]']);
  // Vertex frames with \r\n\r\n; here the \r and \n of one line end arrive in different chunks.
  assert.deepEqual(await events(['data: one\r', '\n\r\n', 'data: two\r\n\r\n']), ['one', 'two']);
  assert.deepEqual(await events(['data: x\r\rdata: y\r\r']), ['x', 'y']);
});

test('multi-line data is joined, comments and other fields are skipped, a last unterminated event is kept', async () => {
  assert.deepEqual(await events([': keep-alive\n\nevent: message\nid: 3\ndata: first\ndata:second\n\n', 'data: tail']), ['first\nsecond', 'tail']);
});

test('a UTF-8 character split across byte chunks is decoded whole', async () => {
  const bytes = Buffer.from('data: héllo ✓\n\n');
  assert.deepEqual(await events([bytes.subarray(0, 8), bytes.subarray(8, 16), bytes.subarray(16)]), ['héllo ✓']);
});

test('the events do not depend on where the body is cut, byte or character (SseParser, as OpenAIChat.streamSse feeds it)', () => {
  const whole = ': hi\r\ndata: {"a":"é"}\r\n\r\ndata: x\rdata: y\r\rid: 1\ndata:z\n\ndata: [DONE]\n\ndata: tail';
  const expected = ['{"a":"é"}', 'x\ny', 'z', '[DONE]', 'tail'];
  const bytes = Buffer.from(whole);
  for (let cut = 0; cut <= bytes.length; cut += 1) {
    for (const pieces of [[bytes.subarray(0, cut), bytes.subarray(cut)], [whole.slice(0, cut), whole.slice(cut)]]) {
      const parser = new SseParser();
      const got = [...parser.push(pieces[0]!), ...parser.push(pieces[1]!), ...parser.finish()];
      assert.deepEqual(got, expected, `cut at ${cut}`);
    }
  }
});
