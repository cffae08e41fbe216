/**
 * The benchmark payload: a random file under os.tmpdir(), generated once and reused, with its
 * sha256 cached next to it (keyed by size and mtime, so a changed file is hashed again).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

export const GIB = 1024 * 1024 * 1024;

export interface TestFile {
  path: string;
  bytes: number;
  sha256: string;
}

async function generate(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
  for (let written = 0; written < bytes; written += chunk.length) {
    const slice = chunk.subarray(0, Math.min(chunk.length, bytes - written));
    randomFillSync(slice);
    if (!out.write(slice)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `unifile-bench-<size>.bin` in os.tmpdir(); created (random bytes) when missing or of another size. */
export async function ensureTestFile(bytes = GIB): Promise<TestFile> {
  const path = join(tmpdir(), `unifile-bench-${bytes}.bin`);
  const cachePath = `${path}.sha256`;
  let info = await stat(path).catch(() => undefined);
  if (!info || info.size !== bytes) {
    process.stderr.write(`generating ${bytes} random bytes in ${path} …\n`);
    await generate(path, bytes);
    info = await stat(path);
  }
  const key = `${info.size}:${info.mtimeMs}`;
  const cached = await readFile(cachePath, 'utf8').catch(() => '');
  const [cachedKey, cachedHash] = cached.trim().split(' ');
  if (cachedKey === key && cachedHash) return { path, bytes, sha256: cachedHash };
  const sha256 = await sha256OfFile(path);
  await writeFile(cachePath, `${key} ${sha256}\n`);
  return { path, bytes, sha256 };
}

/**
 * Reads the file once (untimed) so the measured upload reads it from the page cache: this
 * machine reclaims cold page cache proactively (kdamond), so "generated earlier" is not enough.
 */
export async function warmPageCache(file: TestFile): Promise<void> {
  for await (const chunk of createReadStream(file.path, { highWaterMark: 4 * 1024 * 1024 })) void chunk;
}
