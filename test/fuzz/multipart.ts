/**
 * multipart/form-data bodies (RFC 7578), well-formed or deliberately broken, as raw bytes.
 */

export interface FormPart {
  name: string;
  /** Present → a file part. Raw bytes allow invalid UTF-8 and NUL in the header. */
  filename?: string | Buffer;
  contentType?: string;
  data: Buffer;
  /** Replaces the part's header block entirely (junk headers). */
  rawHeaders?: Buffer;
}

export function field(name: string, value: string | Buffer): FormPart {
  return { name, data: Buffer.isBuffer(value) ? value : Buffer.from(value) };
}

export function filePart(data: Buffer, filename: string | Buffer = 'fuzz.txt', contentType = 'text/plain'): FormPart {
  return { name: 'file', filename, contentType, data };
}

function partHeaders(part: FormPart): Buffer {
  if (part.rawHeaders) return part.rawHeaders;
  const disposition = [Buffer.from(`Content-Disposition: form-data; name="${part.name}"`)];
  if (part.filename !== undefined) disposition.push(Buffer.from('; filename="'), Buffer.from(part.filename), Buffer.from('"'));
  const type = part.contentType ? `\r\nContent-Type: ${part.contentType}` : '';
  return Buffer.concat([...disposition, Buffer.from(type)]);
}

export interface FormOptions {
  /** Leave out the closing `--boundary--`. */
  noFinalBoundary?: boolean;
  /** Bytes after the closing boundary. */
  epilogue?: Buffer;
}

export function buildForm(boundary: string, parts: readonly FormPart[], options: FormOptions = {}): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`), partHeaders(part), Buffer.from('\r\n\r\n'), part.data, Buffer.from('\r\n'));
  }
  if (!options.noFinalBoundary) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  if (options.epilogue) chunks.push(options.epilogue);
  return Buffer.concat(chunks);
}

/** Offset of the middle of the file part's data in a built form (for cutting mid-file). */
export function midFileOffset(body: Buffer, boundary: string): number {
  const marker = body.indexOf('filename=');
  if (marker === -1) return Math.floor(body.length / 2);
  const dataStart = body.indexOf('\r\n\r\n', marker) + 4;
  const dataEnd = body.indexOf(`\r\n--${boundary}`, dataStart);
  const end = dataEnd === -1 ? body.length : dataEnd;
  return dataStart + Math.max(1, Math.floor((end - dataStart) / 2));
}
