/**
 * A faithful local Gemini API (Google AI Studio, docs/wire-formats.md §4): the Files API with the
 * resumable upload protocol (gemini-upload.ts), get/list/delete (gemini-files.ts), and
 * generateContent/streamGenerateContent (gemini-chat.ts), on one loopback server built on the
 * emulator kit (recorded calls, scripted faults).
 *
 * - api_base = `emulator.url` (paths start with /v1beta and /upload/v1beta).
 * - Auth: `x-goog-api-key: <key>` or `?key=<key>`; each accepted key is its own project.
 * - Time: files go PROCESSING → ACTIVE (or FAILED) after `processingMs` and disappear after
 *   `ttlMs` (48 h) of the emulator clock. Tests move it with `advanceClock`, end one file at once
 *   with `expireFile`, or over HTTP:
 *     POST /__emulator/gemini/clock       {"advanceSeconds": n}
 *     POST /__emulator/gemini/expire      {"name": "files/abc"}
 *     POST /__emulator/gemini/processing  {"processingMs"?: n, "outcome"?: "ACTIVE"|"FAILED"}
 */
import { startEmulatorServer, type EmulatorServer } from './emulator-kit.ts';
import type { EmulatorExchange } from './emulator-exchange.ts';
import { handleGeminiChat } from './gemini-chat.ts';
import { geminiError } from './gemini-errors.ts';
import { handleGeminiFiles } from './gemini-files.ts';
import { GeminiFiles, type GeminiFileState, type GeminiFilesSettings } from './gemini-files-store.ts';
import { GeminiUploads } from './gemini-upload.ts';

export interface GeminiEmulatorOptions {
  port?: number;
  /** Accepted API keys, each its own project; default ['gemini-emulator-key']. */
  apiKeys?: readonly string[];
  /** How long new files stay PROCESSING, ms (default 0: ACTIVE at once). */
  processingMs?: number;
  /** File lifetime, ms (default 48 h). */
  ttlMs?: number;
  /** Pause between streamed generateContent chunks, ms (default 0). */
  chatChunkDelayMs?: number;
  /** Models that exist (others get 404); default any name. */
  models?: readonly string[];
}

/** A stored file as tests see it. */
export interface GeminiEmulatorFile {
  name: string;
  displayName: string | undefined;
  mimeType: string;
  bytes: number;
  /** hex SHA-256 of the stored bytes. */
  sha256: string;
  state: GeminiFileState;
  uri: string;
  apiKey: string;
}

export interface GeminiEmulator extends EmulatorServer {
  /** The first accepted key. */
  apiKey: string;
  /** Live files (not deleted, not expired), newest first. */
  files(): GeminiEmulatorFile[];
  /** Moves the emulator clock forward (processing finishes, files expire). */
  advanceClock(ms: number): void;
  /** Makes a file (`files/abc` or `abc`) expire now; false when it does not exist. */
  expireFile(name: string): boolean;
  /** Changes how files uploaded from now on are processed. */
  setProcessing(settings: Partial<Pick<GeminiFilesSettings, 'processingMs' | 'outcome'>>): void;
}

export async function startGeminiEmulator(options: GeminiEmulatorOptions = {}): Promise<GeminiEmulator> {
  const apiKeys = options.apiKeys ?? ['gemini-emulator-key'];
  const files = new GeminiFiles({ processingMs: options.processingMs ?? 0, ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}) });
  const defaults = { ...files.settings };
  let uploads: GeminiUploads | undefined;
  const control = (route: string, body: unknown): unknown => {
    const input = (body ?? {}) as Record<string, unknown>;
    if (route === 'POST /__emulator/gemini/clock') {
      files.advanceClock(Number(input.advanceSeconds ?? 0) * 1000);
      return { now: new Date(files.now()).toISOString() };
    }
    if (route === 'POST /__emulator/gemini/expire') return { expired: files.expire(String(input.name ?? '').replace(/^files\//, '')) };
    if (route === 'POST /__emulator/gemini/processing') {
      setProcessing(input as Partial<GeminiFilesSettings>);
      return { ...files.settings };
    }
    return undefined;
  };
  const setProcessing = (settings: Partial<Pick<GeminiFilesSettings, 'processingMs' | 'outcome'>>): void => {
    if (settings.processingMs !== undefined) files.settings.processingMs = Number(settings.processingMs);
    if (settings.outcome === 'ACTIVE' || settings.outcome === 'FAILED') files.settings.outcome = settings.outcome;
  };
  const server = await startEmulatorServer({
    name: 'gemini',
    ...(options.port !== undefined ? { port: options.port } : {}),
    internalErrorBody: (error) => geminiError(500, `Internal error encountered. ${String(error)}`),
    onReset: () => {
      files.clear();
      uploads?.clear();
      Object.assign(files.settings, defaults);
    },
    control,
    handler: (exchange) => route(exchange, { files, uploads: uploads!, apiKeys, baseUrl: server.url, chunkDelayMs: options.chatChunkDelayMs ?? 0, models: options.models }),
  });
  uploads = new GeminiUploads(files, server.url);

  return Object.assign(server, {
    apiKey: apiKeys[0]!,
    files: (): GeminiEmulatorFile[] =>
      files.list().map((file) => ({
        name: `files/${file.id}`,
        displayName: file.displayName,
        mimeType: file.mimeType,
        bytes: file.bytes,
        sha256: file.sha256,
        state: files.state(file),
        uri: `${server.url}/v1beta/files/${file.id}`,
        apiKey: file.project,
      })),
    advanceClock: (ms: number) => files.advanceClock(ms),
    expireFile: (name: string) => files.expire(name.replace(/^files\//, '')),
    setProcessing,
  });
}

interface RouteContext {
  files: GeminiFiles;
  uploads: GeminiUploads;
  apiKeys: readonly string[];
  baseUrl: string;
  chunkDelayMs: number;
  models: readonly string[] | undefined;
}

async function route(exchange: EmulatorExchange, context: RouteContext): Promise<void> {
  const { path, method } = exchange;
  // A session URL carries its own credential (the upload id), as on Google's upload servers.
  const uploadId = exchange.query.get('upload_id');
  if (path === '/upload/v1beta/files' && method === 'POST' && uploadId) return context.uploads.command(exchange, uploadId);

  const header = exchange.headers['x-goog-api-key'];
  const key = (Array.isArray(header) ? header[0] : header) ?? exchange.query.get('key') ?? undefined;
  if (key === undefined || key === '') {
    return exchange.sendJson(
      403,
      geminiError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."),
    );
  }
  if (!context.apiKeys.includes(key)) {
    return exchange.sendJson(
      400,
      geminiError(400, 'API key not valid. Please pass a valid API key.', 'INVALID_ARGUMENT', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
      ]),
    );
  }
  if (path === '/upload/v1beta/files' && method === 'POST') return context.uploads.start(exchange, key);
  if (await handleGeminiFiles({ exchange, files: context.files, project: key, baseUrl: context.baseUrl })) return;
  const chat = { files: context.files, project: key, chunkDelayMs: context.chunkDelayMs, ...(context.models ? { models: context.models } : {}) };
  if (await handleGeminiChat(exchange, chat)) return;
  await exchange.sendJson(404, geminiError(404, `Method not found: ${method} ${path}`));
}
