/**
 * The GCS JSON API routes (docs/wire-formats.md §3.2): uploads (`media`, `multipart`,
 * `resumable`), object metadata, `alt=media` download, delete (204) and list with
 * prefix/delimiter/maxResults/pageToken/startOffset. Every call except a resumable session PUT needs a
 * Bearer token issued by the emulator's token endpoint; errors use the GCS envelope.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatorExchange } from './emulator-exchange.ts';
import type { GoogleOAuth } from './google-oauth.ts';
import { HashingFile, conditionNotMet, gcsError, noSuchObject, objectResource, type GcsObjects } from './google-gcs-store.ts';
import type { ObjectDraft, ResumableSessions } from './google-gcs-resumable.ts';
import { RelatedBodyError, readRelatedUpload, relatedBoundary } from './google-multipart-related.ts';

export interface GcsRouteContext {
  baseUrl: string;
  oauth: GoogleOAuth;
  objects: GcsObjects;
  sessions: ResumableSessions;
}

const UPLOAD_PATH = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/;
const LIST_PATH = /^\/storage\/v1\/b\/([^/]+)\/o$/;
const OBJECT_PATH = /^\/(download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/;

/** Answers the call if it is a GCS route; false when the path is not one. */
export async function handleGcs(exchange: EmulatorExchange, context: GcsRouteContext): Promise<boolean> {
  const { method, path, query } = exchange;
  const upload = UPLOAD_PATH.exec(path);
  const uploadId = query.get('upload_id');
  if (upload && uploadId !== null && (method === 'PUT' || method === 'POST')) {
    await context.sessions.put(exchange, uploadId);
    return true;
  }
  if (upload && uploadId !== null && method === 'DELETE') {
    await context.sessions.cancel(exchange, uploadId);
    return true;
  }
  const list = LIST_PATH.exec(path);
  const object = OBJECT_PATH.exec(path);
  if (!upload && !list && !object) return false;

  const auth = context.oauth.checkBearer(exchange.headers.authorization);
  if (auth !== 'ok') {
    const message = auth === 'missing' ? 'Anonymous caller does not have storage.objects access to the Google Cloud Storage bucket.' : 'Invalid Credentials';
    await exchange.sendJson(401, gcsError(401, message, auth === 'missing' ? 'required' : 'authError', { locationType: 'header', location: 'Authorization' }), {
      'www-authenticate': 'Bearer realm="https://accounts.google.com/"',
    });
    return true;
  }
  const segments = decodeSegments([upload?.[1] ?? list?.[1] ?? object?.[2] ?? '', object?.[3] ?? '']);
  if (!segments) {
    await exchange.sendJson(400, gcsError(400, 'Invalid percent-encoding in the request path.', 'invalid'));
    return true;
  }
  const [bucket, name] = segments;
  if (!context.objects.bucketExists(bucket)) {
    await exchange.sendJson(404, gcsError(404, 'The specified bucket does not exist.', 'notFound'));
    return true;
  }
  if (upload && method === 'POST') await insert(exchange, context, bucket);
  else if (list && method === 'GET') await listObjects(exchange, context, bucket);
  else if (object && method === 'GET') await getObject(exchange, context, bucket, name, object[1] !== undefined);
  else if (object && method === 'DELETE' && object[1] === undefined) {
    if (await context.objects.delete(bucket, name)) await exchange.sendEmpty(204);
    else await exchange.sendJson(404, noSuchObject(bucket, name));
  } else {
    await exchange.sendJson(405, gcsError(405, `Method ${method} is not allowed here.`, 'methodNotAllowed'));
  }
  return true;
}

async function insert(exchange: EmulatorExchange, context: GcsRouteContext, bucket: string): Promise<void> {
  const uploadType = exchange.query.get('uploadType');
  const queryName = exchange.query.get('name') ?? undefined;
  const ifGenerationMatch = exchange.query.get('ifGenerationMatch') ?? undefined;
  if (ifGenerationMatch !== undefined && !/^\d+$/.test(ifGenerationMatch)) return badRequest(exchange, `Invalid value for ifGenerationMatch: ${JSON.stringify(ifGenerationMatch.slice(0, 32))}`);
  if (uploadType === 'resumable') {
    const text = await exchange.readText(1024 * 1024);
    const resource = parseResource(text);
    if (resource === undefined) return badRequest(exchange, 'The object resource is not valid JSON.');
    exchange.recordJson(resource);
    const declared = exchange.headers['x-upload-content-type'];
    const draft = toDraft(bucket, resource, queryName, typeof declared === 'string' ? declared : undefined, ifGenerationMatch);
    if (typeof draft === 'string') return badRequest(exchange, draft);
    return context.sessions.start(exchange, draft);
  }
  if (uploadType !== 'media' && uploadType !== 'multipart') {
    return badRequest(exchange, 'Upload requests must include an uploadType URL parameter of media, multipart or resumable.');
  }
  const file = new HashingFile(join(exchange.tempDir, `gcs-${randomUUID()}`));
  await file.open();
  let draft: ObjectDraft | string;
  try {
    if (uploadType === 'media') {
      draft = toDraft(bucket, {}, queryName, exchange.headers['content-type'], ifGenerationMatch);
      for await (const chunk of exchange.body as AsyncIterable<Buffer>) await file.write(chunk);
    } else {
      const boundary = relatedBoundary(exchange.headers['content-type'] ?? '');
      if (!boundary) throw new RelatedBodyError('uploadType=multipart needs a multipart/related body with a boundary');
      const related = await readRelatedUpload({ body: exchange.body as AsyncIterable<Buffer>, boundary, onMedia: (chunk) => file.write(chunk) });
      const resource = parseResource(related.metadataText);
      if (resource === undefined) throw new RelatedBodyError('The object metadata part is not valid JSON.');
      exchange.recordJson(resource);
      draft = toDraft(bucket, resource, queryName, related.mediaType, ifGenerationMatch);
    }
    await file.close();
  } catch (error) {
    file.abandon();
    await rm(file.path, { force: true });
    if (error instanceof RelatedBodyError) return badRequest(exchange, error.message);
    throw error;
  }
  if (typeof draft === 'string') {
    await rm(file.path, { force: true });
    return badRequest(exchange, draft);
  }
  const blob = await context.objects.put({ ...draft, file });
  if (!blob) {
    await rm(file.path, { force: true });
    return exchange.sendJson(412, conditionNotMet());
  }
  await exchange.sendJson(200, objectResource(context.baseUrl, blob));
}

async function getObject(exchange: EmulatorExchange, context: GcsRouteContext, bucket: string, name: string, download: boolean): Promise<void> {
  const blob = context.objects.get(bucket, name);
  if (!blob) return exchange.sendJson(404, noSuchObject(bucket, name));
  if (!download && exchange.query.get('alt') !== 'media') return exchange.sendJson(200, objectResource(context.baseUrl, blob));
  // The generation being read stays whole while another write replaces the object.
  const release = context.objects.hold(blob);
  try {
    await exchange.sendFile(200, blob.path, blob.bytes, {
      'content-type': blob.meta.contentType,
      'x-goog-generation': blob.meta.generation,
      'x-goog-metageneration': blob.meta.metageneration,
      'x-goog-hash': `md5=${blob.meta.md5Hash}`,
      'x-goog-stored-content-length': String(blob.bytes),
      etag: Buffer.from(blob.meta.generation).toString('base64'),
    });
  } finally {
    await release();
  }
}

async function listObjects(exchange: EmulatorExchange, context: GcsRouteContext, bucket: string): Promise<void> {
  const prefix = exchange.query.get('prefix') ?? '';
  const delimiter = exchange.query.get('delimiter') ?? '';
  const maxResults = Math.min(1000, Math.max(1, Number(exchange.query.get('maxResults') ?? 1000) || 1000));
  const token = exchange.query.get('pageToken');
  const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
  const startOffset = exchange.query.get('startOffset') ?? '';
  // Entries are objects or, with a delimiter, the "directories" they roll up into, in name order.
  const entries: Array<{ key: string; prefix?: string; blob?: ReturnType<GcsObjects['list']>[number] }> = [];
  const seenPrefixes = new Set<string>();
  for (const blob of context.objects.list(bucket)) {
    const name = blob.meta.name;
    if (!name.startsWith(prefix)) continue;
    if (startOffset !== '' && Buffer.compare(Buffer.from(name), Buffer.from(startOffset)) < 0) continue;
    const cut = delimiter === '' ? -1 : name.indexOf(delimiter, prefix.length);
    if (cut >= 0) {
      const rolled = name.slice(0, cut + delimiter.length);
      if (!seenPrefixes.has(rolled)) entries.push({ key: rolled, prefix: rolled });
      seenPrefixes.add(rolled);
    } else entries.push({ key: name, blob });
  }
  const start = after === undefined ? 0 : entries.findIndex((entry) => Buffer.compare(Buffer.from(entry.key), Buffer.from(after)) > 0);
  const page = start < 0 ? [] : entries.slice(start, start + maxResults);
  const hasMore = start >= 0 && start + maxResults < entries.length;
  const items = page.flatMap((entry) => (entry.blob ? [objectResource(context.baseUrl, entry.blob)] : []));
  const prefixes = page.flatMap((entry) => (entry.prefix ? [entry.prefix] : []));
  // As on GCS, empty `items`/`prefixes` are left out rather than sent as [].
  await exchange.sendJson(200, {
    kind: 'storage#objects',
    ...(prefixes.length > 0 ? { prefixes } : {}),
    ...(items.length > 0 ? { items } : {}),
    ...(hasMore ? { nextPageToken: Buffer.from(page[page.length - 1]!.key).toString('base64url') } : {}),
  });
}

function parseResource(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The object to create, or the 400 message explaining why not. */
function toDraft(bucket: string, resource: Record<string, unknown>, queryName: string | undefined, partType: string | undefined, ifGenerationMatch?: string): ObjectDraft | string {
  const name = typeof resource.name === 'string' && resource.name !== '' ? resource.name : queryName;
  if (!name) return 'Required parameter: name';
  if (Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name)) return `Invalid object name: ${JSON.stringify(name.slice(0, 64))}`;
  const contentType = typeof resource.contentType === 'string' ? resource.contentType : (partType ?? 'application/octet-stream');
  const raw = resource.metadata;
  const metadata: Record<string, string> = {};
  if (raw !== null && typeof raw === 'object') {
    for (const [key, value] of Object.entries(raw)) if (value !== null) metadata[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { bucket, name, contentType, metadata, ...(ifGenerationMatch === undefined ? {} : { ifGenerationMatch }) };
}

function decodeSegments(values: [string, string]): [string, string] | undefined {
  try {
    return [decodeURIComponent(values[0]), decodeURIComponent(values[1])];
  } catch {
    return undefined;
  }
}

function badRequest(exchange: EmulatorExchange, message: string): Promise<void> {
  return exchange.sendJson(400, gcsError(400, message, 'invalid'));
}
