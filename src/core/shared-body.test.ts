import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { shareBody, type SharableBody } from './shared-body.ts';

const data = randomBytes(5 * 1024 * 1024 + 123);
const sha = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');
let directory: string;
let opens = 0;
let body: SharableBody;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'shared-body-'));
  const path = join(directory, 'body');
  await writeFile(path, data);
  body = {
    bytes: data.length,
    open: () => {
      opens += 1;
      return createReadStream(path, { highWaterMark: 256 * 1024 });
    },
  };
});
after(async () => rm(directory, { recursive: true, force: true }));

async function readAll(stream: Readable, delayMs = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    if (delayMs) await sleep(delayMs);
  }
  return Buffer.concat(chunks);
}

test('three consumers at different speeds read every byte from one read of the source', async () => {
  opens = 0;
  const branches = shareBody(body, 3);
  const results = await Promise.all([readAll(branches[0]!.open()), readAll(branches[1]!.open(), 2), readAll(branches[2]!.open(), 5)]);
  for (const result of results) assert.equal(sha(result), sha(data));
  assert.equal(opens, 1);
});

test('a consumer released before opening does not hold the others; one that gives up mid-way neither', async () => {
  opens = 0;
  const branches = shareBody(body, 3);
  const quitter = branches[1]!.open();
  const first = readAll(branches[0]!.open());
  setTimeout(() => branches[2]!.release(), 20); // its upload failed before sending the body
  let seen = 0;
  for await (const chunk of quitter) {
    seen += (chunk as Buffer).length;
    if (seen > 1024 * 1024) break; // destroys the stream: the upload gave up
  }
  assert.equal(sha(await first), sha(data));
  assert.equal(opens, 1);
});

test('a branch opened again (a re-send) reads the source on its own', async () => {
  opens = 0;
  const branches = shareBody(body, 2);
  const [a, b] = await Promise.all([readAll(branches[0]!.open()), readAll(branches[1]!.open())]);
  assert.equal(sha(a), sha(data));
  assert.equal(sha(b), sha(data));
  assert.equal(sha(await readAll(branches[1]!.open())), sha(data));
  assert.equal(opens, 2);
});
