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
  private readonly entries = new Map<string, { found: Promise<Found | undefined>; until: number }>();

  constructor(private readonly files: ManagedFileRepository) {}

  async findVisible(id: string): Promise<Found | undefined> {
    const now = Date.now();
    let entry = this.entries.get(id);
    if (!entry || entry.until <= now) {
      // Concurrent misses share one query.
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      entry = { found: this.files.findVisible(id), until: now + TTL_MS };
      this.entries.set(id, entry);
      const loaded = entry;
      // Unknown ids and failures are not kept: a file created on another instance must show up at once.
      loaded.found.then(
        (found) => {
          if (!found && this.entries.get(id) === loaded) this.entries.delete(id);
        },
        () => {
          if (this.entries.get(id) === loaded) this.entries.delete(id);
        },
      );
    }
    const found = await entry.found;
    if (found?.file.expiresAt && found.file.expiresAt.getTime() <= Date.now()) return undefined;
    return found;
  }

  invalidate(id: string): void {
    this.entries.delete(id);
  }
}
