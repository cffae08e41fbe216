/**
 * A request body spooled to a temporary file — never to memory — so it can be read again for
 * routing decisions, fan-out and retries. Keeps the first bytes for MIME sniffing.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const HEAD_BYTES = 512;

export class SpooledFile {
  private constructor(
    private readonly directory: string,
    readonly path: string,
    readonly bytes: number,
    /** Up to the first 512 bytes, for sniffing the content type. */
    readonly head: Buffer,
  ) {}

  /** Copies the stream to a temp file; the temp file is removed again if copying fails. */
  static async from(source: Readable, signal?: AbortSignal): Promise<SpooledFile> {
    const directory = await mkdtemp(join(tmpdir(), 'unifile-'));
    const path = join(directory, 'body');
    let bytes = 0;
    const headChunks: Buffer[] = [];
    let headLength = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            bytes += chunk.length;
            if (headLength < HEAD_BYTES) {
              headChunks.push(chunk.subarray(0, HEAD_BYTES - headLength));
              headLength += Math.min(chunk.length, HEAD_BYTES - headLength);
            }
            yield chunk;
          }
        },
        createWriteStream(path),
        { signal },
      );
    } catch (error) {
      await rm(directory, { recursive: true, force: true });
      throw error;
    }
    return new SpooledFile(directory, path, bytes, Buffer.concat(headChunks));
  }

  open(): Readable {
    return createReadStream(this.path, { highWaterMark: 256 * 1024 });
  }

  async remove(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** A body that streams once (straight from the client); a second open is a bug. */
export function oneShotBody(stream: Readable): { open(): Readable; bytes: undefined } {
  let opened = false;
  return {
    open: () => {
      if (opened) throw new Error('a streamed body can only be sent once');
      opened = true;
      return stream;
    },
    bytes: undefined,
  };
}
