/**
 * Every place in a chat request that can point at stored data (README "Endpoints" (chat)): `file.file_id`, and any
 * URL-like value in a content part (`image_url.url`, `file.file_data`, audio/video/document URLs,
 * whatever the part type) that names a provider's own storage — what a provider definition's
 * `storedReferenceForms` claims (a `gs://` object or Cloud Storage https URL, a Gemini file URI)
 * or a configured endpoint (api_base, gcs_api_base). The chat service puts each one through the
 * same ownership check before any provider is called, because a provider reads such a reference
 * with the gateway's credentials. Pure: no I/O.
 */
import { isUnifiedId } from '../core/ids.ts';

export interface StoredReference {
  /** `managed`: a unified file id; `raw`: a provider id or URI that must be recorded as the caller's. */
  kind: 'managed' | 'raw';
  /** The value as the client sent it. */
  value: string;
  /** Forms of the reference to look up among recorded uploads (the value itself first). */
  lookupIds: string[];
  /** Where it sits, e.g. `messages[1].content[0].image_url.url`. */
  param: string;
}

// Keys whose string values are prose or enums, never references.
const NOT_REFERENCES = new Set(['type', 'text', 'detail', 'format', 'filename', 'refusal']);
const MAX_DEPTH = 6;

export interface ReferenceScanOptions {
  /** Origins (`https://host:port`) of configured provider endpoints → provider: URLs there are stored data. */
  providerOrigins: ReadonlyMap<string, string>;
  /**
   * The forms of a value that names a provider's own storage whatever the configuration says, or
   * undefined (ProviderRegistry.storedReferenceForms: the definitions' hooks).
   */
  storageForms(value: string): string[] | undefined;
}

export function storedReferences(messages: readonly unknown[], options: ReferenceScanOptions): StoredReference[] {
  const scan: PartScan = { options, found: [], message: 0, part: 0, keys: [] };
  // Plain loops, one scan state for the whole body, and a path spelt out only for a reference
  // found: this runs on every chat request (BENCHMARKS.md, chat-latency variants).
  for (let messageIndex = 0; messageIndex < messages.length; messageIndex += 1) {
    const message = messages[messageIndex];
    const content = isRecord(message) ? message.content : undefined;
    if (!Array.isArray(content)) continue;
    for (let partIndex = 0; partIndex < content.length; partIndex += 1) {
      const part: unknown = content[partIndex];
      if (!isRecord(part)) continue;
      scan.message = messageIndex;
      scan.part = partIndex;
      const file = part.file;
      if (isRecord(file) && typeof file.file_id === 'string' && file.file_id !== '') {
        const fileId = file.file_id;
        const param = partPath(scan, '.file.file_id');
        scan.found.push(
          isUnifiedId('file', fileId)
            ? { kind: 'managed', value: fileId, lookupIds: [fileId], param }
            : { kind: 'raw', value: fileId, lookupIds: lookupForms(fileId, options), param },
        );
      }
      walkPart(part, scan, 0);
    }
  }
  return scan.found;
}

interface PartScan {
  options: ReferenceScanOptions;
  found: StoredReference[];
  /** Where the part sits: `messages[message].content[part]`. */
  message: number;
  part: number;
  /** Keys (names and indexes) from the part down to the value being looked at. */
  keys: Array<string | number>;
}

/**
 * Every string under a content part, at most MAX_DEPTH levels down, that names stored data
 * (isStoredDataUrl) is added as a raw reference. Values of NOT_REFERENCES keys are prose and are
 * skipped, and so is the part's own `file.file_id` (storedReferences checks it as a file id).
 */
function walkPart(value: unknown, scan: PartScan, depth: number): void {
  if (depth > MAX_DEPTH) return;
  const keys = scan.keys;
  if (typeof value === 'string') {
    if (keys.length === 2 && keys[0] === 'file' && keys[1] === 'file_id') return;
    if (isStoredDataUrl(value, scan.options)) {
      scan.found.push({ kind: 'raw', value, lookupIds: lookupForms(value, scan.options), param: partPath(scan, pathOf(keys)) });
    }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      keys.push(index);
      walkPart(value[index], scan, depth + 1);
      keys.pop();
    }
    return;
  }
  // Parsed JSON: own enumerable keys only, nothing inherited.
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (NOT_REFERENCES.has(key) || !Object.hasOwn(record, key)) continue;
    keys.push(key);
    walkPart(record[key], scan, depth + 1);
    keys.pop();
  }
}

function partPath(scan: PartScan, below: string): string {
  return `messages[${scan.message}].content[${scan.part}]${below}`;
}

/** `.image_url.url`, `.parts[2].uri`: the keys below a part, as its param spells them. */
function pathOf(keys: ReadonlyArray<string | number>): string {
  return keys.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
}

/** Keys whose string values (or arrays of strings) an OpenAI endpoint reads as its own file ids. */
const FILE_ID_KEYS = new Set(['file_id', 'file_ids']);

/**
 * Every reference to stored data anywhere in a request body of any endpoint a batch line may
 * name (chat `file.file_id`, Responses `input_file`/`input_image` `file_id`, code interpreter
 * `file_ids`, image and video references, …): each `file_id`/`file_ids` value, and each string
 * that names a provider's storage (isStoredDataUrl), at any depth — a provider reads whatever it
 * finds. Iterative, so a deeply nested body cannot exhaust the stack. `param` is `body`.
 */
export function requestReferences(body: unknown, options: ReferenceScanOptions): StoredReference[] {
  const found: StoredReference[] = [];
  const add = (value: string, asFileId: boolean) => {
    if (asFileId && value !== '') {
      found.push(isUnifiedId('file', value) ? { kind: 'managed', value, lookupIds: [value], param: 'body' } : { kind: 'raw', value, lookupIds: lookupForms(value, options), param: 'body' });
    } else if (isStoredDataUrl(value, options)) {
      found.push({ kind: 'raw', value, lookupIds: lookupForms(value, options), param: 'body' });
    }
  };
  // Two parallel stacks (value, the key it sits under) instead of an object per node: this runs
  // on every line of a batch file (BENCHMARKS.md "Batch upload line check").
  const values: unknown[] = [body];
  const keys: Array<string | undefined> = [undefined];
  while (values.length > 0) {
    const value = values.pop();
    const key = keys.pop();
    const fileIdKey = key !== undefined && FILE_ID_KEYS.has(key);
    if (typeof value === 'string') {
      if (fileIdKey || key === undefined || !NOT_REFERENCES.has(key)) add(value, fileIdKey);
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index -= 1) {
        values.push(value[index]);
        keys.push(fileIdKey ? key : undefined);
      }
    } else if (isRecord(value)) {
      // Parsed JSON: own enumerable keys only, nothing inherited.
      for (const name in value) {
        values.push(value[name]);
        keys.push(name);
      }
    }
  }
  return found;
}

/** A value some provider claims as its storage, or an http(s) URL on a configured provider endpoint. */
export function isStoredDataUrl(value: string, options: ReferenceScanOptions): boolean {
  const trimmed = value.trim();
  if (options.storageForms(trimmed)) return true;
  if (!/^https?:\/\//i.test(trimmed)) return false;
  try {
    return options.providerOrigins.has(new URL(trimmed).origin);
  } catch {
    return false;
  }
}

/**
 * The forms of this reference to hand to the providers' `recordedIdsOf` hooks: the value itself
 * (as sent and trimmed), and the forms its provider derives (a Cloud Storage https URL as its
 * `gs://` URI).
 */
export function lookupForms(value: string, options: Pick<ReferenceScanOptions, 'storageForms'>): string[] {
  const trimmed = value.trim();
  return [...new Set([value, trimmed, ...(options.storageForms(trimmed) ?? [])])];
}

/** Origin → provider of every configured endpoint (api_base, gcs_api_base). */
export function providerOrigins(settings: ReadonlyArray<{ provider: string; apiBase?: string; gcsApiBase?: string }>): Map<string, string> {
  const origins = new Map<string, string>();
  for (const entry of settings) {
    for (const base of [entry.apiBase, entry.gcsApiBase]) {
      if (!base) continue;
      try {
        origins.set(new URL(base).origin, entry.provider);
      } catch {
        // validated at config load; ignore anything odd
      }
    }
  }
  return origins;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
