/**
 * Splits a byte stream into JSONL lines by scanning the bytes for `\n` and decoding each line
 * on its own (a UTF-8 multi-byte sequence never contains the byte 0x0A, so no character is
 * cut). Memory: the current chunk plus the bytes of one unfinished line.
 *
 * Decoding per line instead of appending every decoded chunk to one pending string matters for
 * large files: a decoded 256 KiB chunk and each flattened "rest + next chunk" string are V8
 * large objects (over ~128 KiB), which young-generation GC does not reuse like ordinary
 * allocations — a 100 MB batch file made ~300 MB of them and pushed the heap up by tens of
 * MiB (BENCHMARKS.md, "Vertex AI batch through the gateway"). Line strings of a few KiB are
 * ordinary young objects.
 */
import { isUtf8 } from 'node:buffer';

export interface JsonlLine {
  /** The line without its `\n` (and without a trailing `\r`). */
  line: string;
  /** 1-based, counting blank lines too. */
  number: number;
}

export interface JsonlLineOptions {
  maxLineBytes: number;
  /** The error for a line over maxLineBytes. */
  tooLong: (number: number) => Error;
  /** When given, a line that is not valid UTF-8 throws this; otherwise bad bytes become U+FFFD. */
  invalidUtf8?: (number: number) => Error;
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * The splitting itself, one chunk at a time and synchronously: `push(chunk, onLine)` calls
 * `onLine` for every line the chunk completes, `end(onLine)` for an unfinished last line. No
 * promise or iterator result per line, which matters when a 100 MB file has 100k lines
 * (BENCHMARKS.md, "Vertex AI batch through the gateway"). `chunk` may be reused by its source
 * once `push` returns: the bytes of an unfinished line are copied.
 */
export class JsonlSplitter {
  private carry: Buffer[] = [];
  private carried = 0;
  /** Lines seen so far (1-based number of the last one). */
  number = 0;

  constructor(private readonly options: JsonlLineOptions) {}

  push(raw: Buffer | Uint8Array | string, onLine: (line: string, number: number) => void): void {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    let newline = chunk.indexOf(LF, start);
    while (newline !== -1) {
      this.number += 1;
      let bytes = chunk.subarray(start, newline);
      if (this.carried > 0) {
        bytes = Buffer.concat([...this.carry, bytes], this.carried + bytes.length);
        this.carry = [];
        this.carried = 0;
      }
      if (bytes.length > this.options.maxLineBytes) throw this.options.tooLong(this.number);
      onLine(this.decode(bytes), this.number);
      start = newline + 1;
      newline = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) {
      // Copied: a source may reuse its chunk buffer once we ask for the next one.
      this.carry.push(Buffer.from(chunk.subarray(start)));
      this.carried += chunk.length - start;
      if (this.carried > this.options.maxLineBytes) throw this.options.tooLong(this.number + 1);
    }
  }

  end(onLine: (line: string, number: number) => void): void {
    if (this.carried === 0) return;
    this.number += 1;
    const bytes = Buffer.concat(this.carry, this.carried);
    this.carry = [];
    this.carried = 0;
    onLine(this.decode(bytes), this.number);
  }

  private decode(bytes: Buffer): string {
    let start = 0;
    // A UTF-8 byte order mark opens the stream at most once (TextDecoder drops it too).
    if (this.number === 1 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    let end = bytes.length;
    if (end > start && bytes[end - 1] === CR) end -= 1;
    const piece = bytes.subarray(start, end);
    if (this.options.invalidUtf8 && !isUtf8(piece)) throw this.options.invalidUtf8(this.number);
    return piece.toString('utf8');
  }
}

/**
 * The lines of a byte stream, one at a time, each decoded only when its consumer asks for it:
 * decoding a whole chunk's lines ahead would keep them all alive while the consumer works
 * through them, long enough for V8 to promote them to the old generation (BENCHMARKS.md,
 * "Vertex AI batch through the gateway": +50 MiB at a managed upload's line check).
 */
export async function* jsonlLines(source: AsyncIterable<Buffer | Uint8Array | string>, options: JsonlLineOptions): AsyncGenerator<JsonlLine> {
  let carry: Buffer[] = [];
  let carried = 0;
  let number = 0;
  const decode = (bytes: Buffer): string => {
    let start = 0;
    // A UTF-8 byte order mark opens the stream at most once (TextDecoder drops it too).
    if (number === 1 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    let end = bytes.length;
    if (end > start && bytes[end - 1] === CR) end -= 1;
    const piece = bytes.subarray(start, end);
    if (options.invalidUtf8 && !isUtf8(piece)) throw options.invalidUtf8(number);
    return piece.toString('utf8');
  };
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    let newline = chunk.indexOf(LF, start);
    while (newline !== -1) {
      number += 1;
      let bytes = chunk.subarray(start, newline);
      if (carried > 0) {
        bytes = Buffer.concat([...carry, bytes], carried + bytes.length);
        carry = [];
        carried = 0;
      }
      if (bytes.length > options.maxLineBytes) throw options.tooLong(number);
      yield { line: decode(bytes), number };
      start = newline + 1;
      newline = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) {
      // Copied: a source may reuse its chunk buffer once we ask for the next one.
      carry.push(Buffer.from(chunk.subarray(start)));
      carried += chunk.length - start;
      if (carried > options.maxLineBytes) throw options.tooLong(number + 1);
    }
  }
  if (carried > 0) {
    number += 1;
    yield { line: decode(Buffer.concat(carry, carried)), number };
  }
}
