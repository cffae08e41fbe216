/**
 * The two GCS JSON API upload flows the adapter uses (docs/wire-formats.md §3.2).
 *
 * `uploadType=media` (what LiteLLM sends) cannot carry custom metadata, and the adapter needs
 * `metadata.purpose` / `metadata.filename` to answer retrieve. So:
 * - known length → `uploadType=multipart`: one streamed `multipart/related` request (JSON
 *   metadata part + media part) with an exact Content-Length; object and metadata appear
 *   atomically and nothing is buffered;
 * - unknown length → `uploadType=resumable`, sent in fixed-size chunks
 *   (`Content-Range: bytes a-b/*`, answered 308, then `bytes a-b/total`). That is GCS's
 *   documented way to stream a body of unknown size; memory stays at one chunk. An abandoned
 *   session never becomes an object, so a failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import type { CallContext } from '../../core/call-context.ts';
import type { UploadBody } from '../provider-adapter.ts';
import { framedBody } from '../shared/framed-body.ts';
import { readObject, type GcsClient, type GcsObject } from './gcs-client.ts';

export interface ObjectUpload {
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string>;
  body: UploadBody;
  /**
   * Request precondition (cloud.google.com/storage/docs/request-preconditions), resumable only:
   * `'0'` stores the object only if none exists yet; otherwise GCS answers 412.
   */
  ifGenerationMatch?: string;
}

export async function uploadMultipart(client: GcsClient, upload: ObjectUpload, context: CallContext): Promise<GcsObject> {
  const boundary = `unifile_${randomBytes(16).toString('hex')}`;
  const resource = JSON.stringify({ name: upload.name, contentType: upload.contentType, metadata: upload.metadata });
  const head = Buffer.from(
    `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${resource}\r\n` +
      `--${boundary}\r\nContent-Type: ${upload.contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + (upload.body.bytes ?? 0) + tail.length;
  const response = await client.send(
    {
      operation: 'files.upload',
      method: 'POST',
      url: client.uploadUrl(upload.bucket, 'multipart'),
      headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'content-length': String(length) },
      // undici checks the bytes sent against Content-Length, so a body that changed size fails.
      body: () => framedBody(head, () => upload.body.open(), () => tail),
      expect: [200],
      pool: 'upload', // file bytes: kept off the pool of short calls (upstream-client.ts)
    },
    context,
  );
  return readObject(response, client, context);
}

/** A body for the resumable flow: any source of bytes or strings (a converter's generator, a stream). */
export interface ResumableBody {
  open(): AsyncIterable<Buffer | Uint8Array | string>;
}

export async function uploadResumable(client: GcsClient, upload: Omit<ObjectUpload, 'body'> & { body: ResumableBody }, context: CallContext): Promise<GcsObject> {
  const resource = JSON.stringify({ name: upload.name, contentType: upload.contentType, metadata: upload.metadata });
  const start = await client.send(
    {
      operation: 'files.upload.start',
      method: 'POST',
      url: client.uploadUrl(upload.bucket, 'resumable') + (upload.ifGenerationMatch === undefined ? '' : `&ifGenerationMatch=${encodeURIComponent(upload.ifGenerationMatch)}`),
      headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': upload.contentType },
      body: () => resource,
      idempotent: true, // opening a session creates nothing until bytes arrive
      expect: [200, 201],
    },
    context,
  );
  await start.body.dump();
  const sessionUrl = sameOriginSession(client, start.headers.location);

  const chunkBytes = client.options.resumableChunkBytes;
  // One chunk buffer, filled by copying and reused after each PUT: memory stays at one chunk.
  const buffer = Buffer.allocUnsafe(chunkBytes);
  let filled = 0;
  let offset = 0;
  // for-await closes the source (return(): a stream is destroyed) when the loop ends early or throws.
  for await (const chunk of upload.body.open()) {
    // A string that fits is encoded straight into the chunk (converters yield strings).
    if (typeof chunk === 'string' && filled < chunkBytes && Buffer.byteLength(chunk) <= chunkBytes - filled) {
      filled += buffer.write(chunk, filled);
      continue;
    }
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (data.length > 0) {
      // Send a full chunk only once more bytes follow: the last chunk must carry the total.
      if (filled === chunkBytes) {
        offset = await putChunk({ client, sessionUrl, piece: buffer, offset, context });
        filled = 0;
      }
      const copied = data.copy(buffer, filled, 0, Math.min(data.length, chunkBytes - filled));
      filled += copied;
      data = data.subarray(copied);
    }
  }
  const last = buffer.subarray(0, filled);
  const total = offset + last.length;
  const response = await client.send(
    {
      operation: 'files.upload.chunk',
      method: 'PUT',
      url: sessionUrl,
      headers: {
        'content-range': last.length === 0 ? `bytes */${total}` : `bytes ${offset}-${total - 1}/${total}`,
        'content-length': String(last.length),
      },
      body: () => last,
      expect: [200, 201],
    },
    context,
  );
  return readObject(response, client, context);
}

/** PUTs one non-final chunk, re-sending whatever part GCS reports as not persisted. */
async function putChunk(input: {
  client: GcsClient;
  sessionUrl: string;
  piece: Buffer;
  offset: number;
  context: CallContext;
}): Promise<number> {
  const { client, sessionUrl, piece, context } = input;
  const end = input.offset + piece.length;
  let offset = input.offset;
  for (let stalled = 0; offset < end && stalled < 3; ) {
    const part = piece.subarray(offset - input.offset);
    const response = await client.send(
      {
        operation: 'files.upload.chunk',
        method: 'PUT',
        url: sessionUrl,
        headers: { 'content-range': `bytes ${offset}-${end - 1}/*`, 'content-length': String(part.length) },
        body: () => part,
        expect: [308],
      },
      context,
    );
    await response.body.dump();
    // 308 `Range: bytes=0-N` says N+1 bytes are stored; no Range header means none are.
    const match = /^bytes=0-(\d+)$/.exec(String(response.headers.range ?? ''));
    const persisted = match ? Number(match[1]) + 1 : 0;
    stalled = persisted > offset ? 0 : stalled + 1;
    offset = Math.max(offset, persisted);
  }
  if (offset < end) {
    throw client.malformed('Cloud Storage stopped accepting the resumable upload');
  }
  return offset;
}

/** The session URI must stay on the configured host: our token and bytes go nowhere else. */
function sameOriginSession(client: GcsClient, location: string | string[] | undefined): string {
  const base = new URL(client.options.apiBase);
  const value = Array.isArray(location) ? location[0] : location;
  const url = value ? new URL(value, base) : undefined;
  if (!url || url.origin !== base.origin) {
    throw client.malformed('Cloud Storage gave no usable resumable session URI');
  }
  return url.toString();
}
