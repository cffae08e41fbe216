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

  /** `dir` must be on the same filesystem as incoming temp files (use the emulator's tempDir). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Moves an incoming temp file into the store under `id`, replacing an existing item. */
  async adopt(input: { id: string; tempPath: string; bytes: number; sha256: string; meta: M }): Promise<StoredBlob<M>> {
    const path = join(this.#dir, `blob-${this.#seq + 1}-${encodeURIComponent(input.id).slice(0, 80)}`);
    await rename(input.tempPath, path);
    const previous = this.#items.get(input.id);
    if (previous) await rm(previous.path, { force: true });
    this.#seq += 1;
    const blob: StoredBlob<M> = { id: input.id, path, bytes: input.bytes, sha256: input.sha256, seq: this.#seq, meta: input.meta };
    this.#items.set(input.id, blob);
    return blob;
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
    await rm(blob.path, { force: true });
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
