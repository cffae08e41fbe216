/** MIME type of an upload: from the part, else from the filename, else sniffed (README "Endpoints" (managed files)). */
import { extname } from 'node:path';

const BY_EXTENSION: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.jsonl': 'application/jsonl',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.mp4': 'video/mp4',
};

const SIGNATURES: Array<[number[], string]> = [
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 'application/pdf'],
  [[0x89, 0x50, 0x4e, 0x47], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
];

const GENERIC = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

export function sniffMimeType(head: Buffer): string {
  for (const [signature, type] of SIGNATURES) {
    if (signature.every((byte, index) => head[index] === byte)) return type;
  }
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  const text = head.toString('utf8');
  if (head.length > 0 && !text.includes('\uFFFD') && !/[\x00-\x08\x0e-\x1f]/.test(text)) {
    return text.trimStart().startsWith('{') ? 'application/jsonl' : 'text/plain';
  }
  return 'application/octet-stream';
}

export function resolveMimeType(input: { partType?: string; filename: string; head: Buffer }): string {
  const partType = (input.partType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!GENERIC.has(partType)) return partType;
  const byName = BY_EXTENSION[extname(input.filename).toLowerCase()];
  return byName ?? sniffMimeType(input.head);
}
