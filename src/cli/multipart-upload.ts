/**
 * POST a file from disk as multipart/form-data, streamed: the form's fields first (so the
 * gateway can stream a plain upload straight to its provider, README "Endpoints"), then the
 * file read in 1 MiB chunks, with an exact Content-Length. Nothing is buffered beyond a chunk;
 * every chunk handed to the connection is counted for the progress bar.
 *
 * undici's `request` is used rather than the `openai` client: the client builds its form from a
 * Blob and gives no way to count the bytes it sends.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';

export interface MultipartUpload {
  url: string;
  apiKey: string;
  filePath: string;
  fileBytes: number;
  /** The filename the gateway records. */
  filename: string;
  /** Sent before the file part, in order. */
  fields: Array<[string, string]>;
  /** Called with each chunk's length as it is handed to the connection. */
  onBytes(bytes: number): void;
  /** The last byte of the body was handed over; the answer is awaited. */
  onBodySent(): void;
}

/**
 * Quotes a name for Content-Disposition as browsers do for form data (WHATWG HTML, "multipart/
 * form-data encoding algorithm"): `"`, CR and LF percent-encoded, everything else UTF-8.
 */
function quoted(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

export async function uploadMultipart(upload: MultipartUpload): Promise<{ status: number; body: string }> {
  const boundary = `----unifile-cli-${randomBytes(12).toString('hex')}`;
  const fieldParts = upload.fields.map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`,
  );
  const head = Buffer.from(
    `${fieldParts.join('')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename=${quoted(upload.filename)}\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  // The gateway picks the real media type from the filename or the first bytes (README, "Files").
  async function* body(): AsyncGenerator<Buffer> {
    yield head;
    for await (const chunk of createReadStream(upload.filePath, { highWaterMark: 1024 * 1024 })) {
      upload.onBytes((chunk as Buffer).length);
      yield chunk as Buffer;
    }
    yield tail;
    upload.onBodySent();
  }
  const response = await request(upload.url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${upload.apiKey}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + upload.fileBytes + tail.length),
    },
    // Byte mode with a 1 MiB mark: at most about a chunk waits between the file and the socket.
    body: Readable.from(body(), { objectMode: false, highWaterMark: 1024 * 1024 }),
    // A managed upload is answered once every provider holds its copy: minutes for a large file.
    headersTimeout: 30 * 60 * 1000,
  });
  return { status: response.statusCode, body: await response.body.text() };
}
