/**
 * The Google error envelope the Gemini API answers with (docs/wire-formats.md §3.3, §4.6):
 * `{"error":{"code","message","status"[,"details"]}}`, status strings from google.rpc.Code.
 */

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function geminiError(code: number, message: string, status = STATUS[code] ?? 'UNKNOWN', details?: unknown[]): Record<string, unknown> {
  return { error: { code, message, status, ...(details ? { details } : {}) } };
}

/** What the Files API answers for an unknown, expired or other project's file (docs/wire-formats.md §4.6). */
export function noSuchFile(id: string): Record<string, unknown> {
  return geminiError(403, `You do not have permission to access the File ${id} or it may not exist.`);
}
