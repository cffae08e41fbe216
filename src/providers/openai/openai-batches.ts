/**
 * OpenAI Batch API (docs/wire-formats.md §1.10; Azure's classic and v1 surfaces speak the same shape,
 * docs/wire-formats.md §2.4). Output and error references are the provider's own file ids, read with the Files API.
 */
import type { BatchError, BatchErrors, BatchStatus } from '../../core/batch-types.ts';
import { BATCH_STATUSES } from '../../core/batch-types.ts';
import type {
  BatchCreateInput,
  BatchesCapability,
  BatchOutputDescription,
  CallContext,
  ContentStream,
  FilesCapability,
  ProviderBatch,
  ProviderBatchPage,
} from '../provider-adapter.ts';
import { toUnixSeconds } from '../shared/normalize-file.ts';
import type { UpstreamClient } from '../shared/upstream-client.ts';

type Json = Record<string, unknown>;

export class OpenAIShapedBatches implements BatchesCapability {
  private readonly client: UpstreamClient;
  private readonly files: FilesCapability;
  private readonly batchesPath: string;
  private readonly endpointFor: (endpoint: string) => string;

  constructor(options: {
    client: UpstreamClient;
    /** Reads, describes and deletes output files. */
    files: FilesCapability;
    /** Default `/batches`. */
    batchesPath?: string;
    /** Maps the client's endpoint to the provider's (Azure classic documents `/chat/completions`). */
    endpointFor?: (endpoint: string) => string;
  }) {
    this.client = options.client;
    this.files = options.files;
    this.batchesPath = options.batchesPath ?? '/batches';
    this.endpointFor = options.endpointFor ?? ((endpoint) => endpoint);
  }

  async create(input: BatchCreateInput, context: CallContext): Promise<ProviderBatch> {
    const body: Json = { input_file_id: input.inputReference, endpoint: this.endpointFor(input.endpoint), completion_window: input.completionWindow };
    if (input.metadata) body.metadata = input.metadata;
    if (input.outputExpiresAfter) body.output_expires_after = input.outputExpiresAfter;
    const raw = await this.client.json<Json>(
      { operation: 'batches.create', method: 'POST', path: this.batchesPath, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      context,
    );
    return this.normalize(raw);
  }

  async retrieve(providerBatchId: string, context: CallContext): Promise<ProviderBatch> {
    const raw = await this.client.json<Json>({ operation: 'batches.retrieve', method: 'GET', path: `${this.batchesPath}/${encodeURIComponent(providerBatchId)}` }, context);
    return this.normalize(raw);
  }

  async cancel(providerBatchId: string, context: CallContext): Promise<ProviderBatch> {
    // Cancelling twice is harmless upstream (it answers the batch), so the call may be retried.
    const raw = await this.client.json<Json>(
      { operation: 'batches.cancel', method: 'POST', idempotent: true, path: `${this.batchesPath}/${encodeURIComponent(providerBatchId)}/cancel` },
      context,
    );
    return this.normalize(raw);
  }

  async list(query: { after?: string; limit?: number }, context: CallContext): Promise<ProviderBatchPage> {
    const raw = await this.client.json<{ data?: Json[]; has_more?: boolean }>(
      { operation: 'batches.list', method: 'GET', path: this.batchesPath, query: { after: query.after, limit: query.limit } },
      context,
    );
    return { data: (raw?.data ?? []).map((item) => this.normalize(item)), hasMore: Boolean(raw?.has_more) };
  }

  async describeOutput(reference: string, context: CallContext): Promise<BatchOutputDescription> {
    const file = await this.files.retrieve(reference, context);
    return { bytes: file.bytes, filename: file.filename || `${reference}.jsonl`, createdAt: file.created_at };
  }

  outputContent(reference: string, context: CallContext): Promise<ContentStream> {
    return this.files.content(reference, context);
  }

  async deleteOutput(reference: string, context: CallContext): Promise<void> {
    await this.files.delete(reference, context);
  }

  /** Lenient reading: Azure doc samples use ISO times, capitalised statuses and string lines (docs/wire-formats.md §2.4). */
  private normalize(raw: Json | undefined): ProviderBatch {
    if (!raw || typeof raw.id !== 'string') throw this.client.malformed('answered a batch without an id');
    const status = String(raw.status ?? '').toLowerCase();
    if (!(BATCH_STATUSES as readonly string[]).includes(status)) throw this.client.malformed(`answered an unknown batch status '${status}'`);
    const counts = (raw.request_counts ?? {}) as Json;
    const time = (key: string): number | null => toUnixSeconds(raw[key]);
    return {
      providerBatchId: raw.id,
      status: status as BatchStatus,
      outputReference: typeof raw.output_file_id === 'string' && raw.output_file_id !== '' ? raw.output_file_id : null,
      errorReference: typeof raw.error_file_id === 'string' && raw.error_file_id !== '' ? raw.error_file_id : null,
      requestCounts: { total: Number(counts.total ?? 0) || 0, completed: Number(counts.completed ?? 0) || 0, failed: Number(counts.failed ?? 0) || 0 },
      timestamps: {
        created_at: time('created_at') ?? Math.floor(Date.now() / 1000),
        in_progress_at: time('in_progress_at'),
        expires_at: time('expires_at'),
        finalizing_at: time('finalizing_at'),
        completed_at: time('completed_at'),
        failed_at: time('failed_at'),
        expired_at: time('expired_at'),
        cancelling_at: time('cancelling_at'),
        cancelled_at: time('cancelled_at'),
      },
      errors: normalizeErrors(raw.errors),
      model: typeof raw.model === 'string' ? raw.model : null,
      usage: raw.usage && typeof raw.usage === 'object' ? (raw.usage as Json) : null,
    };
  }
}

function normalizeErrors(value: unknown): BatchErrors | null {
  if (!value || typeof value !== 'object') return null;
  const data = (value as Json).data;
  const items = Array.isArray(data) ? data : data && typeof data === 'object' ? [data] : [];
  const text = (item: Json, key: string): string | null => (typeof item[key] === 'string' ? (item[key] as string) : null);
  const errors: BatchError[] = items.map((item: Json) => {
    const line = item.line === null || item.line === undefined ? null : Number(item.line);
    return { code: text(item, 'code'), message: text(item, 'message'), param: text(item, 'param'), line: line !== null && Number.isFinite(line) ? line : null };
  });
  return { object: 'list', data: errors };
}
