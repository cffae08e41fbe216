/**
 * The custom_ids of a Vertex batch on local disk, so that neither converting the input nor
 * matching the (out-of-order) output back needs them in memory (SPEC §6: memory stays flat with
 * the file's size).
 *
 * - `CustomIdSpool` collects them while the input is converted: one JSON string per line, in row
 *   order — the bytes of the `custom-ids.jsonl` object uploaded beside the Vertex input.
 * - `CustomIdIndex` is that object downloaded again when the output is converted: the lines in
 *   one temp file and, in a second one, where each row starts (8 bytes per row), so `get(row)`
 *   is two positioned reads of a file the page cache holds, whatever the number of rows.
 *
 * Both live in a fresh directory under the process's spool directory and are removed by
 * `remove()`/`close()` (a crashed process's spool is removed at the next start, spooled-file.ts).
 */
import { closeSync, createWriteStream, fstatSync, openSync, readSync, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

/** Bytes gathered before one write to disk. */
const FLUSH_BYTES = 256 * 1024;

/** Appends to a file with a bounded buffer, honouring back-pressure. */
class BufferedWriter {
  private readonly stream: WriteStream;
  private parts: Buffer[] = [];
  private held = 0;
  bytes = 0;

  constructor(path: string) {
    this.stream = createWriteStream(path);
  }

  async write(part: Buffer): Promise<void> {
    this.parts.push(part);
    this.held += part.length;
    this.bytes += part.length;
    if (this.held >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.held === 0) return;
    const chunk = Buffer.concat(this.parts, this.held);
    this.parts = [];
    this.held = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
  }

  destroy(): void {
    this.stream.destroy();
  }
}

async function freshDirectory(root: string, prefix: string): Promise<string> {
  await mkdir(root, { recursive: true });
  return mkdtemp(join(root, prefix));
}

/** The custom_ids of one conversion, in row order, as the bytes of `custom-ids.jsonl`. */
export class CustomIdSpool {
  private writer: BufferedWriter;
  count = 0;

  private constructor(
    private readonly directory: string,
    readonly path: string,
  ) {
    this.writer = new BufferedWriter(path);
  }

  static async create(root: string): Promise<CustomIdSpool> {
    const directory = await freshDirectory(root, 'batch-ids-');
    return new CustomIdSpool(directory, join(directory, 'custom-ids.jsonl'));
  }

  /** Starts over (the conversion is read again, e.g. an upload retried from the start). */
  restart(): void {
    this.writer.destroy();
    this.writer = new BufferedWriter(this.path);
    this.count = 0;
  }

  async append(customId: string): Promise<void> {
    this.count += 1;
    await this.writer.write(Buffer.from(`${JSON.stringify(customId)}\n`));
  }

  /** Flushes; answers the byte length of the file. */
  async finish(): Promise<number> {
    await this.writer.close();
    return this.writer.bytes;
  }

  async remove(): Promise<void> {
    this.writer.destroy();
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** Row → custom_id over a downloaded `custom-ids.jsonl`, from disk. */
export class CustomIdIndex {
  private readonly scratch = Buffer.alloc(16);

  private constructor(
    private readonly directory: string,
    private readonly ids: number,
    private readonly starts: number,
    /** Rows in the index. */
    readonly rows: number,
    private readonly idsBytes: number,
  ) {}

  /** Streams `custom-ids.jsonl` bytes to disk, noting where each line starts. */
  static async load(source: AsyncIterable<Buffer | string>, root: string): Promise<CustomIdIndex> {
    const directory = await freshDirectory(root, 'batch-index-');
    const idsPath = join(directory, 'ids.jsonl');
    const startsPath = join(directory, 'starts.bin');
    const ids = new BufferedWriter(idsPath);
    const starts = new BufferedWriter(startsPath);
    try {
      let offset = 0;
      let lineStart = 0;
      let rows = 0;
      let atLineStart = true;
      const startBuffer = Buffer.alloc(8);
      for await (const raw of source) {
        const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
        let from = 0;
        while (from < chunk.length) {
          if (atLineStart) {
            lineStart = offset + from;
            startBuffer.writeDoubleLE(lineStart);
            await starts.write(Buffer.from(startBuffer));
            rows += 1;
            atLineStart = false;
          }
          const newline = chunk.indexOf(0x0a, from);
          if (newline === -1) break;
          from = newline + 1;
          atLineStart = true;
        }
        offset += chunk.length;
        await ids.write(chunk);
      }
      // The end of the last line, so every row's length is the next start minus its own.
      startBuffer.writeDoubleLE(offset);
      await starts.write(Buffer.from(startBuffer));
      await ids.close();
      await starts.close();
      const idsFd = openSync(idsPath, 'r');
      const startsFd = openSync(startsPath, 'r');
      return new CustomIdIndex(directory, idsFd, startsFd, rows, fstatSync(idsFd).size);
    } catch (error) {
      ids.destroy();
      starts.destroy();
      await rm(directory, { recursive: true, force: true });
      throw error;
    }
  }

  /** The custom_id of `row` (from 0), undefined outside the index or when the line is not a JSON string. */
  get(row: number): string | undefined {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) return undefined;
    if (readSync(this.starts, this.scratch, 0, 16, row * 8) !== 16) return undefined;
    const start = this.scratch.readDoubleLE(0);
    const end = Math.min(this.scratch.readDoubleLE(8), this.idsBytes);
    const line = Buffer.allocUnsafe(end - start);
    if (readSync(this.ids, line, 0, line.length, start) !== line.length) return undefined;
    try {
      const value = JSON.parse(line.toString('utf8')) as unknown;
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    closeSync(this.ids);
    closeSync(this.starts);
    await rm(this.directory, { recursive: true, force: true });
  }
}
