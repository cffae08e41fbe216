/**
 * The custom_ids of a Vertex batch on local disk, so that neither converting the input nor
 * matching the (out-of-order) output back needs them in memory (README "Batches": memory stays flat with
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
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes gathered before one write to disk. */
const FLUSH_BYTES = 256 * 1024;

/**
 * Appends to a file through one reused buffer: `add` copies into it (growing it only for a
 * part larger than what is left), `flush` writes it and waits, so the buffer can be reused at
 * once — no Buffer per part and none per flush.
 */
class BufferedWriter {
  private buffer = Buffer.allocUnsafe(FLUSH_BYTES);
  private held = 0;
  private closed = false;
  bytes = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<BufferedWriter> {
    return new BufferedWriter(await open(path, 'w'));
  }

  /** Copies a part (string as UTF-8) into the buffer; nothing is written until flush(). */
  add(part: Buffer | string): void {
    const length = typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    this.reserve(length);
    if (typeof part === 'string') this.buffer.write(part, this.held);
    else part.copy(this.buffer, this.held);
    this.held += length;
    this.bytes += length;
  }

  addDouble(value: number): void {
    this.reserve(8);
    this.buffer.writeDoubleLE(value, this.held);
    this.held += 8;
    this.bytes += 8;
  }

  /** add(), writing first when the part would not fit and after when the buffer is full. */
  async write(part: Buffer): Promise<void> {
    if (this.held > 0 && this.held + part.length > this.buffer.length) await this.flush();
    this.add(part);
    await this.flushIfFull();
  }

  async flushIfFull(): Promise<void> {
    if (this.held >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    let offset = 0;
    while (offset < this.held) offset += (await this.handle.write(this.buffer, offset, this.held - offset)).bytesWritten;
    this.held = 0;
    if (this.buffer.length > FLUSH_BYTES) this.buffer = Buffer.allocUnsafe(FLUSH_BYTES); // a long id grew it
  }

  async close(): Promise<void> {
    await this.flush();
    await this.destroy();
  }

  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private reserve(length: number): void {
    if (this.held + length <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.held + length));
    this.buffer.copy(grown, 0, 0, this.held);
    this.buffer = grown;
  }
}

async function freshDirectory(root: string, prefix: string): Promise<string> {
  await mkdir(root, { recursive: true });
  return mkdtemp(join(root, prefix));
}

/** The custom_ids of one conversion, in row order, as the bytes of `custom-ids.jsonl`. */
export class CustomIdSpool {
  count = 0;

  private constructor(
    private readonly directory: string,
    readonly path: string,
    private writer: BufferedWriter,
  ) {}

  static async create(root: string): Promise<CustomIdSpool> {
    const directory = await freshDirectory(root, 'batch-ids-');
    const path = join(directory, 'custom-ids.jsonl');
    return new CustomIdSpool(directory, path, await BufferedWriter.open(path));
  }

  /** Starts over (the conversion is read again, e.g. an upload retried from the start). */
  async restart(): Promise<void> {
    await this.writer.destroy();
    this.writer = await BufferedWriter.open(this.path);
    this.count = 0;
  }

  /** Adds one id in memory; `flush()` writes what has gathered once there is enough. */
  add(customId: string): void {
    this.count += 1;
    this.writer.add(JSON.stringify(customId));
    this.writer.add('\n');
  }

  async flush(): Promise<void> {
    await this.writer.flushIfFull();
  }

  async append(customId: string): Promise<void> {
    this.add(customId);
    await this.flush();
  }

  /** Flushes; answers the byte length of the file. */
  async finish(): Promise<number> {
    await this.writer.close();
    return this.writer.bytes;
  }

  async remove(): Promise<void> {
    await this.writer.destroy();
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** Row → custom_id over a downloaded `custom-ids.jsonl`, from disk. */
export class CustomIdIndex {
  private readonly scratch = Buffer.alloc(16);
  /** Holds the line being read (a longer line gets a buffer of its own). */
  private readonly line = Buffer.allocUnsafe(4096);

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
    const ids = await BufferedWriter.open(idsPath);
    const starts = await BufferedWriter.open(startsPath);
    try {
      let offset = 0;
      let lineStart = 0;
      let rows = 0;
      let atLineStart = true;
      for await (const raw of source) {
        const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
        let from = 0;
        while (from < chunk.length) {
          if (atLineStart) {
            lineStart = offset + from;
            starts.addDouble(lineStart);
            rows += 1;
            atLineStart = false;
          }
          const newline = chunk.indexOf(0x0a, from);
          if (newline === -1) break;
          from = newline + 1;
          atLineStart = true;
        }
        offset += chunk.length;
        await starts.flushIfFull();
        await ids.write(chunk);
      }
      // The end of the last line, so every row's length is the next start minus its own.
      starts.addDouble(offset);
      await ids.close();
      await starts.close();
      const idsFd = openSync(idsPath, 'r');
      const startsFd = openSync(startsPath, 'r');
      return new CustomIdIndex(directory, idsFd, startsFd, rows, fstatSync(idsFd).size);
    } catch (error) {
      await ids.destroy().catch(() => undefined);
      await starts.destroy().catch(() => undefined);
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
    const length = end - start;
    if (!(length >= 0)) return undefined;
    const line = length > this.line.length ? Buffer.allocUnsafe(length) : this.line;
    if (length > 0 && readSync(this.ids, line, 0, length, start) !== length) return undefined;
    try {
      const value = JSON.parse(line.toString('utf8', 0, length)) as unknown;
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
