/**
 * The Gemini Files API resumable upload (docs/wire-formats.md §4.2), streamed:
 * - start: `POST /upload/v1beta/files` with `X-Goog-Upload-Protocol: resumable`,
 *   `X-Goog-Upload-Command: start`, the size and type in `X-Goog-Upload-Header-Content-*`, and
 *   `{"file":{"display_name"}}` → the session URL in `x-goog-upload-url`;
 * - known length: one `upload, finalize` request at offset 0 streaming the whole body;
 * - unknown length: 8 MiB `upload` chunks (js-genai's chunk size), the last one `upload, finalize`,
 *   so memory holds at most one chunk.
 * A session that is never finalised never becomes a file, so a failure leaves nothing upstream.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { UpstreamError } from '../../core/errors.ts';
import type { CallContext, UploadInput } from '../provider-adapter.ts';
import { headerValue, type UpstreamClient } from '../shared/upstream-client.ts';
import { openAIFileId, type GeminiFileResource } from './gemini-wire.ts';

const CHUNK_BYTES = 8 * 1024 * 1024;

export async function uploadResumable(client: UpstreamClient, input: UploadInput, context: CallContext): Promise<GeminiFileResource> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-goog-upload-protocol': 'resumable',
    'x-goog-upload-command': 'start',
    // A MIME type goes into a header: anything that is not type/subtype[; params] is sent as bytes.
    'x-goog-upload-header-content-type': /^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/.test(input.mimeType) ? input.mimeType : 'application/octet-stream',
  };
  if (input.body.bytes !== undefined) headers['x-goog-upload-header-content-length'] = String(input.body.bytes);
  // A caller that journals its uploads gets the id before any byte goes out: the Files API takes
  // a chosen `files/<id>` name (lowercase letters and digits, ai.google.dev/api/files).
  const name = input.reserveId ? `files/${randomName()}` : undefined;
  const start = await client.send(
    {
      operation: 'files.upload.start',
      method: 'POST',
      path: '/upload/v1beta/files',
      headers,
      body: JSON.stringify({ file: { display_name: input.filename, ...(name ? { name } : {}) } }),
      idempotent: true, // opening a session creates nothing until it is finalised
    },
    context,
  );
  await start.body.text();
  const session = sessionPath(client, headerValue(start.headers['x-goog-upload-url']));
  if (name) await input.reserveId!(openAIFileId(name));

  const stream = input.body.open();
  try {
    if (input.body.bytes !== undefined) return await sendPart({ client, session, body: stream, bytes: input.body.bytes, offset: 0, finalize: true, context });
    return await sendChunks(client, session, stream, context);
  } finally {
    stream.destroy();
  }
}

async function sendChunks(client: UpstreamClient, session: string, stream: Readable, context: CallContext): Promise<GeminiFileResource> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    pending.push(buffer);
    pendingBytes += buffer.length;
    // Hold back more than a chunk so that the last request is the one that finalises.
    while (pendingBytes > CHUNK_BYTES) {
      const all = Buffer.concat(pending, pendingBytes);
      await sendPart({ client, session, body: all.subarray(0, CHUNK_BYTES), bytes: CHUNK_BYTES, offset, finalize: false, context });
      offset += CHUNK_BYTES;
      pending = [all.subarray(CHUNK_BYTES)];
      pendingBytes -= CHUNK_BYTES;
    }
  }
  const last = Buffer.concat(pending, pendingBytes);
  return sendPart({ client, session, body: last, bytes: last.length, offset, finalize: true, context });
}

interface Part {
  client: UpstreamClient;
  session: string;
  body: Readable | Buffer;
  bytes: number;
  offset: number;
  finalize: boolean;
  context: CallContext;
}

async function sendPart(input: Part & { finalize: false }): Promise<void>;
async function sendPart(input: Part & { finalize: true }): Promise<GeminiFileResource>;
async function sendPart(input: Part): Promise<GeminiFileResource | void> {
  const { client, finalize } = input;
  const response = await client.send(
    {
      operation: finalize ? 'files.upload.finalize' : 'files.upload.chunk',
      method: 'POST',
      path: input.session,
      headers: {
        'content-length': String(input.bytes),
        'x-goog-upload-offset': String(input.offset),
        'x-goog-upload-command': finalize ? 'upload, finalize' : 'upload',
      },
      body: input.body,
      pool: 'upload', // file bytes: kept off the pool of short calls (upstream-client.ts)
    },
    input.context,
  );
  const status = headerValue(response.headers['x-goog-upload-status']);
  if (!finalize) {
    await response.body.text();
    if (status !== 'active') throw malformed(client, `ended the upload session early (x-goog-upload-status: ${status ?? 'absent'})`);
    return;
  }
  let body: { file?: GeminiFileResource } | undefined;
  try {
    body = (await response.body.json()) as typeof body;
  } catch (error) {
    throw client.streamFailure(error, input.context);
  }
  if (status !== 'final' || !body?.file || typeof body.file.name !== 'string') throw malformed(client, 'finished the upload without a File');
  return body.file;
}

function randomName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(16)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** The session URL must stay on the configured host: our bytes (and key) go nowhere else. */
function sessionPath(client: UpstreamClient, url: string | undefined): string {
  const base = new URL(client.options.baseUrl);
  const session = url ? new URL(url, base) : undefined;
  if (!session || session.origin !== base.origin) throw malformed(client, 'gave no usable x-goog-upload-url');
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = session.pathname.startsWith(prefix) ? session.pathname.slice(prefix.length) : session.pathname;
  return path + session.search;
}

function malformed(client: UpstreamClient, message: string): UpstreamError {
  return client.malformed(message);
}
