/**
 * A request body spooled to a temporary file — never to memory — so it can be read again for
 * routing decisions, fan-out and retries. Keeps the first bytes for MIME sniffing.
 *
 * Spool files live under a directory the gateway owns: one subdirectory per process
 * (`<root>/<pid>-<random>/`), so that a starting instance can remove what a crashed one left
 * (its pid is no longer alive) without touching the spools of a live instance on the same host.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';

const HEAD_BYTES = 512;
/** Spool writes and reads move this much per system call at most (fewer calls per GiB). */
const SPOOL_CHUNK_BYTES = 1024 * 1024;

export class SpooledFile {
  private constructor(
    private readonly directory: string,
    readonly path: string,
    readonly bytes: number,
    /** Up to the first 512 bytes, for sniffing the content type. */
    readonly head: Buffer,
  ) {}

  /** Copies the stream to a temp file under `root`; the temp file is removed again if copying fails. */
  static async from(source: Readable, options: { root?: string; signal?: AbortSignal } = {}): Promise<SpooledFile> {
    const parent = options.root ?? processSpoolDirectory(defaultSpoolRoot());
    await mkdir(parent, { recursive: true });
    const directory = await mkdtemp(join(parent, 'upload-'));
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
        { signal: options.signal },
      );
    } catch (error) {
      await rm(directory, { recursive: true, force: true });
      throw error;
    }
    return new SpooledFile(directory, path, bytes, Buffer.concat(headChunks));
  }

  /** A spool filled chunk by chunk by the caller (who keeps the backpressure), see SpoolWriter. */
  static async writer(options: { root?: string } = {}): Promise<SpoolWriter> {
    const parent = options.root ?? processSpoolDirectory(defaultSpoolRoot());
    await mkdir(parent, { recursive: true });
    const directory = await mkdtemp(join(parent, 'upload-'));
    return new SpoolWriter(directory, (bytes, head) => new SpooledFile(directory, join(directory, 'body'), bytes, head));
  }

  open(): Readable {
    return createReadStream(this.path, { highWaterMark: SPOOL_CHUNK_BYTES });
  }

  async remove(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** Writes a spool from chunks handed to it; `write` returning false means wait for `drained`. */
export class SpoolWriter {
  readonly path: string;
  private readonly stream: WriteStream;
  private bytes = 0;
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;

  constructor(
    private readonly directory: string,
    private readonly make: (bytes: number, head: Buffer) => SpooledFile,
  ) {
    this.path = join(directory, 'body');
    this.stream = createWriteStream(this.path, { highWaterMark: SPOOL_CHUNK_BYTES });
    this.stream.on('error', () => undefined); // surfaced by close()
  }

  /** Queues the chunk (kept by reference, not copied); false: over the buffer, wait for drain. */
  write(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.headLength < HEAD_BYTES) {
      this.headChunks.push(chunk.subarray(0, HEAD_BYTES - this.headLength));
      this.headLength += Math.min(chunk.length, HEAD_BYTES - this.headLength);
    }
    return this.stream.write(chunk);
  }

  get needsDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  onDrain(listener: () => void): void {
    this.stream.on('drain', listener);
  }

  /** Everything written is on disk: the spooled file. */
  async close(): Promise<SpooledFile> {
    this.stream.end();
    await finished(this.stream);
    return this.make(this.bytes, Buffer.concat(this.headChunks));
  }

  /** Removes what was written (the upload failed or went elsewhere). */
  async discard(): Promise<void> {
    this.stream.destroy();
    await finished(this.stream).catch(() => undefined);
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** A body that streams once (straight from the client); a second open is a bug. */
export function oneShotBody(
  stream: Readable,
  bytesAtMost?: number,
  boundary?: string,
): { open(): Readable; bytes: undefined; bytesAtMost?: number | undefined; boundary?: string | undefined } {
  let opened = false;
  return {
    open: () => {
      if (opened) throw new Error('a streamed body can only be sent once');
      opened = true;
      return stream;
    },
    bytes: undefined,
    bytesAtMost,
    boundary,
  };
}

/** Where spools go when general_settings.spool_dir is not set. */
export function defaultSpoolRoot(): string {
  return join(tmpdir(), 'unifile-spool');
}

const PROCESS_TAG = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

/** This process's own spool directory under `root`. */
export function processSpoolDirectory(root: string): string {
  return join(root, PROCESS_TAG);
}

/**
 * Removes the spool directories of processes that no longer run (left by a crash or SIGKILL).
 * Returns how many were removed.
 */
export async function removeStaleSpools(root: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return 0; // nothing spooled yet
  }
  let removed = 0;
  for (const entry of entries) {
    const pid = Number(/^(\d+)-/.exec(entry)?.[1]);
    if (entry === PROCESS_TAG || (Number.isInteger(pid) && pid > 0 && isAlive(pid))) continue;
    await rm(join(root, entry), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM'; // alive, owned by someone else
  }
}
