/**
 * The Batch API routes of the OpenAI and Azure emulators (docs/wire-formats.md §1.10, §2.4):
 * create, retrieve, cancel and list over a BatchEngine. Problems come back in each
 * provider's envelope through `sendProblem`.
 */
import { EmulatorBodyError, type EmulatorExchange } from './emulator-exchange.ts';
import type { BatchEngine, EmulatedBatch } from './batch-engine.ts';
import type { FilesStore, Problem } from './files-api-common.ts';

export const BATCH_ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos'];

export interface BatchRouteContext {
  engine: BatchEngine;
  store: FilesStore;
  provider: 'openai' | 'azure';
  /** Whether a file may be used yet (Azure: only `processed` files, docs/wire-formats.md §2.4). */
  fileReady: (fileId: string) => boolean;
  sendProblem: (exchange: EmulatorExchange, status: number, problem: Problem) => Promise<void>;
}

/** Handles `rest` = '' | '/{id}' | '/{id}/cancel' under the batches collection. */
export async function handleBatches(exchange: EmulatorExchange, rest: string, context: BatchRouteContext): Promise<void> {
  const match = /^(?:\/([^/]+)(\/cancel)?)?$/.exec(rest);
  const { method } = exchange;
  if (match && match[1] === undefined) {
    if (method === 'POST') return create(exchange, context);
    if (method === 'GET') return list(exchange, context);
  } else if (match) {
    const id = decodeURIComponent(match[1]!);
    const batch = context.engine.batches.get(id);
    const cancel = match[2] !== undefined;
    if ((cancel && method === 'POST') || (!cancel && method === 'GET')) {
      if (!batch) return context.sendProblem(exchange, 404, { message: `No batch found with id '${id}'.`, param: null, code: 'batch_not_found' });
      if (cancel) context.engine.cancel(batch);
      return exchange.sendJson(200, view(batch));
    }
  }
  await context.sendProblem(exchange, 404, { message: `Invalid URL (${method} ${exchange.path})`, param: null, code: null });
}

function view(batch: EmulatedBatch): Record<string, unknown> {
  const { seq: _seq, ...rest } = batch;
  return { ...rest, request_counts: { ...batch.request_counts }, errors: batch.errors ? { object: 'list', data: [...batch.errors.data] } : null };
}

async function create(exchange: EmulatorExchange, context: BatchRouteContext): Promise<void> {
  let body: Record<string, unknown>;
  try {
    body = (await exchange.readJson()) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof EmulatorBodyError)) throw error;
    return context.sendProblem(exchange, 400, { message: 'We could not parse the JSON body of your request.', param: null, code: null });
  }
  if (typeof body !== 'object' || body === null) return context.sendProblem(exchange, 400, { message: 'The body must be a JSON object.', param: null, code: null });
  for (const key of ['input_file_id', 'endpoint', 'completion_window']) {
    if (typeof body[key] !== 'string') return context.sendProblem(exchange, 400, { message: `Missing required parameter: '${key}'.`, param: key, code: 'missing_required_parameter' });
  }
  const endpoint = body.endpoint as string;
  const endpoints = context.provider === 'azure' ? [...BATCH_ENDPOINTS, ...BATCH_ENDPOINTS.map((value) => value.replace(/^\/v1/, ''))] : BATCH_ENDPOINTS;
  if (!endpoints.includes(endpoint)) {
    return context.sendProblem(exchange, 400, { message: `Invalid value: '${endpoint}'. Supported values are: ${BATCH_ENDPOINTS.map((v) => `'${v}'`).join(', ')}.`, param: 'endpoint', code: 'invalid_value' });
  }
  const window = body.completion_window as string;
  if (context.provider === 'openai' && window !== '24h') {
    return context.sendProblem(exchange, 400, { message: `Invalid value: '${window}'. Supported values are: '24h'.`, param: 'completion_window', code: 'invalid_value' });
  }
  const inputId = body.input_file_id as string;
  const file = context.store.get(inputId);
  if (!file) return context.sendProblem(exchange, 404, { message: `No such File object: ${inputId}`, param: 'input_file_id', code: null });
  if (file.meta.purpose !== 'batch') {
    return context.sendProblem(exchange, 400, { message: `The input file must have purpose 'batch', not '${file.meta.purpose}'.`, param: 'input_file_id', code: 'invalid_value' });
  }
  if (!context.fileReady(inputId)) {
    return context.sendProblem(exchange, 400, { message: `The input file '${inputId}' is not processed yet.`, param: 'input_file_id', code: 'invalidPayload' });
  }
  const metadata = body.metadata && typeof body.metadata === 'object' ? (body.metadata as Record<string, string>) : null;
  const batch = context.engine.create({ inputFileId: inputId, endpoint, completionWindow: window, metadata });
  if (window !== '24h') {
    // docs/wire-formats.md §2.4: on Azure a completion window other than 24h fails the job.
    batch.status = 'failed';
    batch.failed_at = batch.created_at;
    batch.errors = { object: 'list', data: [{ code: 'invalid_completion_window', message: 'The completion window must be 24h.', param: 'completion_window', line: null }] };
  }
  await exchange.sendJson(200, view(batch));
}

async function list(exchange: EmulatorExchange, context: BatchRouteContext): Promise<void> {
  const limitText = exchange.query.get('limit') ?? '20';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) {
    return context.sendProblem(exchange, 400, { message: `Invalid 'limit': expected an integer between 1 and 100.`, param: 'limit', code: 'invalid_value' });
  }
  const sorted = [...context.engine.batches.values()].sort((a, b) => b.seq - a.seq);
  const after = exchange.query.get('after');
  let start = 0;
  if (after !== null) {
    const index = sorted.findIndex((batch) => batch.id === after);
    start = index < 0 ? sorted.length : index + 1;
  }
  const data = sorted.slice(start, start + limit).map(view);
  await exchange.sendJson(200, {
    object: 'list',
    data,
    first_id: (data[0]?.id as string | undefined) ?? null,
    last_id: (data.at(-1)?.id as string | undefined) ?? null,
    has_more: start + data.length < sorted.length,
  });
}
