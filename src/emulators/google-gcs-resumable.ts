/**
 * GCS resumable uploads (docs/wire-formats.md §3.2): `POST …/o?uploadType=resumable` with the object
 * resource as JSON answers 200 with a `Location` session URI on this host; the bytes then go in
 * one `PUT` (whole body, with or without `Content-Range: bytes 0-n/total`) or in chunks
 * `Content-Range: bytes a-b/*` answered `308` + `Range: bytes=0-b`, the last chunk carrying the
 * total. A range of `bytes *` over a known total finalises or queries, over `*` only queries.
 * As on GCS, the session URI is itself the credential: session PUTs need no Authorization header,
 * and a session that is never finished never becomes an object.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatorExchange } from './emulator-exchange.ts';
import { HashingFile, conditionNotMet, gcsError, objectResource, type GcsBlob, type GcsObjects } from './google-gcs-store.ts';

/** GCS refuses non-final chunks smaller than 256 KiB. */
export const MIN_CHUNK_BYTES = 256 * 1024;

export interface ObjectDraft {
  bucket: string;
  name: string;
  contentType: string;
  metadata?: Record<string, string>;
  /** The `ifGenerationMatch` precondition of the upload, checked when the object is stored. */
  ifGenerationMatch?: string;
}

interface Session extends ObjectDraft {
  file: HashingFile;
  result?: GcsBlob;
  busy: boolean;
}

type ParsedRange = { kind: 'whole' } | { kind: 'query'; total: number | undefined } | { kind: 'chunk'; first: number; last: number; total: number | undefined };

export class ResumableSessions {
  readonly #sessions = new Map<string, Session>();
  readonly #objects: GcsObjects;
  readonly #baseUrl: string;

  constructor(objects: GcsObjects, baseUrl: string) {
    this.#objects = objects;
    this.#baseUrl = baseUrl;
  }

  async start(exchange: EmulatorExchange, draft: ObjectDraft): Promise<void> {
    const id = randomBytes(24).toString('base64url');
    const file = new HashingFile(join(exchange.tempDir, `gcs-session-${randomUUID()}`));
    this.#sessions.set(id, { ...draft, file, busy: false });
    const location = `${this.#baseUrl}/upload/storage/v1/b/${encodeURIComponent(draft.bucket)}/o?uploadType=resumable&upload_id=${id}`;
    await exchange.sendEmpty(200, { location, 'x-guploader-uploadid': id });
  }

  /** `DELETE` on the session URI cancels it (GCS answers 499). */
  async cancel(exchange: EmulatorExchange, id: string): Promise<void> {
    const session = this.#sessions.get(id);
    if (!session) return exchange.sendJson(404, gcsError(404, 'No such upload session.', 'notFound'));
    this.#sessions.delete(id);
    await rm(session.file.path, { force: true });
    await exchange.sendEmpty(499);
  }

  async put(exchange: EmulatorExchange, id: string): Promise<void> {
    const session = this.#sessions.get(id);
    if (!session) return exchange.sendJson(404, gcsError(404, 'No such upload session.', 'notFound'));
    if (session.result) return exchange.sendJson(200, objectResource(this.#baseUrl, session.result));
    if (session.busy) return exchange.sendJson(503, gcsError(503, 'Another request is writing to this upload session.', 'backendError'));
    const range = parseContentRange(exchange.headers['content-range']);
    if (!range) return exchange.sendJson(400, gcsError(400, 'Failed to parse Content-Range header.', 'invalid'));
    const received = session.file.bytes;
    if (range.kind === 'query') {
      if (range.total !== undefined && range.total === received) return this.#finish(exchange, id, session);
      if (range.total !== undefined && range.total < received) return badRequest(exchange, `The total of ${range.total} bytes is smaller than the ${received} bytes already received.`);
      return exchange.sendEmpty(308, rangeHeader(received));
    }
    const first = range.kind === 'whole' ? 0 : range.first;
    if (first > received) {
      return badRequest(exchange, `Invalid request. According to the Content-Range header, the upload offset is ${first} byte(s), which exceeds already uploaded size of ${received} byte(s).`);
    }
    if (range.kind === 'chunk') {
      const length = range.last - range.first + 1;
      if (range.last < range.first) return badRequest(exchange, 'Failed to parse Content-Range header.');
      if (range.total === undefined && length < MIN_CHUNK_BYTES) {
        return badRequest(
          exchange,
          `Invalid request.  The number of bytes uploaded is required to be equal or greater than ${MIN_CHUNK_BYTES}, except for the final request (it's recommended to be the exact multiple of ${MIN_CHUNK_BYTES}).  The received request contained ${length} bytes, which does not meet this requirement.`,
        );
      }
      if (range.total !== undefined && range.last + 1 !== range.total) return badRequest(exchange, 'The final chunk must end at the total size.');
    }
    session.busy = true;
    try {
      await appendBody(exchange, session.file, received - first);
    } finally {
      session.busy = false;
    }
    const total = range.kind === 'whole' ? session.file.bytes : range.total;
    if (total === undefined) return exchange.sendEmpty(308, rangeHeader(session.file.bytes));
    if (session.file.bytes !== total) {
      return badRequest(exchange, `Upload incomplete: ${session.file.bytes} of ${total} bytes received.`);
    }
    return this.#finish(exchange, id, session);
  }

  clear(): void {
    for (const session of this.#sessions.values()) void rm(session.file.path, { force: true }).catch(() => {});
    this.#sessions.clear();
  }

  async #finish(exchange: EmulatorExchange, id: string, session: Session): Promise<void> {
    if (session.file.bytes === 0) {
      await session.file.open(); // a zero-byte object still needs its (empty) file
      await session.file.close();
    }
    const result = await this.#objects.put({ ...session, file: session.file });
    if (!result) {
      this.#sessions.delete(id);
      await rm(session.file.path, { force: true });
      return exchange.sendJson(412, conditionNotMet());
    }
    session.result = result;
    // Keep the finished session so a repeated final PUT answers the object again, as GCS does.
    this.#sessions.set(id, session);
    await exchange.sendJson(200, objectResource(this.#baseUrl, session.result));
  }
}

/** Appends the request body to the session file, skipping `skip` bytes already stored. */
async function appendBody(exchange: EmulatorExchange, file: HashingFile, skip: number): Promise<void> {
  let remainingSkip = skip;
  await file.open();
  try {
    for await (const chunk of exchange.body as AsyncIterable<Buffer>) {
      if (remainingSkip >= chunk.length) {
        remainingSkip -= chunk.length;
        continue;
      }
      await file.write(remainingSkip > 0 ? chunk.subarray(remainingSkip) : chunk);
      remainingSkip = 0;
    }
    await file.close();
  } catch (error) {
    file.abandon(); // what arrived stays stored; the client resumes from the reported Range
    throw error;
  }
}

function parseContentRange(header: string | undefined): ParsedRange | undefined {
  if (header === undefined) return { kind: 'whole' };
  const query = /^bytes \*\/(\*|\d+)$/.exec(header.trim());
  if (query) return { kind: 'query', total: query[1] === '*' ? undefined : Number(query[1]) };
  const chunk = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(header.trim());
  if (!chunk) return undefined;
  return { kind: 'chunk', first: Number(chunk[1]), last: Number(chunk[2]), total: chunk[3] === '*' ? undefined : Number(chunk[3]) };
}

function rangeHeader(received: number): Record<string, string> {
  return received > 0 ? { range: `bytes=0-${received - 1}` } : {};
}

function badRequest(exchange: EmulatorExchange, message: string): Promise<void> {
  return exchange.sendJson(400, gcsError(400, message, 'invalid'));
}
