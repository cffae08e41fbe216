/**
 * What the OpenAI and Azure OpenAI emulators share: the multipart upload contract of
 * `POST /files` (docs/wire-formats.md §1.4, §2.2, §2.3), cursor paging of `GET /files` (§1.5, §1.8)
 * and id minting. Validation problems come back as plain data; each emulator wraps them in
 * its own error envelope.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { EmulatorExchange } from './emulator-exchange.ts';
import type { FileStore, StoredBlob } from './emulator-files-store.ts';
import { MultipartError, parseMultipart } from './emulator-multipart.ts';

export interface FileMeta {
  filename: string;
  purpose: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds, or null when the file never expires. */
  expiresAt: number | null;
  contentType: string;
  /** How many times the file was retrieved (drives Azure's pending → processed). */
  retrieves: number;
}

export type FilesStore = FileStore<FileMeta>;
export type StoredFile = StoredBlob<FileMeta>;

/** A 400 in OpenAI terms (message/param/code); Azure maps it onto its own envelope. */
export interface Problem {
  message: string;
  param: string | null;
  code: string | null;
}

export interface UploadRules {
  /** Accepted upload purposes, in the order quoted by the error message. */
  purposes: readonly string[];
  /** Also accept `expires_after.anchor` / `expires_after.seconds` (Azure docs' curl, docs/wire-formats.md §2.3). */
  dottedExpiry: boolean;
  /** Allowed `expires_after.seconds` for a purpose. */
  expiryRange: (purpose: string) => { min: number; max: number };
  /** Expiry applied when the client sent none (OpenAI: batch files +30 days, docs/wire-formats.md §1.4). */
  defaultExpirySeconds: (purpose: string) => number | null;
  newId: () => string;
}

export type UploadResult = { ok: true; file: StoredFile } | { ok: false; problem: Problem };

const BRACKET = { anchor: 'expires_after[anchor]', seconds: 'expires_after[seconds]' };
const DOTTED = { anchor: 'expires_after.anchor', seconds: 'expires_after.seconds' };

/** Receives a multipart upload into the store, or explains (without storing) why it is refused. */
export async function receiveUpload(exchange: EmulatorExchange, store: FilesStore, rules: UploadRules): Promise<UploadResult> {
  let form;
  try {
    form = await parseMultipart(exchange);
  } catch (error) {
    if (error instanceof MultipartError) return { ok: false, problem: { message: error.message, param: null, code: null } };
    throw error;
  }
  const [file, ...extraFiles] = form.files.filter((part) => part.field === 'file');
  const discard = async (): Promise<void> => {
    await Promise.all(form.files.map((part) => rm(part.path, { force: true })));
  };
  const problem = validateUpload(form.fields, form.files.map((part) => part.field), rules);
  if (problem || !file) {
    await discard();
    return { ok: false, problem: problem ?? missing('file') };
  }
  await Promise.all(extraFiles.map((part) => rm(part.path, { force: true })));
  const purpose = last(form.fields['purpose'])!;
  const createdAt = Math.floor(Date.now() / 1000);
  const seconds = expirySeconds(form.fields, rules.dottedExpiry) ?? rules.defaultExpirySeconds(purpose);
  const stored = await store.adopt({
    id: rules.newId(),
    tempPath: file.path,
    bytes: file.bytes,
    sha256: file.sha256,
    meta: {
      filename: file.filename,
      purpose,
      createdAt,
      expiresAt: seconds === null ? null : createdAt + seconds,
      contentType: file.contentType,
      retrieves: 0,
    },
  });
  return { ok: true, file: stored };
}

function validateUpload(fields: Record<string, string[]>, fileFields: string[], rules: UploadRules): Problem | undefined {
  // OpenAI's CreateFileRequest has additionalProperties:false and the API names the first
  // unknown parameter; this is what lets gateway tests prove no gateway field leaks through.
  const known = new Set<string>(['file', 'purpose', BRACKET.anchor, BRACKET.seconds]);
  if (rules.dottedExpiry) known.add(DOTTED.anchor).add(DOTTED.seconds);
  for (const name of [...Object.keys(fields), ...fileFields]) {
    if (!known.has(name)) return { message: `Unknown parameter: '${name}'.`, param: name, code: 'unknown_parameter' };
  }
  if (fields['file'] !== undefined) {
    return { message: "Invalid type for 'file': expected a file, but got a string instead.", param: 'file', code: 'invalid_type' };
  }
  if (!fileFields.includes('file')) return missing('file');
  const purpose = last(fields['purpose']);
  if (purpose === undefined) return missing('purpose');
  if (!rules.purposes.includes(purpose)) {
    const supported = rules.purposes.map((value) => `'${value}'`).join(', ');
    return { message: `Invalid value: '${purpose}'. Supported values are: ${supported}.`, param: 'purpose', code: 'invalid_value' };
  }
  const anchor = pick(fields, 'anchor', rules.dottedExpiry);
  const seconds = pick(fields, 'seconds', rules.dottedExpiry);
  if (anchor === undefined && seconds === undefined) return undefined;
  // Both are required as soon as either is present (docs/wire-formats.md §1.4).
  if (anchor === undefined) return missing('expires_after.anchor');
  if (seconds === undefined) return missing('expires_after.seconds');
  if (anchor !== 'created_at') {
    return { message: `Invalid value: '${anchor}'. Supported values are: 'created_at'.`, param: 'expires_after.anchor', code: 'invalid_value' };
  }
  if (!/^-?\d+$/.test(seconds)) {
    return { message: "Invalid type for 'expires_after.seconds': expected an integer, but got a string instead.", param: 'expires_after.seconds', code: 'invalid_type' };
  }
  return checkRange('expires_after.seconds', Number(seconds), rules.expiryRange(purpose));
}

function expirySeconds(fields: Record<string, string[]>, dotted: boolean): number | null {
  const seconds = pick(fields, 'seconds', dotted);
  return seconds === undefined ? null : Number(seconds);
}

function pick(fields: Record<string, string[]>, key: 'anchor' | 'seconds', dotted: boolean): string | undefined {
  return last(fields[BRACKET[key]]) ?? (dotted ? last(fields[DOTTED[key]]) : undefined);
}

function last(values: string[] | undefined): string | undefined {
  return values?.[values.length - 1];
}

function missing(param: string): Problem {
  return { message: `Missing required parameter: '${param}'.`, param, code: 'missing_required_parameter' };
}

/** OpenAI's wording for integer bounds. */
export function checkRange(param: string, value: number, range: { min: number; max: number }): Problem | undefined {
  if (value < range.min) {
    return { message: `Invalid '${param}': integer below minimum value. Expected a value >= ${range.min}, but got ${value} instead.`, param, code: 'integer_below_min_value' };
  }
  if (value > range.max) {
    return { message: `Invalid '${param}': integer above maximum value. Expected a value <= ${range.max}, but got ${value} instead.`, param, code: 'integer_above_max_value' };
  }
  return undefined;
}

export interface ListQuery {
  purpose: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
  after: string | undefined;
}

/** Parses OpenAI's list parameters (docs/wire-formats.md §1.5): limit 1..10000 default 10000, order default desc. */
export function parseListQuery(query: URLSearchParams): { ok: true; value: ListQuery } | { ok: false; problem: Problem } {
  const limitText = query.get('limit');
  let limit = 10000;
  if (limitText !== null) {
    if (!/^-?\d+$/.test(limitText)) {
      return { ok: false, problem: { message: "Invalid type for 'limit': expected an integer, but got a string instead.", param: 'limit', code: 'invalid_type' } };
    }
    limit = Number(limitText);
    const problem = checkRange('limit', limit, { min: 1, max: 10000 });
    if (problem) return { ok: false, problem };
  }
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    return { ok: false, problem: { message: `Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`, param: 'order', code: 'invalid_value' } };
  }
  return { ok: true, value: { purpose: query.get('purpose') ?? undefined, limit, order, after: query.get('after') ?? undefined } };
}

/** Sorts by created_at then id (the tie-break), in the requested direction. */
export function sortFiles(files: StoredFile[], order: 'asc' | 'desc'): StoredFile[] {
  const sign = order === 'asc' ? 1 : -1;
  return [...files].sort((a, b) => sign * (a.meta.createdAt - b.meta.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
}

/**
 * One cursor page: items strictly after `after` in the current order (openai-node sends the
 * last item's id, docs/wire-formats.md §1.8). An unknown cursor yields an empty page.
 */
export function pageFiles(files: StoredFile[], query: ListQuery): { data: StoredFile[]; hasMore: boolean } {
  const filtered = sortFiles(
    files.filter((file) => query.purpose === undefined || file.meta.purpose === query.purpose),
    query.order,
  );
  let start = 0;
  if (query.after !== undefined) {
    const index = filtered.findIndex((file) => file.id === query.after);
    if (index < 0) return { data: [], hasMore: false };
    start = index + 1;
  }
  const data = filtered.slice(start, start + query.limit);
  return { data, hasMore: start + data.length < filtered.length };
}

/** `attachment` with an ASCII fallback and the exact UTF-8 name (RFC 6266). */
export function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random characters from [A-Za-z0-9] (rejection sampling keeps them uniform). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
}
