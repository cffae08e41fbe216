/**
 * A faithful local OpenAI Files API (docs/wire-formats.md §1.1–§1.6) and chat completions (echo model,
 * chat-openai.ts) over real HTTP.
 * api_base (what an OpenAI client or the gateway calls) = `emulator.url + '/v1'`.
 */
import { randomBytes } from 'node:crypto';
import { BatchEngine } from './batch-engine.ts';
import { handleBatches } from './batch-routes.ts';
import { handleOpenAIChat } from './chat-openai.ts';
import { startEmulatorServer, type EmulatorServer } from './emulator-kit.ts';
import type { EmulatorExchange } from './emulator-exchange.ts';
import { FileStore } from './emulator-files-store.ts';
import { EmulatedFineTuning } from './fine-tuning-jobs.ts';
import {
  contentDisposition,
  pageFiles,
  parseListQuery,
  randomBase62,
  receiveUpload,
  type FilesStore,
  type Problem,
  type StoredFile,
  type UploadRules,
} from './files-api-common.ts';

export interface OpenAIEmulator extends EmulatorServer {
  /** The batches this emulator runs (its clock can be changed with setClock). */
  batches: BatchEngine;
  /** `url + '/v1'`: the base URL for the openai client and the gateway's api_base. */
  apiBase: string;
  apiKey: string;
  /** Fine-tuning jobs (fine-tuning-jobs.ts); set `stepMs` to pace jobs created afterwards. */
  fineTuning: EmulatedFineTuning;
}

export interface OpenAIEmulatorOptions {
  port?: number;
  /** Accepted bearer key; default 'sk-emulator-openai'. */
  apiKey?: string;
  /** Pause between streamed chat chunks in milliseconds; default 0. */
  chatChunkDelayMs?: number;
  /** Chat models that exist (others get 404 model_not_found); default: any name. */
  models?: readonly string[];
  /** How long each fine-tuning stage lasts, in milliseconds; default 200. */
  fineTuningStepMs?: number;
  /** Batch clock: milliseconds per state step (default 20) and lines answered per step (default 250). */
  batchStepMs?: number;
  batchLinesPerStep?: number;
}

const THIRTY_DAYS = 30 * 24 * 3600;

const UPLOAD_RULES: UploadRules = {
  purposes: ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'],
  dottedExpiry: false,
  expiryRange: () => ({ min: 3600, max: THIRTY_DAYS }),
  // docs/wire-formats.md §1.4: batch files expire after 30 days unless told otherwise; others persist.
  defaultExpirySeconds: (purpose) => (purpose === 'batch' ? THIRTY_DAYS : null),
  newId: () => `file-${randomBase62(24)}`,
};

export async function startOpenAIEmulator(options: OpenAIEmulatorOptions = {}): Promise<OpenAIEmulator> {
  const apiKey = options.apiKey ?? 'sk-emulator-openai';
  let store: FilesStore | undefined;
  let fineTuning: EmulatedFineTuning | undefined;
  let engine: BatchEngine | undefined;
  const server = await startEmulatorServer({
    name: 'openai',
    port: options.port,
    responseHeaders: () => ({ 'x-request-id': `req_${randomBytes(16).toString('hex')}` }),
    internalErrorBody: () => envelope({ message: 'The server had an error while processing your request. Sorry about that!', param: null, code: null }, 'server_error'),
    onReset: () => {
      store?.clear();
      engine?.batches.clear();
      fineTuning?.clear();
    },
    handler: (exchange) =>
      route(exchange, { apiKey, store: store!, engine: engine!, chatChunkDelayMs: options.chatChunkDelayMs ?? 0, models: options.models, fineTuning: fineTuning! }),
  });
  store = new FileStore(server.tempDir);
  engine = new BatchEngine({
    provider: 'openai',
    store,
    tempDir: server.tempDir,
    stepMs: options.batchStepMs ?? 20,
    linesPerStep: options.batchLinesPerStep ?? 250,
    models: options.models,
    newId: () => `batch_${randomBase62(32)}`,
    newFileId: UPLOAD_RULES.newId,
  });
  fineTuning = new EmulatedFineTuning({
    flavour: 'openai',
    store,
    tempDir: server.tempDir,
    stepMs: options.fineTuningStepMs ?? 200,
    ...(options.models ? { models: options.models } : {}),
    newFileId: UPLOAD_RULES.newId,
  });
  const close = server.close.bind(server);
  return Object.assign(server, {
    apiBase: `${server.url}/v1`,
    apiKey,
    batches: engine!,
    fineTuning,
    close: async () => {
      engine?.close();
      await close();
    },
  });
}

interface RouteContext {
  apiKey: string;
  store: FilesStore;
  engine: BatchEngine;
  chatChunkDelayMs: number;
  models: readonly string[] | undefined;
  fineTuning: EmulatedFineTuning;
}

async function route(exchange: EmulatorExchange, context: RouteContext): Promise<void> {
  const authProblem = checkAuth(exchange.headers.authorization, context.apiKey);
  if (authProblem) return void (await exchange.sendJson(401, envelope(authProblem)));
  const { method, path } = exchange;
  if (path === '/v1/chat/completions' && method === 'POST') {
    await context.fineTuning.advance();
    return handleOpenAIChat(exchange, {
      provider: 'openai',
      lookupFile: (id) => lookupFile(context.store, id),
      chunkDelayMs: context.chatChunkDelayMs,
      ...(context.models ? { models: [...context.models, ...context.fineTuning.tunedModels()] } : {}),
      refusesModel: (model) => context.fineTuning.refusesModel(model),
    });
  }
  const fineTuning = /^\/v1\/fine_tuning\/jobs(\/.*)?$/.exec(path);
  if (fineTuning) return context.fineTuning.handle(exchange, fineTuning[1] ?? '', (status, problem) => exchange.sendJson(status, envelope(problem)));
  if (path === '/v1/batches' || path.startsWith('/v1/batches/')) {
    return handleBatches(exchange, path.slice('/v1/batches'.length), {
      engine: context.engine,
      store: context.store,
      provider: 'openai',
      fileReady: () => true,
      sendProblem: (target, status, problem) => target.sendJson(status, envelope(problem)),
    });
  }
  if (path === '/v1/files') {
    if (method === 'POST') return upload(exchange, context.store);
    if (method === 'GET') return list(exchange, context.store);
  }
  const match = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
  if (match) {
    const id = decodeSegment(match[1]!);
    const file = context.store.get(id);
    const isContent = match[2] !== undefined;
    if (method === 'GET' || (method === 'DELETE' && !isContent)) {
      if (!file) return void (await exchange.sendJson(404, notFound(id)));
      if (isContent) {
        return exchange.sendFile(200, file.path, file.bytes, {
          'content-type': 'application/octet-stream',
          'content-disposition': contentDisposition(file.meta.filename),
        });
      }
      if (method === 'GET') return exchange.sendJson(200, fileObject(file));
      await context.store.delete(id);
      return exchange.sendJson(200, { id, object: 'file', deleted: true });
    }
  }
  // What api.openai.com answers for an unknown route or method.
  await exchange.sendJson(404, envelope({ message: `Invalid URL (${method} ${path})`, param: null, code: null }));
}

async function upload(exchange: EmulatorExchange, store: FilesStore): Promise<void> {
  const result = await receiveUpload(exchange, store, UPLOAD_RULES);
  if (!result.ok) return exchange.sendJson(400, envelope(result.problem));
  await exchange.sendJson(200, fileObject(result.file));
}

async function list(exchange: EmulatorExchange, store: FilesStore): Promise<void> {
  const query = parseListQuery(exchange.query);
  if (!query.ok) return exchange.sendJson(400, envelope(query.problem));
  const page = pageFiles(store.list(), query.value);
  const data = page.data.map(fileObject);
  // docs/wire-formats.md §1.5: all five fields are always present; openai-node pages only on has_more:true.
  await exchange.sendJson(200, {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: page.hasMore,
  });
}

/** docs/wire-formats.md §1.3 FileObject; `status` is deprecated but required, and real responses carry status_details:null. */
function fileObject(file: StoredFile): Record<string, unknown> {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: file.meta.createdAt,
    expires_at: file.meta.expiresAt,
    filename: file.meta.filename,
    purpose: file.meta.purpose,
    status: 'processed',
    status_details: null,
  };
}

function checkAuth(header: string | undefined, apiKey: string): Problem | undefined {
  if (!header) {
    return {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      param: null,
      code: 'invalid_api_key',
    };
  }
  const key = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
  if (key === apiKey) return undefined;
  // OpenAI echoes only a masked key.
  const masked = key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '*'.repeat(key.length);
  return {
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    param: null,
    code: 'invalid_api_key',
  };
}

/** docs/wire-formats.md §1.4 / §1.2: the exact 404 body for an unknown file id. */
function notFound(id: string): unknown {
  return envelope({ message: `No such File object: ${id}`, param: 'id', code: null });
}

function envelope(problem: Problem, type = 'invalid_request_error'): unknown {
  return { error: { message: problem.message, type, param: problem.param, code: problem.code } };
}

function lookupFile(store: FilesStore, id: string): { filename: string; bytes: number } | undefined {
  const file = store.get(id);
  return file ? { filename: file.meta.filename, bytes: file.bytes } : undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
