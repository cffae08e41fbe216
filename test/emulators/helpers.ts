/** Small helpers shared by the emulator tests (raw HTTP where the SDKs hide the wire). */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

export interface MultipartPart {
  name: string;
  value: string | Buffer;
  filename?: string;
  contentType?: string;
}

/** A multipart body split into parts, so it can be sent chunked in the given order. */
export function multipartChunks(boundary: string, parts: MultipartPart[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      part.filename === undefined
        ? `form-data; name="${part.name}"`
        : `form-data; name="${part.name}"; filename="${part.filename}"`;
    const type = part.filename === undefined ? '' : `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    const value = Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value);
    // Large values go out in 64 KiB pieces, like a real streaming client.
    for (let offset = 0; offset < value.length; offset += 65536) chunks.push(value.subarray(offset, offset + 65536));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return chunks;
}

/** POSTs the chunks with Transfer-Encoding: chunked (no Content-Length). */
export function postChunked(
  url: string,
  headers: Record<string, string>,
  chunks: Buffer[],
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers }, (response) => {
      const received: Buffer[] = [];
      response.on('data', (chunk: Buffer) => received.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(received).toString('utf8') }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    for (const chunk of chunks) outgoing.write(chunk);
    outgoing.end();
  });
}
