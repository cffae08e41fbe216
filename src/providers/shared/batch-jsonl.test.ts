import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { rewriteBatchModel } from './batch-jsonl.ts';

async function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

test('every line gets the deployment model, across chunk boundaries and without a trailing newline', async () => {
  const lines = [
    { custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'public-name', messages: [{ role: 'user', content: 'hé ✓' }] } },
    { custom_id: 'b', method: 'POST', url: '/v1/chat/completions', body: { model: 'public-name', messages: [] } },
  ];
  const text = lines.map((line) => JSON.stringify(line)).join('\r\n');
  const bytes = Buffer.from(text);
  // Split inside a multi-byte character to prove the decoder keeps state.
  const pieces = [bytes.subarray(0, 97), bytes.subarray(97, 98), bytes.subarray(98)];
  const output = await collect(rewriteBatchModel(Readable.from(pieces), 'my-deployment'));
  const parsed = output.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(parsed.map((line) => line.body.model), ['my-deployment', 'my-deployment']);
  assert.equal(parsed[0].body.messages[0].content, 'hé ✓');
});

test('a line that is not JSON fails with a 400 naming the line', async () => {
  await assert.rejects(collect(rewriteBatchModel(Readable.from([Buffer.from('{"body":{}}\nnot json\n')]), 'm')), (error: { status?: number; message: string }) => error.status === 400 && /Line 2/.test(error.message));
});
