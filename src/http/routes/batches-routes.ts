/**
 * /batches routes (README "Batches"; wire format docs/wire-formats.md §1.10). Registered under "", "/v1" and
 * "/:provider/v1" (the prefix fixes the provider of a raw input file id).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.ts';
import type { ExpiresAfter } from '../../core/openai-types.ts';
import type { Runtime } from '../../runtime.ts';
import type { CreateBatchRequest } from '../../services/batches-service.ts';
import { callContext } from '../call-context.ts';
import { singleQueryValue, type Query } from '../query-values.ts';

type BatchRequest = FastifyRequest<{ Params: { provider?: string; batchId?: string }; Querystring: Query }>;

export const BATCH_ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos'];

function text(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) {
    if (required) throw errors.missingField(key);
    return undefined;
  }
  if (typeof value !== 'string' || value === '') throw errors.invalidValue(key, `'${key}' must be a non-empty string.`);
  return value;
}

/** OpenAI metadata: at most 16 pairs, keys ≤ 64 and values ≤ 512 characters, strings only. */
function metadataOf(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw errors.invalidValue('metadata', "'metadata' must be an object of string values.");
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16) throw errors.invalidValue('metadata', "'metadata' may hold at most 16 pairs.");
  for (const [key, item] of entries) {
    if (typeof item !== 'string' || key.length > 64 || item.length > 512) {
      throw errors.invalidValue('metadata', "'metadata' keys must be at most 64 characters and values strings of at most 512.");
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function expiresAfterOf(value: unknown): ExpiresAfter | undefined {
  if (value === undefined || value === null) return undefined;
  const item = value as { anchor?: unknown; seconds?: unknown };
  if (typeof value !== 'object' || item.anchor !== 'created_at' || typeof item.seconds !== 'number' || !Number.isInteger(item.seconds) || item.seconds < 3600 || item.seconds > 2_592_000) {
    throw errors.invalidValue('output_expires_after', "'output_expires_after' must be {anchor: 'created_at', seconds: 3600..2592000}.");
  }
  return { anchor: 'created_at', seconds: item.seconds };
}

/** LiteLLM's model-based routing: header `x-litellm-model`, else query or body `model`. */
function routedModel(request: BatchRequest, body: Record<string, unknown>): string | undefined {
  const header = request.headers['x-litellm-model'];
  const value = (Array.isArray(header) ? header[0] : header) ?? singleQueryValue(request.query, 'model') ?? (typeof body.model === 'string' ? body.model : undefined);
  return value === '' ? undefined : value;
}

function providerOf(runtime: Runtime, request: BatchRequest, body: Record<string, unknown>): string | undefined {
  const header = request.headers['custom-llm-provider'];
  const value = request.params.provider ?? (Array.isArray(header) ? header[0] : header) ?? singleQueryValue(request.query, 'custom_llm_provider') ?? (typeof body.custom_llm_provider === 'string' ? body.custom_llm_provider : undefined);
  return value === undefined || value === '' ? undefined : runtime.files.parseProvider(value);
}

export function parseCreateBatch(runtime: Runtime, request: BatchRequest): CreateBatchRequest {
  const raw = request.body;
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw errors.invalidRequest('The request body must be a JSON object.');
  const body = raw as Record<string, unknown>;
  const inputFileId = text(body, 'input_file_id', true)!;
  const endpoint = text(body, 'endpoint', true)!;
  if (!BATCH_ENDPOINTS.includes(endpoint)) {
    throw errors.invalidValue('endpoint', `Invalid endpoint '${endpoint}'. Supported values are: ${BATCH_ENDPOINTS.join(', ')}.`);
  }
  const completionWindow = text(body, 'completion_window', true)!;
  if (completionWindow !== '24h') throw errors.invalidValue('completion_window', `Invalid completion_window '${completionWindow}'. Supported values are: '24h'.`);
  const provider = providerOf(runtime, request, body);
  const model = routedModel(request, body);
  const outputExpiresAfter = expiresAfterOf(body.output_expires_after);
  return {
    inputFileId,
    endpoint,
    completionWindow,
    metadata: metadataOf(body.metadata),
    ...(outputExpiresAfter ? { outputExpiresAfter } : {}),
    ...(provider ? { provider } : {}),
    ...(model ? { model } : {}),
  };
}

function parseLimit(query: Query): number {
  const limitText = singleQueryValue(query, 'limit');
  if (limitText === undefined) return 20;
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) throw errors.invalidValue('limit', `Invalid limit '${limitText}': must be an integer between 1 and 100.`);
  return limit;
}

export function registerBatchesRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { batches } = runtime;
  app.post('/batches', async (request: BatchRequest, reply) => batches.create(request.principal, parseCreateBatch(runtime, request), callContext(request, reply)));
  app.get('/batches/:batchId', async (request: BatchRequest, reply) => batches.retrieve(request.principal, request.params.batchId!, callContext(request, reply)));
  app.post('/batches/:batchId/cancel', async (request: BatchRequest, reply) => batches.cancel(request.principal, request.params.batchId!, callContext(request, reply)));
  app.get('/batches', async (request: BatchRequest) => {
    const after = singleQueryValue(request.query, 'after');
    return batches.list(request.principal, { limit: parseLimit(request.query), ...(after ? { after } : {}) });
  });
}
