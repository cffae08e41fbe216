/**
 * Streaming request bodies to disk. File parts of a multipart form (and raw upload bodies) go
 * straight to temp files while their sha256 and size are computed: a 1 GiB benchmark upload
 * passes through the emulator at constant memory. Fields may come before or after the file.
 */
import { Busboy } from '@fastify/busboy';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EmulatorExchange } from './emulator-exchange.ts';

/** The body is not a usable multipart form; emulators answer 400 in their own envelope. */
export class MultipartError extends Error {}

export interface ReceivedFile {
  field: string;
  /** From the part's Content-Disposition filename; '' when the part had none. */
  filename: string;
  /** The part's Content-Type as busboy reports it (text/plain when the part has none, RFC 7578). */
  contentType: string;
  bytes: number;
  sha256: string;
  /** Temp file holding the bytes (inside the emulator's temp dir); adopt it into a store or delete it. */
  path: string;
}

export interface ParsedForm {
  fields: Record<string, string[]>;
  files: ReceivedFile[];
}

export interface SavedBody {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Parses a multipart/form-data body, records the form on the call and returns fields and files.
 * Throws MultipartError for a non-multipart or malformed body (temp files already removed).
 */
export async function parseMultipart(exchange: EmulatorExchange): Promise<ParsedForm> {
  const contentType = exchange.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new MultipartError(`expected multipart/form-data, got '${contentType || 'no content type'}'`);
  }
  const form: ParsedForm = { fields: {}, files: [] };
  const writes: Array<Promise<void>> = [];
  const partStreams: Readable[] = [];
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({ headers: { ...exchange.headers, 'content-type': contentType }, limits: { fieldSize: 1024 * 1024 } });
  } catch (error) {
    throw new MultipartError(`malformed multipart request: ${(error as Error).message}`);
  }
  parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
    if (valueTruncated) parser.destroy(new MultipartError(`form field '${name}' is larger than 1 MiB`));
    (form.fields[name] ??= []).push(value);
  });
  parser.on('file', (field, stream, filename, _encoding, mimeType) => {
    const path = join(exchange.tempDir, `part-${randomUUID()}`);
    const entry: ReceivedFile = { field, filename: filename ?? '', contentType: mimeType || 'application/octet-stream', bytes: 0, sha256: '', path };
    form.files.push(entry);
    partStreams.push(stream);
    writes.push(
      writeHashed(stream, path).then(
        ({ bytes, sha256 }) => {
          entry.bytes = bytes;
          entry.sha256 = sha256;
        },
        (error: unknown) => {
          parser.destroy(error as Error); // unblocks the outer pipeline so the failure surfaces
          throw error;
        },
      ),
    );
  });
  try {
    await pipeline(exchange.body, parser);
    await Promise.all(writes);
  } catch (error) {
    // A destroyed parser leaves its open file part hanging: end it so its write settles.
    for (const stream of partStreams) if (!stream.readableEnded) stream.destroy(error as Error);
    await Promise.allSettled(writes);
    await Promise.all(form.files.map((file) => rm(file.path, { force: true })));
    if (error instanceof MultipartError) throw error;
    throw new MultipartError(`malformed multipart request: ${(error as Error).message}`);
  }
  exchange.recordForm({
    fields: form.fields,
    files: form.files.map(({ field, filename, contentType: type, bytes, sha256 }) => ({ field, filename, contentType: type, bytes, sha256 })),
  });
  return form;
}

/** Streams the raw request body to a temp file (e.g. a GCS media upload). */
export async function saveBodyToFile(exchange: EmulatorExchange): Promise<SavedBody> {
  const path = join(exchange.tempDir, `body-${randomUUID()}`);
  try {
    return { path, ...(await writeHashed(exchange.body, path)) };
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
}

async function writeHashed(source: Readable, path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(source, counter, createWriteStream(path));
  return { bytes, sha256: hash.digest('hex') };
}
