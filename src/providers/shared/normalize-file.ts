/** Lenient conversion of a provider's file object into OpenAI's FileObject shape. */
import type { FileList, FileObject, FileStatus } from '../../core/openai-types.ts';
import { listPage } from '../../core/openai-types.ts';

/** Unix seconds from a number, numeric string or RFC3339 string (Azure doc samples use ISO strings). */
export function toUnixSeconds(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value === 'string' && value !== '') {
    if (/^\d+$/.test(value)) return Number(value);
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed)) return Math.floor(parsed / 1000);
  }
  return null;
}

/** Azure's FileState (docs/wire-formats.md §2.2) folded into OpenAI's three statuses, case-insensitively. */
export function normalizeStatus(value: unknown): FileStatus {
  const status = String(value ?? 'processed').toLowerCase();
  if (status === 'processed') return 'processed';
  if (status === 'error' || status === 'failed' || status === 'deleted' || status === 'deleting') return 'error';
  return 'uploaded';
}

export function normalizeFileObject(raw: Record<string, unknown>): FileObject {
  return {
    id: String(raw.id),
    object: 'file',
    bytes: typeof raw.bytes === 'number' ? raw.bytes : Number(raw.bytes ?? 0) || 0,
    created_at: toUnixSeconds(raw.created_at) ?? 0,
    filename: String(raw.filename ?? ''),
    purpose: String(raw.purpose ?? ''),
    status: normalizeStatus(raw.status),
    expires_at: toUnixSeconds(raw.expires_at),
    status_details: typeof raw.status_details === 'string' ? raw.status_details : null,
  };
}

export interface PageRequest {
  limit?: number;
  order?: 'asc' | 'desc';
  after?: string;
}

/**
 * Applies OpenAI paging to a provider list that has none (Azure classic returns the whole
 * list without has_more): sort by created_at then id, continue strictly after `after`.
 */
export function pageLocally(files: FileObject[], page: PageRequest): FileList {
  const direction = page.order === 'asc' ? 1 : -1;
  const sorted = [...files].sort(
    (a, b) => direction * (a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  );
  let start = 0;
  if (page.after !== undefined) {
    const index = sorted.findIndex((file) => file.id === page.after);
    start = index === -1 ? sorted.length : index + 1;
  }
  const limit = page.limit ?? 10_000;
  const data = sorted.slice(start, start + limit);
  return listPage(data, start + limit < sorted.length);
}
