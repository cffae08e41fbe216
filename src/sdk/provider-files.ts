/**
 * The library face of the Files API (README "Library use"): the same adapters the server uses, called
 * directly with credentials, no server and no database.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { errors } from '../core/errors.ts';
import { resolveMimeType } from '../core/mime-type.ts';
import { oneShotBody } from '../core/spooled-file.ts';
import type { ExpiresAfter, FileDeleted, FileList, FileObject } from '../core/openai-types.ts';
import type { AdapterLogger, CallContext, ContentStream, FilesCapability, ListQuery, ProviderAdapter, ProviderKind, UploadBody } from '../providers/provider-adapter.ts';
import { defaultCatalog } from '../providers/provider-list.ts';
import type { ProviderSettings } from '../providers/provider-settings.ts';
import { createAdapter } from '../providers/registry.ts';

/** The provider's credentials and endpoints, as in a files_settings entry (camelCase). */
export interface ProviderOptions extends Omit<Partial<ProviderSettings>, 'provider' | 'instance' | 'model' | 'timeoutMs'> {
  /** openai (default), azure, vertex_ai or gemini. */
  customLlmProvider?: ProviderKind;
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
  if (!defaultCatalog.has(provider)) throw errors.unknownProvider(provider, defaultCatalog.kinds);
  const { signal: _signal, logger: _logger, customLlmProvider: _provider, timeout, ...settings } = options;
  const key = createHash('sha256').update(JSON.stringify({ provider, timeout, settings })).digest('hex');
  let adapter = adapters.get(key);
  if (!adapter) {
    adapter = createAdapter({ ...settings, provider, instance: `sdk:${provider}`, model: '', timeoutMs: timeout === undefined ? undefined : timeout * 1000 });
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
  return oneShotBody(file);
}

export async function createFile(options: CreateFileOptions): Promise<FileObject> {
  const { file, purpose, filename: givenName, mimeType, expiresAfter, ...provider } = options;
  const filename = givenName ?? (typeof file === 'string' ? basename(file) : 'unknown_file');
  const head = Buffer.isBuffer(file) ? file.subarray(0, 512) : Buffer.alloc(0);
  return filesOf(provider).upload(
    { body: bodyOf(file), filename, mimeType: mimeType ?? resolveMimeType({ filename, head }), purpose, expiresAfter },
    contextOf(provider),
  );
}

export async function listFiles(options: ProviderOptions & ListQuery = {}): Promise<FileList> {
  const { purpose, limit, order, after, ...provider } = options;
  return filesOf(provider).list({ purpose, limit, order, after }, contextOf(provider));
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
