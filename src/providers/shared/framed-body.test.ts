import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { framedBody } from './framed-body.ts';

const read = async (body: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
const file = (...pieces: string[]) => () => Readable.from(pieces.map((piece) => Buffer.from(piece)));

test('without a declared length: head, file, tail', async () => {
  assert.equal((await read(framedBody(Buffer.from('H'), file('ab', 'cd'), () => Buffer.from('T')))).toString(), 'HabcdT');
});

test('a declared length the body falls short of is filled with line breaks after the tail (an odd shortfall starts with a space)', async () => {
  assert.equal((await read(framedBody(Buffer.from('H'), file('ab', 'cd'), () => Buffer.from('T'), { length: 10 }))).toString(), 'HabcdT\r\n\r\n');
  assert.equal((await read(framedBody(Buffer.from('H'), file('ab', 'cd'), () => Buffer.from('T'), { length: 9 }))).toString(), 'HabcdT \r\n');
  assert.equal((await read(framedBody(Buffer.from('H'), file('ab', 'cd'), () => Buffer.from('T'), { length: 6 }))).toString(), 'HabcdT');
  // Large fillers go out in pieces, respecting backpressure, and come to the exact length.
  const big = await read(framedBody(Buffer.from('H'), file('ab'), () => Buffer.from('T'), { length: 1_000_001 }));
  assert.equal(big.length, 1_000_001);
  assert.equal(big.subarray(0, 6).toString(), 'HabT \r');
});

test('a body that would grow past its declared length fails before it completes', async () => {
  await assert.rejects(read(framedBody(Buffer.from('H'), file('ab', 'cd'), () => Buffer.from('T'), { length: 4 })), /longer than the 4 bytes/);
  await assert.rejects(read(framedBody(Buffer.from('H'), file('ab', 'cd'), () => Buffer.from('TT'), { length: 6 })), /longer than the 6 bytes/);
});
