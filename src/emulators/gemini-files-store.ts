/**
 * The Gemini API's stored files (docs/wire-formats.md §4.3): bytes on disk, File resources rendered on
 * demand from an emulator clock, so that `PROCESSING` → `ACTIVE` (or `FAILED`) happens after a
 * configurable delay and files vanish 48 hours after creation, as the Files API documents
 * (https://ai.google.dev/gemini-api/docs/files). Tests move the clock or expire a file at once.
 * Files belong to the project of the API key that uploaded them; other keys see 403.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';

export type GeminiFileState = 'PROCESSING' | 'ACTIVE' | 'FAILED';

export interface GeminiStoredFile {
  /** `abc-123` (the resource name is `files/abc-123`). */
  id: string;
  /** The API key (= project) that uploaded it. */
  project: string;
  displayName: string | undefined;
  mimeType: string;
  bytes: number;
  /** base64 of the SHA-256 digest, as `sha256Hash` carries it. */
  sha256Base64: string;
  /** hex SHA-256, for tests. */
  sha256: string;
  path: string;
  createdMs: number;
  /** When processing ends (emulator clock). */
  readyMs: number;
  outcome: Exclude<GeminiFileState, 'PROCESSING'>;
  expiresMs: number;
}

export interface GeminiFilesSettings {
  /** How long a new file stays PROCESSING (ms of emulator clock); 0 = ACTIVE at once. */
  processingMs: number;
  /** The state processing ends in. */
  outcome: Exclude<GeminiFileState, 'PROCESSING'>;
  /** Lifetime of a file; the Files API keeps files 48 hours. */
  ttlMs: number;
}

export const FORTY_EIGHT_HOURS_MS = 48 * 3600 * 1000;

/** Resource ids: lowercase letters, digits and dashes, at most 40, no dash at either end. */
export const FILE_ID = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export class GeminiFiles {
  readonly settings: GeminiFilesSettings;
  readonly #files = new Map<string, GeminiStoredFile>();
  #clockOffsetMs = 0;

  constructor(settings: Partial<GeminiFilesSettings> = {}) {
    this.settings = { processingMs: 0, outcome: 'ACTIVE', ttlMs: FORTY_EIGHT_HOURS_MS, ...settings };
  }

  /** The emulator's clock: real time plus whatever tests advanced it by. */
  now(): number {
    return Date.now() + this.#clockOffsetMs;
  }

  advanceClock(ms: number): void {
    this.#clockOffsetMs += ms;
  }

  newId(): string {
    // 12 characters of [a-z0-9], like the ids the service hands out.
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    return [...randomBytes(12)].map((byte) => alphabet[byte % alphabet.length]).join('');
  }

  add(file: Omit<GeminiStoredFile, 'createdMs' | 'readyMs' | 'outcome' | 'expiresMs'>): GeminiStoredFile {
    const created = this.now();
    const stored: GeminiStoredFile = {
      ...file,
      createdMs: created,
      readyMs: created + this.settings.processingMs,
      outcome: this.settings.outcome,
      expiresMs: created + this.settings.ttlMs,
    };
    this.#files.set(file.id, stored);
    return stored;
  }

  /** A live file of this project; expired files are removed on the way (Gemini deletes them). */
  get(id: string, project?: string): GeminiStoredFile | undefined {
    const file = this.#files.get(id);
    if (!file) return undefined;
    if (file.expiresMs <= this.now()) {
      this.#forget(file);
      return undefined;
    }
    return project === undefined || file.project === project ? file : undefined;
  }

  exists(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Live files of a project, newest first. */
  list(project?: string): GeminiStoredFile[] {
    const live = [...this.#files.values()].filter((file) => this.get(file.id, project) !== undefined);
    return live.reverse();
  }

  delete(id: string): void {
    const file = this.#files.get(id);
    if (file) this.#forget(file);
  }

  /** Makes a file expire now: from here on it is gone, as after its 48 hours. */
  expire(id: string): boolean {
    const file = this.get(id);
    if (!file) return false;
    file.expiresMs = this.now();
    this.get(id);
    return true;
  }

  state(file: GeminiStoredFile): GeminiFileState {
    return this.now() >= file.readyMs ? file.outcome : 'PROCESSING';
  }

  /** The File resource (docs/wire-formats.md §4.3); `baseUrl` is this emulator's origin. */
  resource(file: GeminiStoredFile, baseUrl: string): Record<string, unknown> {
    const state = this.state(file);
    const resource: Record<string, unknown> = {
      name: `files/${file.id}`,
      ...(file.displayName !== undefined ? { displayName: file.displayName } : {}),
      mimeType: file.mimeType,
      sizeBytes: String(file.bytes),
      createTime: rfc3339(file.createdMs),
      updateTime: rfc3339(state === 'PROCESSING' ? file.createdMs : file.readyMs),
      expirationTime: rfc3339(file.expiresMs),
      sha256Hash: file.sha256Base64,
      uri: `${baseUrl}/v1beta/files/${file.id}`,
      state,
      source: 'UPLOADED',
    };
    if (state === 'FAILED') resource.error = { code: 400, message: 'The file could not be processed.' };
    return resource;
  }

  clear(): void {
    for (const file of [...this.#files.values()]) this.#forget(file);
    this.#clockOffsetMs = 0;
  }

  #forget(file: GeminiStoredFile): void {
    this.#files.delete(file.id);
    void rm(file.path, { force: true }).catch(() => {});
  }
}

/** RFC 3339 with microseconds, as Google's JSON mapping of Timestamp prints it. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
