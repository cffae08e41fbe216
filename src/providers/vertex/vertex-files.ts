/**
 * Files for Vertex AI. Vertex has no Files API (docs/wire-formats.md §3): a file is a GCS object in the
 * deployment's bucket, its id the `gs://bucket/object` URI that Gemini's `fileData.fileUri` and
 * batch jobs take. Mapping to OpenAI's FileObject follows LiteLLM (LiteLLM's vertex_ai/files/transformation.py,
 * docs/wire-formats.md §3.2), except that the client's filename and purpose are kept in object metadata.
 */
import type { Dispatcher } from 'undici';
import type { CallContext } from '../../core/call-context.ts';
import { errors } from '../../core/errors.ts';
import { listPage, type FileDeleted, type FileList, type FileObject, type FileStatus } from '../../core/openai-types.ts';
import { googleErrorParser } from '../google/google-errors.ts';
import { GoogleTokenProvider } from '../google/service-account-tokens.ts';
import type { ServiceAccountInput } from '../google/service-account.ts';
import type { ContentStream, FilesCapability, ListQuery, ProviderAdapter, UploadInput } from '../provider-adapter.ts';
import { bearerAuth, type TokenSource } from '../shared/upstream-auth.ts';
import { createUpstreamAgent, UpstreamClient, type UpstreamTimeouts } from '../shared/upstream-client.ts';
import { GcsClient, type GcsObject } from './gcs-client.ts';
import { buildObjectName, fileIdFor, GATEWAY_FOLDER, objectNameFromFileId, parseBucketName, type BucketLocation } from './gcs-object-names.ts';
import { uploadMultipart, uploadResumable, type ObjectUpload } from './gcs-uploads.ts';

const PROVIDER = 'vertex_ai';
export const DEFAULT_GCS_API_BASE = 'https://storage.googleapis.com';

export interface VertexFilesOptions {
  /** Deployment id: named in errors and log lines. */
  instance: string;
  /** `bucket` or `bucket/prefix` (README "Configuration reference" `bucket_name`). */
  bucketName: string;
  /** The deployment's token source (shared with its chat); else one is made from `credentials`. */
  tokens?: TokenSource;
  /** Service-account JSON: object, inline JSON text or key-file path. */
  credentials?: ServiceAccountInput;
  /** Replaces https://storage.googleapis.com (emulators, private endpoints). */
  gcsApiBase?: string;
  /** The deployment's pool; when absent the adapter owns one. */
  dispatcher?: Dispatcher;
  /** Per-deployment `timeout` / `stream_timeout`. */
  timeouts?: UpstreamTimeouts;
  /** Per-deployment `max_retries`. */
  maxRetries?: number;
  /** Chunk size for uploads of unknown length (default 8 MiB; rounded to 256 KiB multiples). */
  resumableChunkBytes?: number;
}

const CHUNK_GRANULE = 256 * 1024;
/** GCS returns at most 1,000 objects per page. */
const MAX_LIST_PAGE = 999;

export class VertexFiles implements FilesCapability {
  readonly instance: string;
  readonly location: BucketLocation;
  /** The deployment's Cloud Storage client (shared with its batches). */
  readonly gcs: GcsClient;
  private readonly transport: UpstreamClient;
  private readonly ownTokens: GoogleTokenProvider | undefined;
  private readonly ownAgent: Dispatcher | undefined;

  constructor(options: VertexFilesOptions) {
    this.instance = options.instance;
    this.location = parseBucketName(options.bucketName);
    if (!options.tokens && !options.credentials) throw new Error(`Deployment ${options.instance}: Vertex AI files need credentials.`);
    this.ownAgent = options.dispatcher ? undefined : createUpstreamAgent(options.timeouts);
    const dispatcher = options.dispatcher ?? this.ownAgent!;
    this.ownTokens = options.tokens
      ? undefined
      : new GoogleTokenProvider({ instance: options.instance, credentials: options.credentials!, dispatcher, maxRetries: options.maxRetries ?? 0 });
    this.transport = new UpstreamClient({
      provider: PROVIDER,
      instance: options.instance,
      baseUrl: options.gcsApiBase ?? DEFAULT_GCS_API_BASE,
      parseError: googleErrorParser('Cloud Storage'),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      maxRetries: options.maxRetries ?? 0,
      dispatcher,
      auth: bearerAuth(options.tokens ?? this.ownTokens!),
    });
    const chunk = options.resumableChunkBytes ?? 8 * 1024 * 1024;
    this.gcs = new GcsClient({
      instance: options.instance,
      apiBase: options.gcsApiBase ?? DEFAULT_GCS_API_BASE,
      client: this.transport,
      resumableChunkBytes: Math.max(CHUNK_GRANULE, Math.round(chunk / CHUNK_GRANULE) * CHUNK_GRANULE),
    });
  }

  async upload(input: UploadInput, context: CallContext): Promise<FileObject> {
    const metadata: Record<string, string> = { purpose: input.purpose, filename: input.filename };
    // Kept so that retrieve can report the same expires_at as the upload did.
    if (input.expiresAfter) metadata.expires_after_seconds = String(input.expiresAfter.seconds);
    const upload: ObjectUpload = {
      bucket: this.location.bucket,
      name: buildObjectName(this.location, input.filename),
      contentType: safeContentType(input.mimeType),
      metadata,
      body: input.body,
    };
    await input.reserveId?.(fileIdFor(upload.bucket, upload.name));
    const object =
      input.body.bytes === undefined
        ? await uploadResumable(this.gcs, upload, context)
        : await uploadMultipart(this.gcs, upload, context);
    return this.toFileObject(object, 'uploaded');
  }

  /**
   * The objects the gateway wrote under this deployment's bucket/prefix, as FileObjects. GCS lists
   * in object-name order, so pages follow that order (`order` cannot be honoured without reading
   * the whole folder); `after` is a file id of the previous page and becomes GCS's `startOffset`.
   */
  async list(query: ListQuery, context: CallContext): Promise<FileList> {
    const limit = Math.min(Math.max(query.limit ?? MAX_LIST_PAGE, 1), MAX_LIST_PAGE);
    const after = query.after === undefined ? undefined : this.objectName(query.after);
    const head = this.location.prefix === '' ? '' : `${this.location.prefix}/`;
    // One more than asked for: the page after `after` starts with `after` itself (inclusive offset).
    const { objects, more } = await this.gcs.list(
      { bucket: this.location.bucket, prefix: `${head}${GATEWAY_FOLDER}/`, maxResults: limit + 1, ...(after ? { startOffset: after } : {}) },
      context,
    );
    const rest = objects.filter((object) => object.name !== after);
    const page = rest.slice(0, limit).map((object) => this.toFileObject(object, 'processed'));
    const data = query.purpose === undefined ? page : page.filter((file) => file.purpose === query.purpose);
    return listPage(data, rest.length > limit || more);
  }

  async retrieve(fileId: string, context: CallContext): Promise<FileObject> {
    const name = this.objectName(fileId);
    return this.toFileObject(await this.gcs.getMetadata(this.location.bucket, name, context), 'processed');
  }

  async delete(fileId: string, context: CallContext): Promise<FileDeleted> {
    await this.gcs.delete(this.location.bucket, this.objectName(fileId), context);
    return { id: fileId, object: 'file', deleted: true };
  }

  async content(fileId: string, context: CallContext): Promise<ContentStream> {
    const response = await this.gcs.download(this.location.bucket, this.objectName(fileId), context);
    const type = response.headers['content-type'];
    const length = Number(response.headers['content-length']);
    return {
      body: response.body,
      contentType: typeof type === 'string' && type !== '' ? type : 'application/octet-stream',
      ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {}),
    };
  }

  async close(): Promise<void> {
    await this.ownAgent?.close();
  }

  /** Ids outside the configured bucket/prefix are "not found": the adapter never reaches them. */
  private objectName(fileId: string): string {
    const name = objectNameFromFileId(this.location, fileId);
    if (name === undefined) throw errors.fileNotFound(fileId);
    return name;
  }

  private toFileObject(object: GcsObject, status: FileStatus): FileObject {
    const metadata = object.metadata ?? {};
    const parsedCreated = object.timeCreated ? Date.parse(object.timeCreated) : Number.NaN;
    const createdAt = Math.floor((Number.isFinite(parsedCreated) ? parsedCreated : Date.now()) / 1000);
    const expiresAfter = Number(metadata.expires_after_seconds);
    return {
      id: fileIdFor(this.location.bucket, object.name),
      object: 'file',
      bytes: Number(object.size),
      created_at: createdAt,
      filename: metadata.filename ?? object.name.slice(object.name.lastIndexOf('/') + 1),
      purpose: metadata.purpose ?? 'batch',
      status,
      expires_at: Number.isSafeInteger(expiresAfter) && expiresAfter > 0 ? createdAt + expiresAfter : null,
      status_details: null,
    };
  }
}

/** A ProviderAdapter offering only files (chat and batches for Vertex live elsewhere). */
export function createVertexFilesAdapter(options: VertexFilesOptions): ProviderAdapter & { files: VertexFiles } {
  const files = new VertexFiles(options);
  return { instance: options.instance, kind: 'vertex_ai', files, close: () => files.close() };
}

/** The MIME type goes into a multipart part header: anything odd becomes octet-stream. */
function safeContentType(mimeType: string): string {
  return /^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/.test(mimeType) ? mimeType : 'application/octet-stream';
}
