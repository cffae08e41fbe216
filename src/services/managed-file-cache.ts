/**
 * A short-lived cache of managed-file lookups for the chat hot path. An entry is dropped at once
 * when the file is deleted or its copies change, here and — through the invalidation bus
 * (LISTEN/NOTIFY) — on every other instance sharing the database; TTL_MS only bounds a missed
 * notification (SPEC §1). Expiry is checked on every use, not only at load.
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

  /** Drops everything (notifications from other instances may have been missed). */
  clear(): void {
    this.entries.clear();
  }
}
