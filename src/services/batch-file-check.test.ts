import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { checkBatchFile } from './batch-file-check.ts';

const line = (id: string, model = 'm') => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [] } });

/** The file as a spooled body would stream it, in chunks of `size` bytes. */
function body(bytes: Buffer, size: number) {
  return {
    open: () => Readable.from((function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    })()),
    bytes: bytes.length,
  };
}

async function check(text: Buffer | string, size = 7, options: Parameters<typeof checkBatchFile>[2] = {}): Promise<string | undefined> {
  try {
    await checkBatchFile(body(Buffer.isBuffer(text) ? text : Buffer.from(text), size), ['m'], options);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

test('a valid file passes at every chunk size: BOM, CRLF, blank lines, non-ASCII custom_ids', async () => {
  const text = `\uFEFF${line('é — 1')}\r\n\n${line('😀 2')}\r\n${line('3')}`;
  for (const size of [1, 3, 7, 4096]) assert.equal(await check(text, size), undefined);
});

test('the first bad line is named, counting blank lines', async () => {
  assert.equal(await check(`${line('a')}\n\n${line('a')}\n`), 'Line 3 of the batch file repeats the custom_id "a".');
  assert.equal(await check(`${line('a')}\n{"custom_id":"b"\n`), 'Line 2 of the batch file is not valid JSON (a batch file is JSONL: one JSON object per line).');
  assert.equal(await check(`${line('a')}\n${line('b', 'other')}\n`), `Line 2 of the batch file names model "other", which is not among the file's target_model_names (m).`);
  const bad = Buffer.concat([Buffer.from(`${line('a')}\n${line('b')}\n{"custom_id":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
  assert.equal(await check(bad), 'Line 3 of the batch file is not valid UTF-8.');
  assert.equal(await check('\n \r\n'), 'The batch file has no requests (a batch file is JSONL: one request per line).');
});

test('custom_ids differing only after many equal characters are distinct', async () => {
  const ids = Array.from({ length: 2000 }, (_, index) => `${'x'.repeat(300)}${index}`);
  assert.equal(await check(ids.map((id) => line(id)).join('\n'), 65536), undefined);
});

test('a hash collision is checked against the real ids: distinct ids pass, a real repeat is named', async () => {
  const collide = { idHash: (): [number, number] => [7, 7] }; // every id has the same hash
  assert.equal(await check([line('a'), line('b'), '', line('c')].join('\n'), 5, collide), undefined);
  assert.equal(await check([line('a'), line('b'), line('c'), line('b'), line('d')].join('\n'), 5, collide), 'Line 4 of the batch file repeats the custom_id "b".');
  // With the real hash, 100k ids in a growing table: all distinct, then one repeat found.
  const many = Array.from({ length: 100_000 }, (_, index) => line(`Request ${index} — ${index % 7}`));
  assert.equal(await check(many.join('\n'), 65536), undefined);
  assert.equal(await check([...many, line('Request 4242 — 0')].join('\n'), 65536), 'Line 100001 of the batch file repeats the custom_id "Request 4242 — 0".');
});
