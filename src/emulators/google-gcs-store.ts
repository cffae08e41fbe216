/**
 * Object storage of the GCS emulator: metadata in memory, bytes in temp files (the kit's
 * FileStore), hashes computed while the bytes stream in, so a 1 GiB upload never sits in memory.
 * Resources are shaped as the JSON API returns them (docs/wire-formats.md §3.2): size, generation and
 * metageneration as strings, md5Hash base64. `crc32c` is left out: Node 20 has no native
 * CRC32C and a JS loop would cost about a second of emulator CPU per GiB in benchmarks.
 *
 * Buckets: by default a bucket springs into existence on its first write (reads of a bucket
 * never written answer "No such object", as for any missing object). With `buckets` configured,
 * only those exist and any other answers 404 "The specified bucket does not exist.".
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { FileStore, type StoredBlob } from './emulator-files-store.ts';

export interface GcsObjectMeta {
  bucket: string;
  name: string;
  contentType: string;
  /** base64 MD5 of the bytes. */
  md5Hash: string;
  generation: string;
  metageneration: string;
  timeCreated: string;
  metadata?: Record<string, string>;
}

export type GcsBlob = StoredBlob<GcsObjectMeta>;

/** Writes bytes to a file while counting them and hashing them with MD5 and SHA-256. */
export class HashingFile {
  readonly path: string;
  bytes = 0;
  readonly #md5: Hash = createHash('md5');
  readonly #sha256: Hash = createHash('sha256');
  #stream: WriteStream | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Opens the file for appending (the resumable flow re-opens it for every chunk). */
  async open(): Promise<void> {
    this.#stream = createWriteStream(this.path, { flags: 'a' });
    await once(this.#stream, 'open');
  }

  async write(chunk: Buffer): Promise<void> {
    this.bytes += chunk.length;
    this.#md5.update(chunk);
    this.#sha256.update(chunk);
    if (!this.#stream!.write(chunk)) await once(this.#stream!, 'drain');
  }

  async close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (!stream) return;
    stream.end();
    await finished(stream);
  }

  /** Closes without waiting for errors (aborted uploads). */
  abandon(): void {
    this.#stream?.destroy();
    this.#stream = undefined;
  }

  digests(): { md5Hash: string; sha256: string } {
    return { md5Hash: this.#md5.copy().digest('base64'), sha256: this.#sha256.copy().digest('hex') };
  }
}

/** The GCS error envelope (docs/wire-formats.md §3.2). */
export function gcsError(code: number, message: string, reason: string, extra: Record<string, string> = {}): unknown {
  return { error: { code, message, errors: [{ message, domain: 'global', reason, ...extra }] } };
}

/** A failed `ifGenerationMatch` (HTTP 412, reason conditionNotMet). */
export function conditionNotMet(): unknown {
  return gcsError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
}

export function noSuchObject(bucket: string, name: string): unknown {
  return gcsError(404, `No such object: ${bucket}/${name}`, 'notFound');
}

export class GcsObjects {
  readonly #store: FileStore<GcsObjectMeta>;
  readonly #configured: ReadonlySet<string> | undefined;
  #lastGeneration = 0;
  /** Writes being stored, by object key (put). */
  readonly #writing = new Map<string, number>();

  constructor(tempDir: string, buckets?: readonly string[]) {
    this.#store = new FileStore(tempDir);
    this.#configured = buckets ? new Set(buckets) : undefined;
  }

  /** False only when buckets are configured and this is not one of them. */
  bucketExists(bucket: string): boolean {
    return this.#configured ? this.#configured.has(bucket) : true;
  }

  /**
   * Stores the bytes as the object's new generation. With `ifGenerationMatch` (GCS request
   * preconditions, cloud.google.com/storage/docs/request-preconditions: `0` = only if no live
   * object, else only if the live generation is that one) answers undefined when it does not
   * hold; a write of the same object still in flight counts as a newer generation, so of two
   * conditional writes racing exactly one wins. The caller still owns the file then.
   */
  async put(input: { bucket: string; name: string; contentType: string; metadata?: Record<string, string>; ifGenerationMatch?: string; file: HashingFile }): Promise<GcsBlob | undefined> {
    const id = key(input.bucket, input.name);
    if (input.ifGenerationMatch !== undefined) {
      const current = this.#store.get(id);
      const holds = !this.#writing.has(id) && (input.ifGenerationMatch === '0' ? current === undefined : current?.meta.generation === input.ifGenerationMatch);
      if (!holds) return undefined;
    }
    this.#writing.set(id, (this.#writing.get(id) ?? 0) + 1);
    try {
      return await this.#adopt(id, input);
    } finally {
      const left = this.#writing.get(id)! - 1;
      if (left > 0) this.#writing.set(id, left);
      else this.#writing.delete(id);
    }
  }

  async #adopt(id: string, input: { bucket: string; name: string; contentType: string; metadata?: Record<string, string>; file: HashingFile }): Promise<GcsBlob> {
    const { md5Hash, sha256 } = input.file.digests();
    // Generations are microsecond timestamps in GCS; strictly increasing here.
    this.#lastGeneration = Math.max(this.#lastGeneration + 1, Date.now() * 1000);
    const meta: GcsObjectMeta = {
      bucket: input.bucket,
      name: input.name,
      contentType: input.contentType,
      md5Hash,
      generation: String(this.#lastGeneration),
      metageneration: '1',
      timeCreated: new Date().toISOString(),
      ...(input.metadata && Object.keys(input.metadata).length > 0 ? { metadata: input.metadata } : {}),
    };
    return this.#store.adopt({ id, tempPath: input.file.path, bytes: input.file.bytes, sha256, meta });
  }

  get(bucket: string, name: string): GcsBlob | undefined {
    return this.#store.get(key(bucket, name));
  }

  /** Keeps the blob's bytes readable until released, even if the object is overwritten or deleted meanwhile. */
  hold(blob: GcsBlob): () => Promise<void> {
    return this.#store.hold(blob);
  }

  delete(bucket: string, name: string): Promise<boolean> {
    return this.#store.delete(key(bucket, name));
  }

  /** Objects in lexicographic name order (GCS list order), optionally of one bucket. */
  list(bucket?: string): GcsBlob[] {
    return this.#store
      .list()
      .filter((blob) => bucket === undefined || blob.meta.bucket === bucket)
      .sort((a, b) => (a.meta.bucket === b.meta.bucket ? compare(a.meta.name, b.meta.name) : compare(a.meta.bucket, b.meta.bucket)));
  }

  clear(): void {
    this.#store.clear();
  }
}

/** The object resource as the JSON API returns it; links point at this emulator. */
export function objectResource(baseUrl: string, blob: GcsBlob): Record<string, unknown> {
  const meta = blob.meta;
  const bucket = encodeURIComponent(meta.bucket);
  const name = encodeURIComponent(meta.name);
  return {
    kind: 'storage#object',
    id: `${meta.bucket}/${meta.name}/${meta.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${bucket}/o/${name}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${bucket}/o/${name}?generation=${meta.generation}&alt=media`,
    name: meta.name,
    bucket: meta.bucket,
    generation: meta.generation,
    metageneration: meta.metageneration,
    contentType: meta.contentType,
    storageClass: 'STANDARD',
    size: String(blob.bytes),
    md5Hash: meta.md5Hash,
    etag: Buffer.from(meta.generation).toString('base64'),
    timeCreated: meta.timeCreated,
    updated: meta.timeCreated,
    timeStorageClassUpdated: meta.timeCreated,
    timeFinalized: meta.timeCreated,
    ...(meta.metadata ? { metadata: meta.metadata } : {}),
  };
}

function key(bucket: string, name: string): string {
  return `${bucket}/${name}`;
}

/** Byte-wise (UTF-8 code unit) order, as GCS sorts names. */
function compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
