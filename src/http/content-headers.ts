/**
 * Headers of a file download (README "Endpoints"): `Content-Disposition: attachment` with an ASCII
 * `filename` fallback and the exact name as `filename*=UTF-8''…` (RFC 6266 §4.3, RFC 8187),
 * `X-Content-Type-Options: nosniff`, a well-formed MIME type and the length when known.
 */
import type { FastifyReply } from 'fastify';

/** RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~". */
function encodeExtValue(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Lone surrogates become U+FFFD so the name always encodes. */
function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

export function contentDisposition(filename: string): string {
  // Control characters (CR/LF included) and path separators never reach the header.
  const name = wellFormed(filename).replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim() || 'download';
  const fallback = name.replace(/[^\x20-\x7e]|["%]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(name)}`;
}

const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

/** The type and subtype of a stored or upstream MIME type, or octet-stream when it is not one. */
export function safeMimeType(value: string | undefined): string {
  const essence = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return MIME_TYPE.test(essence) ? essence : 'application/octet-stream';
}

export function setDownloadHeaders(reply: FastifyReply, download: { filename: string; contentType: string; contentLength?: number }): void {
  reply.header('content-type', safeMimeType(download.contentType));
  reply.header('content-disposition', contentDisposition(download.filename));
  reply.header('x-content-type-options', 'nosniff');
  if (download.contentLength !== undefined && Number.isSafeInteger(download.contentLength) && download.contentLength >= 0) {
    reply.header('content-length', String(download.contentLength));
  }
}
