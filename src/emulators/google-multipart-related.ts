/**
 * A streaming reader for GCS `uploadType=multipart` bodies (docs/wire-formats.md §3.2): `multipart/related`
 * with exactly two parts, the JSON object resource and then the media. The metadata part is
 * small and read whole; the media part is passed chunk by chunk to a sink while the closing
 * delimiter is searched for, keeping only a delimiter's length of look-behind in memory.
 * (busboy, which the kit uses, only parses multipart/form-data.)
 */

/** The body is not a usable multipart/related upload; the route answers 400. */
export class RelatedBodyError extends Error {}

const HEADER_END = Buffer.from('\r\n\r\n');
const METADATA_LIMIT = 1024 * 1024;

export interface RelatedUpload {
  /** Text of the first (metadata) part. */
  metadataText: string;
  /** Content-Type of the media part, when it had one. */
  mediaType: string | undefined;
}

export function relatedBoundary(contentType: string): string | undefined {
  if (!/^multipart\/related\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

export async function readRelatedUpload(input: {
  body: AsyncIterable<Buffer>;
  boundary: string;
  onMedia: (chunk: Buffer) => Promise<void>;
}): Promise<RelatedUpload> {
  const delimiter = Buffer.from(`\r\n--${input.boundary}`);
  // A virtual CRLF in front lets the first boundary line match the same delimiter as the others.
  const reader = new ByteReader(input.body, Buffer.from('\r\n'));
  await reader.readUntil(delimiter, 64 * 1024); // preamble, ignored
  const metadataHeaders = parseHeaders(await reader.readUntil(HEADER_END, 64 * 1024));
  const metadataText = (await reader.readUntil(delimiter, METADATA_LIMIT)).toString('utf8');
  if (metadataHeaders['content-type'] !== undefined && !/json/i.test(metadataHeaders['content-type'])) {
    throw new RelatedBodyError('the first part must be the JSON object metadata');
  }
  const mediaHeaders = parseHeaders(await reader.readUntil(HEADER_END, 64 * 1024));
  await reader.pipeUntil(delimiter, input.onMedia);
  const close = await reader.read(2);
  if (close.toString('latin1') !== '--') throw new RelatedBodyError('expected exactly two parts (metadata and media)');
  await reader.drain(); // epilogue
  return { metadataText, mediaType: mediaHeaders['content-type'] };
}

/** `\r\nName: value\r\nName: value` (what follows a boundary line) → lower-cased map. */
function parseHeaders(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

class ByteReader {
  #buffer: Buffer;
  readonly #iterator: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>, initial: Buffer) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#buffer = initial;
  }

  async #more(): Promise<void> {
    const next = await this.#iterator.next();
    if (next.done) throw new RelatedBodyError('unexpected end of multipart body');
    this.#buffer = this.#buffer.length === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
  }

  /** Everything before `delimiter` (consumed too); more than `limit` bytes is an error. */
  async readUntil(delimiter: Buffer, limit: number): Promise<Buffer> {
    let from = 0;
    for (;;) {
      const index = this.#buffer.indexOf(delimiter, from);
      if (index >= 0) {
        const head = this.#buffer.subarray(0, index);
        this.#buffer = this.#buffer.subarray(index + delimiter.length);
        return head;
      }
      if (this.#buffer.length > limit) throw new RelatedBodyError('multipart part headers or metadata too large');
      from = Math.max(0, this.#buffer.length - delimiter.length + 1);
      await this.#more();
    }
  }

  /** Streams everything before `delimiter` to `sink`, holding back only a possible partial match. */
  async pipeUntil(delimiter: Buffer, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    for (;;) {
      const index = this.#buffer.indexOf(delimiter);
      if (index >= 0) {
        if (index > 0) await sink(this.#buffer.subarray(0, index));
        this.#buffer = this.#buffer.subarray(index + delimiter.length);
        return;
      }
      const safe = this.#buffer.length - delimiter.length + 1;
      if (safe > 0) {
        await sink(this.#buffer.subarray(0, safe));
        this.#buffer = this.#buffer.subarray(safe);
      }
      await this.#more();
    }
  }

  async read(count: number): Promise<Buffer> {
    while (this.#buffer.length < count) await this.#more();
    const head = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return head;
  }

  async drain(): Promise<void> {
    for (let next = await this.#iterator.next(); !next.done; next = await this.#iterator.next()) {
      // discard
    }
  }
}
