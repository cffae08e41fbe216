/**
 * Stored files of an emulator: metadata in memory, bytes in files under the emulator's temp
 * directory (removed when the emulator closes). `M` is the provider's own metadata (purpose,
 * filename, bucket, …); the store only knows ids, bytes and insertion order.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoredBlob<M> {
  id: string;
  /** Where the bytes live on disk. */
  path: string;
  bytes: number;
  sha256: string;
  /** Insertion counter, for stable ordering of items created in the same second. */
  seq: number;
  /** Provider metadata; handlers may mutate it (e.g. Azure's processing state). */
  meta: M;
}

export class FileStore<M> {
  readonly #dir: string;
  readonly #items = new Map<string, StoredBlob<M>>();
  #seq = 0;
  /** Reads in progress, by blob path (hold). */
  readonly #readers = new Map<string, number>();
  /** Paths replaced or deleted while read: removed when their last reader releases them. */
  readonly #orphans = new Set<string>();

  /** `dir` must be on the same filesystem as incoming temp files (use the emulator's tempDir). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Moves an incoming temp file into the store under `id`, replacing an existing item. The path is
   * reserved before the first await: two writes finishing together (two gateway instances storing
   * one object) each get their own file, so one never renames over or removes the other's bytes.
   */
  async adopt(input: { id: string; tempPath: string; bytes: number; sha256: string; meta: M }): Promise<StoredBlob<M>> {
    this.#seq += 1;
    const seq = this.#seq;
    const path = join(this.#dir, `blob-${seq}-${encodeURIComponent(input.id).slice(0, 80)}`);
    await rename(input.tempPath, path);
    const previous = this.#items.get(input.id);
    const blob: StoredBlob<M> = { id: input.id, path, bytes: input.bytes, sha256: input.sha256, seq, meta: input.meta };
    this.#items.set(input.id, blob);
    if (previous) await this.#discard(previous.path);
    return blob;
  }

  /**
   * Keeps the blob's bytes on disk until the returned release is called, even if the item is
   * replaced or deleted meanwhile: a download in progress finishes with the bytes it started
   * with, as a Cloud Storage read of one object generation does.
   */
  hold(blob: StoredBlob<M>): () => Promise<void> {
    this.#readers.set(blob.path, (this.#readers.get(blob.path) ?? 0) + 1);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const left = (this.#readers.get(blob.path) ?? 1) - 1;
      if (left > 0) return void this.#readers.set(blob.path, left);
      this.#readers.delete(blob.path);
      if (this.#orphans.delete(blob.path)) await rm(blob.path, { force: true });
    };
  }

  /** Removes bytes no item points at any more, or leaves that to the last reader's release. */
  async #discard(path: string): Promise<void> {
    if (this.#readers.has(path)) this.#orphans.add(path);
    else await rm(path, { force: true });
  }

  get(id: string): StoredBlob<M> | undefined {
    return this.#items.get(id);
  }

  has(id: string): boolean {
    return this.#items.has(id);
  }

  /** All items in insertion order. */
  list(): Array<StoredBlob<M>> {
    return [...this.#items.values()];
  }

  /** Removes the item and its bytes; false when the id is unknown. */
  async delete(id: string): Promise<boolean> {
    const blob = this.#items.get(id);
    if (!blob) return false;
    this.#items.delete(id);
    await this.#discard(blob.path);
    return true;
  }

  openRead(id: string): ReadStream | undefined {
    const blob = this.#items.get(id);
    return blob ? createReadStream(blob.path) : undefined;
  }

  /** Forgets every item at once; their files are removed in the background. */
  clear(): void {
    const paths = [...this.#items.values()].map((blob) => blob.path);
    this.#items.clear();
    for (const path of paths) void rm(path, { force: true }).catch(() => {});
  }
}
