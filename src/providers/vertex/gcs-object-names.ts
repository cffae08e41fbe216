/**
 * Where Vertex files live in GCS and how `gs://` ids are checked.
 *
 * Object name: `<prefix/>unifile/<uuid v4>/<sanitised filename>`.
 * - `<prefix>` comes from `bucket_name: bucket/prefix` (as LiteLLM splits it, LiteLLM's vertex_ai/files/transformation.py);
 * - `unifile/` groups what the gateway wrote, so a shared bucket stays readable;
 * - the random UUID makes names unguessable and collision-free, so uploads never overwrite;
 * - the filename (reduced to a safe character set) keeps objects recognisable in the console.
 *   The client's original filename is kept verbatim in the object's metadata instead.
 * Ids are `gs://<bucket>/<object name>` with the generation dropped (docs/wire-formats.md §3.2).
 */
import { randomUUID } from 'node:crypto';

export interface BucketLocation {
  bucket: string;
  /** Object-name prefix without leading/trailing slashes; '' when none. */
  prefix: string;
}

export const GATEWAY_FOLDER = 'unifile';

// GCS bucket naming rules: lowercase letters, digits, '-', '_' and '.', 3..222 characters,
// starting and ending with a letter or digit.
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** Splits `bucket` or `bucket/some/prefix` (README "Configuration reference" `bucket_name`). */
export function parseBucketName(value: string): BucketLocation {
  const trimmed = value.trim().replace(/^gs:\/\//, '');
  const slash = trimmed.indexOf('/');
  const bucket = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const prefix = slash === -1 ? '' : trimmed.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (!BUCKET_PATTERN.test(bucket)) {
    throw new Error(`Invalid GCS bucket name '${bucket}' in bucket_name.`);
  }
  if (hasControlCharacters(prefix)) throw new Error('The bucket_name prefix contains control characters.');
  return { bucket, prefix };
}

/** Reduces a client filename to a safe last path segment (GCS discourages `#[]*?` and controls). */
export function sanitiseFilename(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? '';
  const safe = base
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents split off by NFKD: 'é' → 'e'
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 200);
  return safe === '' ? 'file' : safe;
}

export function buildObjectName(location: BucketLocation, filename: string): string {
  const head = location.prefix === '' ? '' : `${location.prefix}/`;
  return `${head}${GATEWAY_FOLDER}/${randomUUID()}/${sanitiseFilename(filename)}`;
}

export function fileIdFor(bucket: string, objectName: string): string {
  return `gs://${bucket}/${objectName}`;
}

/**
 * The object name inside the configured bucket and prefix, or undefined for any other id: the
 * adapter never touches buckets or folders outside its configuration (LiteLLM's
 * validate_managed_cloud_file_id, LiteLLM's vertex_ai/files/transformation.py, does the same).
 */
export function objectNameFromFileId(location: BucketLocation, fileId: string): string | undefined {
  const head = `gs://${location.bucket}/`;
  if (!fileId.startsWith(head)) return undefined;
  const name = fileId.slice(head.length);
  if (name === '' || name.endsWith('/') || hasControlCharacters(name)) return undefined;
  if (Buffer.byteLength(name) > 1024) return undefined; // GCS limit on object names
  if (location.prefix !== '' && !name.startsWith(`${location.prefix}/`)) return undefined;
  return name;
}

function hasControlCharacters(value: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(value);
}
