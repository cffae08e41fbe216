/**
 * The benchmark client: node:http requests that stream a file from disk inside a multipart
 * body (never buffering it), and downloads that hash the bytes as they arrive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';

/**
 * `sdk`: the file part first, then the text fields (what the openai SDKs send);
 * `curl`: the text fields first, then the file (`curl -F purpose=… -F file=@…`).
 */
export type FieldOrder = 'sdk' | 'curl';

export interface UploadResult {
  status: number;
  body: string;
  seconds: number;
  /** Payload megabytes (10^6 bytes) per second over the whole request/response. */
  mbPerSecond: number;
}

export interface MultipartUpload {
  url: string;
  key: string;
  filePath: string;
  fileBytes: number;
  filename: string;
  fields: Array<[string, string]>;
  order: FieldOrder;
}

export async function uploadMultipart(upload: MultipartUpload): Promise<UploadResult> {
  const boundary = `----unifile-bench-${randomBytes(12).toString('hex')}`;
  const fieldParts = upload.fields.map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  const fileHead = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${upload.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const closing = `--${boundary}--\r\n`;
  const before = Buffer.from(upload.order === 'curl' ? fieldParts.join('') + fileHead : fileHead);
  const after = Buffer.from(upload.order === 'curl' ? `\r\n${closing}` : `\r\n${fieldParts.join('')}${closing}`);
  const length = before.length + upload.fileBytes + after.length;

  const started = performance.now();
  const outgoing = request(upload.url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${upload.key}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(length),
    },
  });
  const answered = new Promise<IncomingMessage>((resolve, reject) => outgoing.once('response', resolve).once('error', reject));
  answered.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
  outgoing.write(before);
  try {
    // The request is the only sink: backpressure keeps the client at a few MiB whatever the file size.
    await pipeline(createReadStream(upload.filePath, { highWaterMark: 1024 * 1024 }), outgoing, { end: false });
    outgoing.end(after);
  } catch (error) {
    // A server that answers early (413, 400) may close while we still write: keep its answer.
    if (!outgoing.destroyed) throw error;
  }
  const response = await answered;
  const body = await readText(response);
  const seconds = (performance.now() - started) / 1000;
  return { status: response.statusCode ?? 0, body, seconds, mbPerSecond: upload.fileBytes / 1e6 / seconds };
}

export interface DownloadResult {
  status: number;
  bytes: number;
  sha256: string;
  seconds: number;
  mbPerSecond: number;
}

/** GETs `url`, hashing and counting the body as it streams in. */
export async function download(url: string, key: string): Promise<DownloadResult> {
  const started = performance.now();
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    request(url, { headers: { authorization: `Bearer ${key}` } }, resolve).once('error', reject).end();
  });
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  const seconds = (performance.now() - started) / 1000;
  return { status: response.statusCode ?? 0, bytes, sha256: hash.digest('hex'), seconds, mbPerSecond: bytes / 1e6 / seconds };
}

async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
