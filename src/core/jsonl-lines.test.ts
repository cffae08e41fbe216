import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonlLines, JsonlSplitter } from './jsonl-lines.ts';

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const options = {
  maxLineBytes: 16,
  tooLong: (number: number) => new Error(`long ${number}`),
  invalidUtf8: (number: number) => new Error(`utf8 ${number}`),
};

async function collect(bytes: Buffer, size: number, extra: Partial<typeof options> = {}): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for await (const { line, number } of jsonlLines(chunks(bytes, size), { ...options, ...extra })) out.push([number, line]);
  return out;
}

test('lines split at every chunk size keep multi-byte characters, drop CR and one leading BOM', async () => {
  const bytes = Buffer.from('\uFEFFä€😀\r\n\n\uFEFFb\r\nlast', 'utf8');
  for (const size of [1, 2, 3, 5, 64]) {
    assert.deepEqual(await collect(bytes, size), [[1, 'ä€😀'], [2, ''], [3, '\uFEFFb'], [4, 'last']], `chunk size ${size}`);
  }
});

test('invalid UTF-8 names its own line; without the check it becomes U+FFFD', async () => {
  const bytes = Buffer.concat([Buffer.from('ok\n\n'), Buffer.from([0x61, 0xc3, 0x28]), Buffer.from('\nz')]);
  await assert.rejects(collect(bytes, 2), /^Error: utf8 3$/);
  assert.deepEqual(await collect(bytes, 2, { invalidUtf8: undefined }), [[1, 'ok'], [2, ''], [3, 'a\uFFFD('], [4, 'z']]);
});

test('a line over the limit is refused, whether or not it has ended', async () => {
  await assert.rejects(collect(Buffer.from('short\n' + 'x'.repeat(17) + '\n'), 4), /^Error: long 2$/);
  await assert.rejects(collect(Buffer.from('short\n' + 'x'.repeat(40)), 4), /^Error: long 2$/);
  assert.deepEqual(await collect(Buffer.from('x'.repeat(16) + '\n'), 3), [[1, 'x'.repeat(16)]]);
});

test('a chunk whose later line is bad still yields its earlier lines first, so a consumer reports the first bad line', async () => {
  // One chunk: line 1 fine, line 2 invalid UTF-8: the consumer sees line 1 before the error.
  const bytes = Buffer.concat([Buffer.from('{"a":1}\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const { number } of jsonlLines(chunks(bytes, 64), options)) seen.push(number);
    })(),
    /^Error: utf8 2$/,
  );
  assert.deepEqual(seen, [1]);
});

test('JsonlSplitter copies an unfinished line: the source may reuse its chunk buffer', () => {
  const splitter = new JsonlSplitter(options);
  const out: Array<[number, string]> = [];
  const take = (line: string, number: number) => out.push([number, line]);
  const reused = Buffer.alloc(4);
  for (const piece of ['ab\ncd', 'ef\ng'].flatMap((text) => text.match(/[\s\S]{1,4}/g)!)) {
    reused.fill(0);
    const length = reused.write(piece);
    splitter.push(reused.subarray(0, length), take);
  }
  splitter.end(take);
  assert.deepEqual(out, [[1, 'ab'], [2, 'cdef'], [3, 'g']]);
});
