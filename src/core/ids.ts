/**
 * Unified ids (README "Endpoints" (managed files)): opaque, 144 random bits, URL-safe, ≤ 64 characters, with a fixed
 * marker right after the OpenAI-style prefix. `uf_` never occurs there in provider ids:
 * OpenAI's are base62 (no "_"), Azure's are hex, GCS's are gs:// URIs.
 */
import { randomBytes } from 'node:crypto';

const MARKER = 'uf_';
const RANDOM_BYTES = 18;

export const ID_PREFIXES = { file: 'file-', batch: 'batch_', fineTuningJob: 'ftjob-' } as const;
export type IdKind = keyof typeof ID_PREFIXES;

export function mintId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}${MARKER}${randomBytes(RANDOM_BYTES).toString('base64url')}`;
}

const PATTERNS: Record<IdKind, RegExp> = {
  file: /^file-uf_[A-Za-z0-9_-]{24}$/,
  batch: /^batch_uf_[A-Za-z0-9_-]{24}$/,
  fineTuningJob: /^ftjob-uf_[A-Za-z0-9_-]{24}$/,
};

/** True for ids minted by the gateway, recognised without a lookup. */
export function isUnifiedId(kind: IdKind, id: string): boolean {
  return PATTERNS[kind].test(id);
}
