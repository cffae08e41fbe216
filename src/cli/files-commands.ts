/** `unifile files upload|list|download|delete` against a running gateway. */
import { randomBytes } from 'node:crypto';
import { createWriteStream, unlinkSync } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type OpenAI from 'openai';
import { CliError, usageError } from './cli-error.ts';
import { envelopeMessage, filesBaseUrl, gatewayRefusal, openaiClient, type Connection } from './gateway-connection.ts';
import { columns, formatTime, type Output } from './output.ts';
import { formatBytes, progressBar } from './progress-bar.ts';

/** A FileObject as the gateway returns it; managed files may carry their target model names. */
type GatewayFile = OpenAI.Files.FileObject & { target_model_names?: string[] };

export interface FilesCommandContext {
  target: Connection;
  output: Output;
  /** Files calls go to `/{provider}/v1/files…` when set. */
  provider?: string;
}

/** Control characters (a hostile filename could move the cursor or recolour the terminal) shown as `?`. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

function describeFile(file: GatewayFile): string {
  const models = file.target_model_names?.length ? `, models ${file.target_model_names.join(', ')}` : '';
  const expires = file.expires_at ? `, expires ${formatTime(file.expires_at)} UTC` : '';
  return `${file.id}  ${printable(file.filename)}  (${formatBytes(file.bytes)}, ${file.purpose}${models}${expires})`;
}

export async function uploadFile(
  context: FilesCommandContext,
  options: { path: string; purpose: string; targetModels: string[] },
): Promise<void> {
  if (context.provider && options.targetModels.length > 0) {
    throw usageError("--provider and --target-models do not go together: a managed file goes to its models' own providers");
  }
  const info = await stat(options.path).catch((error: NodeJS.ErrnoException) => {
    throw usageError(`cannot read '${options.path}': ${error.code ?? error.message}`);
  });
  if (!info.isFile()) throw usageError(`'${options.path}' is not a regular file`);
  const filename = basename(options.path);
  const progress = progressBar({ stream: process.stderr, total: info.size, label: `upload ${printable(filename)}`, enabled: context.output.progress });
  const waitingNote = options.targetModels.length > 0 ? 'copying to providers…' : 'waiting for gateway…';
  // Loaded here: only an upload needs it (and an upload never loads the openai client).
  const { uploadMultipart } = await import('./multipart-upload.ts');
  const answer = await uploadMultipart({
    url: `${filesBaseUrl(context.target, context.provider)}/files`,
    apiKey: context.target.apiKey,
    // target_model_names as `a, b` (README, "Managed files").
    fields: [['purpose', options.purpose], ...(options.targetModels.length > 0 ? [['target_model_names', options.targetModels.join(', ')] as [string, string]] : [])],
    filePath: options.path,
    fileBytes: info.size,
    filename,
    onBytes: (bytes) => progress.advance(bytes),
    onBodySent: () => progress.waiting(waitingNote),
  }).finally(() => progress.finish()); // ends the bar's line before any message
  if (answer.status >= 400) throw gatewayRefusal(answer.status, envelopeMessage(answer.body));
  const file = JSON.parse(answer.body) as GatewayFile;
  context.output.result(file, () => `uploaded ${describeFile(file)}`);
}

export async function listFiles(
  context: FilesCommandContext,
  options: { limit?: number; after?: string; purpose?: string; order?: 'asc' | 'desc'; all: boolean },
): Promise<void> {
  const client = await openaiClient(context.target, filesBaseUrl(context.target, context.provider));
  const query = { limit: options.limit, after: options.after, purpose: options.purpose, order: options.order };
  const page = await client.files.list(query);
  const files: GatewayFile[] = [...page.data];
  let hasMore = page.has_more;
  if (options.all) {
    for (let next = page; next.hasNextPage(); ) {
      next = await next.getNextPage();
      files.push(...next.data);
      hasMore = next.has_more;
    }
  }
  const list = { object: 'list', data: files, first_id: files[0]?.id ?? null, last_id: files.at(-1)?.id ?? null, has_more: hasMore };
  context.output.result(list, () => {
    if (files.length === 0) return 'no files';
    const withModels = files.some((file) => file.target_model_names !== undefined);
    const header = ['ID', 'FILENAME', 'SIZE', 'PURPOSE', 'CREATED (UTC)', 'EXPIRES (UTC)', ...(withModels ? ['MODELS'] : [])];
    const rows = files.map((file) => [
      file.id,
      printable(file.filename),
      formatBytes(file.bytes),
      file.purpose,
      formatTime(file.created_at),
      formatTime(file.expires_at),
      ...(withModels ? [(file.target_model_names ?? []).join(', ') || '-'] : []),
    ]);
    const more = hasMore ? `\nmore: unifile files list --after ${list.last_id}${options.limit ? ` --limit ${options.limit}` : ''}` : '';
    return columns([header, ...rows]) + more;
  });
}

/** The filename of `Content-Disposition: attachment; filename="…"; filename*=UTF-8''…` (RFC 6266). */
export function dispositionFilename(header: string | null): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header)?.[1];
  if (extended) {
    try {
      return decodeURIComponent(extended.trim());
    } catch {
      // fall back to the plain parameter
    }
  }
  return /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header)?.[1]?.replace(/\\(.)/g, '$1') ?? /filename\s*=\s*([^;\s]+)/i.exec(header)?.[1];
}

/** A name chosen by the server, made safe to create in the current directory (no path, no dot-names). */
function safeLocalName(name: string | undefined, fallback: string): string {
  const last = basename((name ?? '').replace(/\\/g, '/'));
  const cleaned = printable(last).replace(/\?/g, '_');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? fallback : cleaned;
}

async function resolveDestination(requested: string | undefined, serverName: string | undefined, fileId: string, force: boolean): Promise<string> {
  let path = requested;
  if (path === undefined || (await stat(path).catch(() => undefined))?.isDirectory()) {
    path = join(path ?? '.', safeLocalName(serverName, safeLocalName(fileId, 'download')));
    // A name the server chose never replaces a file silently.
    if (!force && (await stat(path).catch(() => undefined))) throw usageError(`'${path}' exists: pass -o PATH to choose where, or --force to replace it`);
  }
  return path;
}

export async function downloadFile(context: FilesCommandContext, options: { fileId: string; output?: string; force: boolean }): Promise<void> {
  const client = await openaiClient(context.target, filesBaseUrl(context.target, context.provider));
  const response = await client.files.content(options.fileId);
  if (!response.body) throw new CliError('the gateway answered without a body');
  const lengthHeader = response.headers.get('content-length');
  const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  let received = 0;
  if (options.output === '-') {
    // The bytes are the output: no result line, and a progress bar only if stderr is a terminal.
    const progress = progressBar({ stream: process.stderr, total, label: `download ${options.fileId}`, enabled: process.stderr.isTTY === true && !process.stdout.isTTY });
    await pipeline(source, counting((bytes) => progress.advance(bytes)), process.stdout as unknown as Writable, { end: false });
    progress.finish();
    return;
  }
  const path = await resolveDestination(options.output, dispositionFilename(response.headers.get('content-disposition')), options.fileId, options.force);
  const partial = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.part`);
  const progress = progressBar({ stream: process.stderr, total, label: `download ${printable(basename(path))}`, enabled: context.output.progress });
  // Ctrl-C or a kill mid-way removes the partial file too (exit code 130/143, as a shell reports signals).
  const interrupted = (signal: NodeJS.Signals) => {
    progress.finish();
    try {
      unlinkSync(partial);
    } catch {
      // not created yet
    }
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    await pipeline(source, counting((bytes) => ((received += bytes), progress.advance(bytes))), createWriteStream(partial, { flags: 'wx' }));
    if (total !== undefined && received !== total) throw new CliError(`the download ended after ${received} of ${total} bytes`);
    // Written to a hidden partial file and renamed at the end: a failed download leaves no truncated file.
    await rename(partial, path);
  } catch (error) {
    await unlink(partial).catch(() => {});
    throw error;
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    progress.finish();
  }
  context.output.result({ id: options.fileId, path, bytes: received }, () => `saved ${options.fileId} to ${printable(path)} (${formatBytes(received)})`);
}

function counting(onBytes: (bytes: number) => void) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      onBytes(chunk.length);
      yield chunk;
    }
  };
}

export async function deleteFile(context: FilesCommandContext, options: { fileId: string }): Promise<void> {
  const client = await openaiClient(context.target, filesBaseUrl(context.target, context.provider));
  const deleted = await client.files.delete(options.fileId);
  context.output.result(deleted, () => `deleted ${deleted.id}`);
}
