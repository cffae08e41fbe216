/**
 * A short-lived cache of managed-file lookups for the chat hot path. An entry is dropped at once
 * when the file is deleted or its copies change, here and — through the invalidation bus
 * (LISTEN/NOTIFY) — on every other instance sharing the database; TTL_MS only bounds a missed
 * notification (README "Running it"). Expiry is checked on every use, not only at load.
 */
import type { ManagedCopyRow, ManagedFileRepository, ManagedFileRow } from '../persistence/managed-file-repository.ts';

const TTL_MS = 2_000;
const MAX_ENTRIES = 50_000;

type Found = { file: ManagedFileRow; copies: ManagedCopyRow[] };

/** `value` is set once the lookup has found the file. */
type Entry = { found: Promise<Found | undefined>; until: number; value?: Found };

export class ManagedFileCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly files: ManagedFileRepository) {}

  /**
   * The file and its live copies, or undefined when it is unknown, not visible or expired. A
   * cached lookup that has completed is answered without a promise, so the chat hot path does not
   * wait a turn of the event loop for it (BENCHMARKS.md, chat-latency variants).
   */
  findVisible(id: string): Found | undefined | Promise<Found | undefined> {
    const now = Date.now();
    let entry = this.entries.get(id);
    if (entry?.value && entry.until > now) return unexpired(entry.value, now);
    if (!entry || entry.until <= now) {
      // Concurrent misses share one query.
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      const loaded: Entry = { found: this.files.findVisible(id), until: now + TTL_MS };
      entry = loaded;
      this.entries.set(id, loaded);
      // Unknown ids and failures are not kept: a file created on another instance must show up at once.
      loaded.found.then(
        (found) => {
          if (found) loaded.value = found;
          else if (this.entries.get(id) === loaded) this.entries.delete(id);
        },
        () => {
          if (this.entries.get(id) === loaded) this.entries.delete(id);
        },
      );
    }
    return entry.found.then((found) => unexpired(found, Date.now()));
  }

  invalidate(id: string): void {
    this.entries.delete(id);
  }

  /** Drops everything (notifications from other instances may have been missed). */
  clear(): void {
    this.entries.clear();
  }
}

/** Expiry is checked on every use, not only at load. */
function unexpired(found: Found | undefined, now: number): Found | undefined {
  return found?.file.expiresAt && found.file.expiresAt.getTime() <= now ? undefined : found;
}
