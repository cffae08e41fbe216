/**
 * A short-lived cache of managed-file lookups for the chat hot path. Mappings never change
 * after creation; they only disappear, so an entry is dropped at once on a local delete and
 * lives at most TTL_MS on other instances sharing the database (SPEC §1: short-lived caches
 * are fine). Expiry is checked on every use, not only at load.
 */
import type { ManagedCopyRow, ManagedFileRepository, ManagedFileRow } from '../persistence/managed-file-repository.ts';

const TTL_MS = 2_000;
const MAX_ENTRIES = 50_000;

type Found = { file: ManagedFileRow; copies: ManagedCopyRow[] };

export class ManagedFileCache {
  private readonly entries = new Map<string, { found: Found | undefined; until: number }>();

  constructor(private readonly files: ManagedFileRepository) {}

  async findVisible(id: string): Promise<Found | undefined> {
    const now = Date.now();
    const cached = this.entries.get(id);
    let found: Found | undefined;
    if (cached && cached.until > now) found = cached.found;
    else {
      found = await this.files.findVisible(id);
      // Unknown ids are not cached: a file created on another instance must show up at once.
      if (found) {
        if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
        this.entries.set(id, { found, until: now + TTL_MS });
      }
    }
    if (found?.file.expiresAt && found.file.expiresAt.getTime() <= now) return undefined;
    return found;
  }

  invalidate(id: string): void {
    this.entries.delete(id);
  }
}
