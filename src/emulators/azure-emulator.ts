/**
 * A faithful local Azure OpenAI Files API (docs/wire-formats.md §2.1–§2.3, §2.6) over real HTTP.
 * api_base (the resource endpoint; AzureOpenAI's `endpoint`) = `emulator.url`. Two surfaces
 * share one store, as on a real resource:
 *   classic  {url}/openai/files…?api-version=YYYY-MM-DD[-preview]  (required)
 *   v1       {url}/openai/v1/files…[?api-version=v1|preview]        (optional)
 * Chat (echo model, chat-openai.ts): `/openai/deployments/{deployment}/chat/completions` with a
 * required api-version, or `/openai/v1/chat/completions` with model = deployment name (docs/wire-formats.md §2.1).
 */
import { randomUUID } from 'node:crypto';
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
  randomHex,
  receiveUpload,
  sortFiles,
  type FilesStore,
  type Problem,
  type StoredFile,
  type UploadRules,
} from './files-api-common.ts';

export interface AzureEmulator extends EmulatorServer {
  /** The batches this emulator runs (its clock can be changed with setClock). */
  batches: BatchEngine;
  apiKey: string;
  /** Fine-tuning jobs (fine-tuning-jobs.ts); set `stepMs` to pace jobs created afterwards. */
  fineTuning: EmulatedFineTuning;
}

export interface AzureEmulatorOptions {
  port?: number;
  /** Accepted in `api-key` or as `Authorization: Bearer`; default 'azure-emulator-key'. */
  apiKey?: string;
  /** How many retrieves of a new file report pending/running before processed; default 1. */
  pendingPolls?: number;
  /** Pause between streamed chat chunks in milliseconds; default 0. */
  chatChunkDelayMs?: number;
  /** Chat deployments that exist (others get 404 DeploymentNotFound); default: any name. */
  deployments?: readonly string[];
  /** How long each fine-tuning stage lasts, in milliseconds; default 200. */
  fineTuningStepMs?: number;
  /** Base model ids a fine-tuning job may name; default AZURE_FINE_TUNABLE_MODELS. */
  fineTunableModels?: readonly string[];
  /** Batch clock: milliseconds per state step (default 20) and lines answered per step (default 250). */
  batchStepMs?: number;
  batchLinesPerStep?: number;
}

type Surface = 'classic' | 'v1';

/**
 * Base models Azure OpenAI fine-tunes, as `model` names them: model id + version (the fine-tuning
 * model table of the Azure AI Foundry docs: gpt-35-turbo 0613/1106/0125, gpt-4o-mini 2024-07-18,
 * gpt-4o 2024-08-06, gpt-4.1, gpt-4.1-mini and gpt-4.1-nano 2025-04-14).
 */
export const AZURE_FINE_TUNABLE_MODELS: readonly string[] = [
  'gpt-35-turbo-0613',
  'gpt-35-turbo-1106',
  'gpt-35-turbo-0125',
  'gpt-4o-mini-2024-07-18',
  'gpt-4o-2024-08-06',
  'gpt-4.1-2025-04-14',
  'gpt-4.1-mini-2025-04-14',
  'gpt-4.1-nano-2025-04-14',
];

const THIRTY_DAYS = 30 * 24 * 3600;
const ACCESS_DENIED =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';

function uploadRules(surface: Surface): UploadRules {
  return {
    // docs/wire-formats.md §2.2 classic upload enum (+ evals, which the resource accepts), §2.3 v1 enum.
    purposes:
      surface === 'classic'
        ? ['fine-tune', 'fine-tune-results', 'assistants', 'assistants_output', 'batch', 'evals']
        : ['assistants', 'batch', 'fine-tune', 'evals'],
    // docs/wire-formats.md §2.3: the Azure docs' curl sends `expires_after.seconds`; openai-node sends brackets.
    dottedExpiry: true,
    // docs/wire-formats.md §2.3: batch files may only be given 14–30 days.
    expiryRange: (purpose) => ({ min: purpose === 'batch' ? 14 * 24 * 3600 : 3600, max: THIRTY_DAYS }),
    defaultExpirySeconds: () => null,
    newId: () => `file-${randomHex(32)}`,
  };
}

interface RouteContext {
  apiKey: string;
  pendingPolls: number;
  store: FilesStore;
  engine: BatchEngine;
  endpoint: string;
  chatChunkDelayMs: number;
  deployments: readonly string[] | undefined;
  fineTuning: EmulatedFineTuning;
}

export async function startAzureEmulator(options: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const apiKey = options.apiKey ?? 'azure-emulator-key';
  let context: RouteContext | undefined;
  const server = await startEmulatorServer({
    name: 'azure',
    port: options.port,
    responseHeaders: () => ({ 'apim-request-id': randomUUID() }),
    internalErrorBody: () => ({ error: { code: 'internalFailure', message: 'The server had an error while processing your request.' } }),
    onReset: () => {
      context?.store.clear();
      context?.fineTuning.clear();
      context?.engine.batches.clear();
    },
    handler: (exchange) => route(exchange, context!),
  });
  const store: FilesStore = new FileStore(server.tempDir);
  const pendingPolls = options.pendingPolls ?? 1;
  const fineTuning = new EmulatedFineTuning({
    flavour: 'azure',
    store,
    tempDir: server.tempDir,
    stepMs: options.fineTuningStepMs ?? 200,
    // Azure tunes base models by model id; a deployment name is refused (Azure OpenAI REST
    // "Fine Tuning - Create": `model` is the base model's model-id).
    models: options.fineTunableModels ?? AZURE_FINE_TUNABLE_MODELS,
    // Azure refuses files it has not processed yet (docs/wire-formats.md §2.2).
    fileReady: (file) => fileStatus(file, pendingPolls) === 'processed',
    newFileId: () => `file-${randomHex(32)}`,
  });
  const engine = new BatchEngine({
    provider: 'azure',
    store,
    tempDir: server.tempDir,
    stepMs: options.batchStepMs ?? 20,
    linesPerStep: options.batchLinesPerStep ?? 250,
    models: options.deployments,
    newId: () => `batch_${randomUUID()}`,
    newFileId: () => `file-${randomHex(32)}`,
  });
  context = {
    apiKey,
    pendingPolls,
    store,
    engine,
    endpoint: server.url,
    chatChunkDelayMs: options.chatChunkDelayMs ?? 0,
    deployments: options.deployments,
    fineTuning,
  };
  const close = server.close.bind(server);
  return Object.assign(server, {
    apiKey,
    batches: engine,
    fineTuning,
    close: async () => {
      engine.close();
      await close();
    },
  });
}

async function route(exchange: EmulatorExchange, context: RouteContext): Promise<void> {
  const bearer = /^Bearer\s+(.+)$/i.exec(exchange.headers.authorization ?? '')?.[1]?.trim();
  if (exchange.headers['api-key'] !== context.apiKey && bearer !== context.apiKey) {
    return exchange.sendJson(401, { error: { code: '401', message: ACCESS_DENIED } });
  }
  const chat = /^\/openai(?:\/deployments\/([^/]+)|(\/v1))\/chat\/completions$/.exec(exchange.path);
  if (chat) return routeChat(exchange, context, { deployment: chat[1] === undefined ? undefined : decodeSegment(chat[1]), v1: chat[2] !== undefined });
  const tuning = /^\/openai(\/v1)?\/fine_tuning\/jobs(\/.*)?$/.exec(exchange.path);
  if (tuning) return routeFineTuning(exchange, context, { surface: tuning[1] ? 'v1' : 'classic', rest: tuning[2] ?? '' });
  const batches = /^\/openai(\/v1)?\/batches(\/.*)?$/.exec(exchange.path);
  if (batches) return routeBatches(exchange, context, { v1: batches[1] !== undefined, rest: batches[2] ?? '' });
  const match = /^\/openai(\/v1)?\/files(?:\/([^/]+)(\/content)?)?$/.exec(exchange.path);
  const surface: Surface = match?.[1] ? 'v1' : 'classic';
  const version = exchange.query.get('api-version');
  if (!match || (surface === 'classic' && !/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version ?? ''))) {
    // What the Azure front door answers for an unknown path or a missing/unknown api-version.
    return exchange.sendJson(404, { error: { code: '404', message: 'Resource not found' } });
  }
  if (surface === 'v1' && version !== null && version !== 'v1' && version !== 'preview') {
    return exchange.sendJson(400, { error: { code: 'BadRequest', message: 'API version not supported' } });
  }
  const { method } = exchange;
  const id = match[2] === undefined ? undefined : decodeSegment(match[2]);
  const isContent = match[3] !== undefined;
  if (id === undefined) {
    if (method === 'POST') return upload(exchange, context, surface);
    if (method === 'GET') return list(exchange, context, surface);
  } else if (method === 'GET' || (method === 'DELETE' && !isContent)) {
    const file = context.store.get(id);
    if (!file) {
      return sendError(exchange, surface, 404, { message: `File with id '${id}' was not found.`, param: 'file_id', code: 'notFound' });
    }
    if (isContent) {
      return exchange.sendFile(200, file.path, file.bytes, {
        'content-type': 'application/octet-stream',
        'content-disposition': contentDisposition(file.meta.filename),
      });
    }
    if (method === 'DELETE') {
      await context.store.delete(id);
      return exchange.sendJson(200, { object: 'file', deleted: true, id });
    }
    file.meta.retrieves += 1; // only retrieves advance processing, as a polling client would see it
    return exchange.sendJson(200, fileObject(file, context.pendingPolls));
  }
  await exchange.sendJson(404, { error: { code: '404', message: 'Resource not found' } });
}

/** docs/wire-formats.md §2.1 fine-tuning: classic needs a dated api-version, v1 takes none, v1 or preview. */
async function routeFineTuning(exchange: EmulatorExchange, context: RouteContext, target: { surface: Surface; rest: string }): Promise<void> {
  const version = exchange.query.get('api-version');
  const versionOk = target.surface === 'v1' ? version === null || version === 'v1' || version === 'preview' : /^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version ?? '');
  if (!versionOk) return exchange.sendJson(404, { error: { code: '404', message: 'Resource not found' } });
  await context.fineTuning.handle(exchange, target.rest, (status, problem) => sendError(exchange, target.surface, status, { ...problem, code: problem.code ?? 'invalidPayload' }));
}

async function routeBatches(exchange: EmulatorExchange, context: RouteContext, target: { v1: boolean; rest: string }): Promise<void> {
  const version = exchange.query.get('api-version');
  const versionOk = target.v1 ? version === null || version === 'v1' || version === 'preview' : /^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version ?? '');
  if (!versionOk) return exchange.sendJson(404, { error: { code: '404', message: 'Resource not found' } });
  const surface: Surface = target.v1 ? 'v1' : 'classic';
  await handleBatches(exchange, target.rest, {
    engine: context.engine,
    store: context.store,
    provider: 'azure',
    // docs/wire-formats.md §2.4: only processed files may be batch input.
    fileReady: (id) => {
      const file = context.store.get(id);
      return file !== undefined && fileStatus(file, context.pendingPolls) === 'processed';
    },
    sendProblem: (target2, status, problem) => sendError(target2, surface, status, { ...problem, code: problem.code ?? String(status) }),
  });
}

async function routeChat(exchange: EmulatorExchange, context: RouteContext, target: { deployment: string | undefined; v1: boolean }): Promise<void> {
  const version = exchange.query.get('api-version');
  const versionOk = target.v1 ? version === null || version === 'v1' || version === 'preview' : /^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version ?? '');
  if (exchange.method !== 'POST' || !versionOk) return exchange.sendJson(404, { error: { code: '404', message: 'Resource not found' } });
  await context.fineTuning.advance();
  await handleOpenAIChat(exchange, {
    provider: 'azure',
    ...(target.deployment !== undefined ? { pathDeployment: target.deployment } : {}),
    lookupFile: (id) => {
      const file = context.store.get(id);
      return file ? { filename: file.meta.filename, bytes: file.bytes } : undefined;
    },
    chunkDelayMs: context.chatChunkDelayMs,
    ...(context.deployments ? { models: [...context.deployments, ...context.fineTuning.tunedModels()] } : {}),
    // A fine-tuned model answers once its job succeeded (under its own name as the deployment).
    refusesModel: (model) => context.fineTuning.refusesModel(model),
  });
}

async function upload(exchange: EmulatorExchange, context: RouteContext, surface: Surface): Promise<void> {
  const result = await receiveUpload(exchange, context.store, uploadRules(surface));
  if (!result.ok) return sendError(exchange, surface, 400, { ...result.problem, code: 'invalidPayload' });
  const body = fileObject(result.file, context.pendingPolls);
  if (surface === 'v1') return exchange.sendJson(200, body);
  // docs/wire-formats.md §2.2: classic upload answers 201 Created with a Location header (OpenAI answers 200).
  await exchange.sendJson(201, body, { location: `${context.endpoint}/openai/files/${result.file.id}` });
}

async function list(exchange: EmulatorExchange, context: RouteContext, surface: Surface): Promise<void> {
  if (surface === 'classic') {
    // docs/wire-formats.md §2.2: the 2024-10-21 list has a purpose filter only: no paging params, no paging fields.
    const purpose = exchange.query.get('purpose');
    const files = sortFiles(context.store.list(), 'desc').filter((file) => purpose === null || file.meta.purpose === purpose);
    return exchange.sendJson(200, { data: files.map((file) => fileObject(file, context.pendingPolls)), object: 'list' });
  }
  // docs/wire-formats.md §2.3: the v1 list carries OpenAI's paging fields, so it honours OpenAI's paging params.
  const query = parseListQuery(exchange.query);
  if (!query.ok) return sendError(exchange, surface, 400, { ...query.problem, code: 'invalidPayload' });
  const page = pageFiles(context.store.list(), query.value);
  const data = page.data.map((file) => fileObject(file, context.pendingPolls));
  await exchange.sendJson(200, {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: page.hasMore,
  });
}

/**
 * docs/wire-formats.md §2.2 File: processing is asynchronous. Retrieve number k (1-based) of a new file reports
 * 'pending', the last of the `pendingPolls` reports 'running' (when there are two or more),
 * and later ones 'processed'. Upload and list report the current state without advancing it.
 */
function fileStatus(file: StoredFile, pendingPolls: number): string {
  const seen = file.meta.retrieves;
  if (seen > pendingPolls || pendingPolls === 0) return 'processed';
  return seen === pendingPolls && pendingPolls > 1 ? 'running' : 'pending';
}

function fileObject(file: StoredFile, pendingPolls: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    status: fileStatus(file, pendingPolls),
    bytes: file.bytes,
    purpose: file.meta.purpose,
    filename: file.meta.filename,
    id: file.id,
    created_at: file.meta.createdAt,
    object: 'file',
  };
  // Azure leaves expires_at out when the file does not expire (docs/wire-formats.md §2.2 example).
  if (file.meta.expiresAt !== null) body['expires_at'] = file.meta.expiresAt;
  return body;
}

/** docs/wire-formats.md §2.6: classic `{error:{code,message}}`; v1 adds param and type:"error". */
async function sendError(exchange: EmulatorExchange, surface: Surface, status: number, problem: Problem): Promise<void> {
  const error =
    surface === 'classic'
      ? { code: problem.code, message: problem.message }
      : { code: problem.code, message: problem.message, param: problem.param, type: 'error' };
  await exchange.sendJson(status, { error });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
