/**
 * The library face of the Files API (SPEC §8): the same adapters the server uses, called
 * directly with credentials, no server and no database.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { errors } from '../core/errors.ts';
import { resolveMimeType } from '../core/mime-type.ts';
import type { ExpiresAfter, FileDeleted, FileList, FileObject } from '../core/openai-types.ts';
import type { AdapterLogger, CallContext, ContentStream, FilesCapability, ListQuery, ProviderAdapter, ProviderKind, UploadBody } from '../providers/provider-adapter.ts';
import { isProviderKind, PROVIDER_KINDS } from '../providers/provider-settings.ts';
import { createAdapter } from '../providers/registry.ts';

export interface ProviderOptions {
  /** openai (default), azure or vertex_ai. */
  customLlmProvider?: ProviderKind;
  apiKey?: string;
  apiBase?: string;
  apiVersion?: string;
  organization?: string;
  vertexProject?: string;
  vertexLocation?: string;
  /** Service-account JSON text or a path to it. */
  vertexCredentials?: string;
  bucketName?: string;
  gcsApiBase?: string;
  /** Seconds to wait for response headers. */
  timeout?: number;
  signal?: AbortSignal;
  logger?: AdapterLogger;
}

export interface CreateFileOptions extends ProviderOptions {
  /** A path on disk, a Buffer, or a stream (a stream can be sent once only). */
  file: string | Buffer | Readable;
  purpose: string;
  filename?: string;
  mimeType?: string;
  expiresAfter?: ExpiresAfter;
}

const silent: AdapterLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const adapters = new Map<string, ProviderAdapter>();

function filesOf(options: ProviderOptions): FilesCapability {
  const provider = options.customLlmProvider ?? 'openai';
  if (!isProviderKind(provider)) throw errors.unknownProvider(provider, PROVIDER_KINDS);
  const { signal: _signal, logger: _logger, ...settings } = options;
  const key = createHash('sha256').update(JSON.stringify(settings)).digest('hex');
  let adapter = adapters.get(key);
  if (!adapter) {
    adapter = createAdapter({
      provider,
      instance: `sdk:${provider}`,
      model: '',
      apiKey: options.apiKey,
      apiBase: options.apiBase,
      apiVersion: options.apiVersion,
      organization: options.organization,
      vertexProject: options.vertexProject,
      vertexLocation: options.vertexLocation,
      vertexCredentials: options.vertexCredentials,
      bucketName: options.bucketName,
      gcsApiBase: options.gcsApiBase,
      timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000,
    });
    adapters.set(key, adapter);
  }
  if (!adapter.files) throw errors.unsupportedOperation(provider, 'files');
  return adapter.files;
}

function contextOf(options: ProviderOptions): CallContext {
  return { requestId: `sdk-${Date.now().toString(36)}`, logger: options.logger ?? silent, signal: options.signal };
}

function bodyOf(file: CreateFileOptions['file']): UploadBody {
  if (typeof file === 'string') return { open: () => createReadStream(file), bytes: statSync(file).size };
  if (Buffer.isBuffer(file)) return { open: () => Readable.from([file]), bytes: file.length };
  let used = false;
  return {
    open: () => {
      if (used) throw new Error('a stream body can only be sent once');
      used = true;
      return file;
    },
    bytes: undefined,
  };
}

export async function createFile(options: CreateFileOptions): Promise<FileObject> {
  const filename = options.filename ?? (typeof options.file === 'string' ? basename(options.file) : 'unknown_file');
  const head = Buffer.isBuffer(options.file) ? options.file.subarray(0, 512) : Buffer.alloc(0);
  return filesOf(options).upload(
    {
      body: bodyOf(options.file),
      filename,
      mimeType: options.mimeType ?? resolveMimeType({ filename, head }),
      purpose: options.purpose,
      expiresAfter: options.expiresAfter,
    },
    contextOf(options),
  );
}

export async function listFiles(options: ProviderOptions & ListQuery = {}): Promise<FileList> {
  const { purpose, limit, order, after } = options;
  return filesOf(options).list({ purpose, limit, order, after }, contextOf(options));
}

export async function retrieveFile(fileId: string, options: ProviderOptions = {}): Promise<FileObject> {
  return filesOf(options).retrieve(fileId, contextOf(options));
}

export async function deleteFile(fileId: string, options: ProviderOptions = {}): Promise<FileDeleted> {
  return filesOf(options).delete(fileId, contextOf(options));
}

/** The file's bytes as a stream (never buffered whole). */
export async function fileContent(fileId: string, options: ProviderOptions = {}): Promise<ContentStream> {
  return filesOf(options).content(fileId, contextOf(options));
}

/** Closes the connection pools the functions above opened. */
export async function closeProviderClients(): Promise<void> {
  const all = [...adapters.values()];
  adapters.clear();
  await Promise.allSettled(all.map((adapter) => adapter.close()));
}
