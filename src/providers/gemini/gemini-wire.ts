/**
 * Gemini API wire facts shared by the files and chat capabilities (docs/wire-formats.md §4):
 * the base URL, file names ↔ OpenAI-shaped ids, the File resource → FileObject, and the Google
 * error envelope `{"error":{"code","message","status","details"}}` read leniently.
 */
import { errors, UpstreamError } from '../../core/errors.ts';
import type { FileObject, FileStatus } from '../../core/openai-types.ts';
import { toUnixSeconds } from '../shared/normalize-file.ts';
import type { ParsedUpstreamError } from '../shared/upstream-client.ts';

export const PROVIDER = 'gemini';
export const DEFAULT_GEMINI_API_BASE = 'https://generativelanguage.googleapis.com';
/** Every Gemini file carries this purpose: the Files API keeps no purpose of its own. */
export const GEMINI_FILE_PURPOSE = 'user_data';

const ID_PREFIX = 'file-gemini-';
/** Resource ids are lowercase letters, digits and dashes, at most 40 (ai.google.dev/api/files). */
const RESOURCE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** `api_base` without a trailing slash or API version (the adapter adds /v1beta). */
export function geminiApiBase(apiBase: string | undefined): string {
  return (apiBase ?? DEFAULT_GEMINI_API_BASE).replace(/\/+$/, '').replace(/\/v1(beta)?$/, '');
}

/** `files/abc-123` → `file-gemini-abc-123`: URL-safe, at most 52 characters, no `/`. */
export function openAIFileId(name: string): string {
  return ID_PREFIX + name.replace(/^files\//, '');
}

/**
 * The resource id behind a file id the gateway handed out; also accepts `files/abc`, a bare
 * `abc` and the file's `uri`. Anything else is "no such file" (never sent upstream).
 */
export function resourceId(fileId: string): string {
  const id = fileId.startsWith(ID_PREFIX)
    ? fileId.slice(ID_PREFIX.length)
    : (/\/v1beta\/files\/([^/?#]+)$/.exec(fileId)?.[1] ?? fileId.replace(/^files\//, ''));
  if (!RESOURCE_ID.test(id)) throw errors.fileNotFound(fileId);
  return id;
}

/** True for ids this adapter hands out (recognised without a call). */
export function isGeminiFileId(value: string): boolean {
  return value.startsWith(ID_PREFIX) && RESOURCE_ID.test(value.slice(ID_PREFIX.length));
}

/** The File resource (docs/wire-formats.md §4.3) as much as the gateway reads of it. */
export interface GeminiFileResource {
  name: string;
  displayName?: string;
  mimeType?: string;
  sizeBytes?: string;
  createTime?: string;
  expirationTime?: string;
  uri?: string;
  state?: string;
  error?: { message?: string };
}

/** PROCESSING → uploaded, ACTIVE → processed, FAILED → error (OpenAI's three statuses). */
export function fileStatus(state: string | undefined): FileStatus {
  if (state === 'ACTIVE') return 'processed';
  if (state === 'FAILED') return 'error';
  return 'uploaded';
}

export function toFileObject(resource: GeminiFileResource): FileObject {
  const status = fileStatus(resource.state);
  return {
    id: openAIFileId(resource.name),
    object: 'file',
    bytes: Number(resource.sizeBytes ?? 0) || 0,
    created_at: toUnixSeconds(resource.createTime) ?? Math.floor(Date.now() / 1000),
    filename: resource.displayName ?? resource.name.replace(/^files\//, ''),
    purpose: GEMINI_FILE_PURPOSE,
    status,
    // Gemini deletes every file 48 hours after upload: that is this copy's expiry.
    expires_at: toUnixSeconds(resource.expirationTime),
    status_details: status === 'error' ? (resource.error?.message ?? 'processing failed') : null,
  };
}

/**
 * Reads Google's envelope. The status string (and an ErrorInfo reason such as API_KEY_INVALID)
 * leads the message so the adapter can tell "bad key" from "bad request" (docs/wire-formats.md §4.6).
 */
export function parseGeminiError(status: number, text: string): ParsedUpstreamError {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown; status?: unknown; details?: Array<{ reason?: unknown }> } };
    const error = body.error;
    if (error && typeof error.message === 'string') {
      const reason = error.details?.find((detail) => typeof detail?.reason === 'string')?.reason as string | undefined;
      const label = [error.status, reason].filter((part) => typeof part === 'string').join('/');
      return { message: label ? `${label}: ${error.message}` : error.message, ...(label ? { code: label } : {}) };
    }
  } catch {
    // not JSON: an excerpt below
  }
  const excerpt = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return { message: excerpt === '' ? `HTTP ${status}` : `HTTP ${status}: ${excerpt}` };
}

/**
 * Gemini answers a bad key with 400 API_KEY_INVALID: that is the gateway's credential, so it
 * becomes the 401 class (→ 502 upstream_auth_failed). On a file route, 403 PERMISSION_DENIED is
 * how the API says "unknown or expired file" (docs/wire-formats.md §4.6) → 404.
 */
export function reclassify(error: unknown, fileId?: string): unknown {
  if (!(error instanceof UpstreamError)) return error;
  const { failure } = error;
  if (failure.upstreamStatus === 400 && failure.message.includes('API_KEY_INVALID')) {
    return new UpstreamError({ ...failure, upstreamStatus: 401 }, error);
  }
  if (fileId !== undefined && failure.upstreamStatus === 403 && failure.message.startsWith('PERMISSION_DENIED')) return errors.fileNotFound(fileId);
  return error;
}
