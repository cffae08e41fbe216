/**
 * Per-copy state of a managed file (README "Endpoints" (managed files)), as the adapters report it in the FileObject an
 * upload or retrieve returns: `status` `uploaded` = the provider is still processing it (Azure
 * `pending`, Gemini `PROCESSING`), `processed` = usable, `error` = failed; `expires_at` = when the
 * provider deletes the copy on its own (Gemini API files after 48 hours).
 */
import type { FileObject } from '../core/openai-types.ts';
import type { CopyState } from '../persistence/schema.ts';

export interface ReportedCopy {
  upstreamState: CopyState;
  /** Only when the provider drops the copy before the managed file itself expires. */
  upstreamExpiresAt: Date | null;
}

export function stateOf(file: FileObject): CopyState {
  return file.status === 'uploaded' ? 'processing' : file.status === 'error' ? 'failed' : 'active';
}

export function reportedCopy(file: FileObject, fileExpiresAt: Date | null): ReportedCopy {
  const expires = file.expires_at === null ? null : new Date(file.expires_at * 1000);
  const early = expires !== null && (fileExpiresAt === null || expires < fileExpiresAt);
  return { upstreamState: stateOf(file), upstreamExpiresAt: early ? expires : null };
}

interface CopyLike {
  transformed?: boolean | null;
  upstreamExpiresAt?: Date | null;
}

/** A copy that holds the original bytes and stays: what an expired copy is re-made from. */
export function isDurableSource(copy: CopyLike): boolean {
  return !copy.transformed && !copy.upstreamExpiresAt;
}

/**
 * The managed file's expiry: the one asked for, unless no copy could ever re-make the others —
 * then it ends with its first copy to go, and `expires_at` says so from the start.
 */
export function managedExpiry(requested: Date | null, copies: readonly CopyLike[]): Date | null {
  if (copies.some(isDurableSource)) return requested;
  const ends = copies.flatMap((copy) => (copy.upstreamExpiresAt ? [copy.upstreamExpiresAt.getTime()] : []));
  if (ends.length === 0) return requested;
  const first = Math.min(...ends);
  return requested === null || first < requested.getTime() ? new Date(first) : requested;
}
