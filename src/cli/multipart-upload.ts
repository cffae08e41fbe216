/**
 * POST a file from disk as multipart/form-data, streamed: the form's fields first (so the
 * gateway can stream a plain upload straight to its provider, README "Endpoints"), then the
 * file read in 256 KiB chunks, with an exact Content-Length. Nothing is buffered beyond a chunk;
 * every chunk handed to the connection is counted for the progress bar.
 *
 * node:http is used rather than the `openai` client, which builds its form from a Blob and gives
 * no way to count the bytes it sends, and rather than undici or fetch: undici's module alone
 * costs the process ~20 MiB, and fetch read a streamed body far ahead of the socket (1.1 GiB
 * resident for a 1 GiB file, measured); a pipeline into the request honours its backpressure.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const CHUNK_BYTES = 256 * 1024;

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
    for await (const chunk of createReadStream(upload.filePath, { highWaterMark: CHUNK_BYTES })) {
      upload.onBytes((chunk as Buffer).length);
      yield chunk as Buffer;
    }
    yield tail;
    upload.onBodySent();
  }
  const url = new URL(upload.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = send(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${upload.apiKey}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + upload.fileBytes + tail.length),
        },
      },
      (response: IncomingMessage) => {
        answered = true;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk.length + text.length <= 1024 * 1024 ? chunk : ''));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body: text });
          // An early refusal (e.g. 413) needs no more of the body.
          request.destroy();
        });
        response.on('error', reject);
      },
    );
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    // A refusal before the whole body was sent ends the pipeline with a broken pipe: the answer counts.
    pipeline(Readable.from(body(), { objectMode: false, highWaterMark: CHUNK_BYTES }), request).catch((error: unknown) => {
      if (!answered) reject(error);
    });
  });
}
