/**
 * Fine-tuning jobs over an OpenAI-shaped surface (docs/wire-formats.md §1.11): OpenAI `/v1/fine_tuning/jobs`
 * and Azure OpenAI `{endpoint}/openai/fine_tuning/jobs?api-version=…` (classic) or
 * `/openai/v1/fine_tuning/jobs` (v1 surface, docs/wire-formats.md §2.1). Answers are read leniently: Azure has sent
 * ISO timestamps and other status spellings (docs/wire-formats.md §2.4 doc-sample quirks).
 */
import type { FineTuningCheckpoint, FineTuningCheckpointPage, FineTuningEvent, FineTuningJob, FineTuningPage, FineTuningStatus } from '../../core/fine-tuning-types.ts';
import type { CallContext, FineTuningCapability, FineTuningCreateInput, FineTuningPageQuery } from '../provider-adapter.ts';
import { toUnixSeconds } from '../shared/normalize-file.ts';
import type { UpstreamClient } from '../shared/upstream-client.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

export class OpenAIShapedFineTuning implements FineTuningCapability {
  private readonly client: UpstreamClient;
  private readonly jobsPath: string;

  constructor(options: { client: UpstreamClient; /** Default `/fine_tuning/jobs`. */ jobsPath?: string }) {
    this.client = options.client;
    this.jobsPath = options.jobsPath ?? '/fine_tuning/jobs';
  }

  async create(input: FineTuningCreateInput, context: CallContext): Promise<FineTuningJob> {
    const body: Record<string, unknown> = { model: input.model, training_file: input.trainingFile };
    if (input.validationFile !== undefined) body.validation_file = input.validationFile;
    if (input.hyperparameters !== undefined) body.hyperparameters = input.hyperparameters;
    if (input.suffix !== undefined) body.suffix = input.suffix;
    if (input.seed !== undefined) body.seed = input.seed;
    if (input.method !== undefined) body.method = input.method;
    if (input.metadata !== undefined) body.metadata = input.metadata;
    // Not idempotent: a second POST would start a second (billed) job.
    const raw = await this.client.json<unknown>(
      { operation: 'fine_tuning.create', method: 'POST', path: this.jobsPath, headers: JSON_HEADERS, body: JSON.stringify(body) },
      context,
    );
    return this.job(raw);
  }

  async retrieve(jobId: string, context: CallContext): Promise<FineTuningJob> {
    const raw = await this.client.json<unknown>({ operation: 'fine_tuning.retrieve', method: 'GET', path: this.jobPath(jobId) }, context);
    return this.job(raw);
  }

  async list(query: FineTuningPageQuery, context: CallContext): Promise<FineTuningPage<FineTuningJob>> {
    const raw = await this.client.json<unknown>(
      { operation: 'fine_tuning.list', method: 'GET', path: this.jobsPath, query: { after: query.after, limit: query.limit } },
      context,
    );
    return this.page(raw, (item) => this.job(item));
  }

  async cancel(jobId: string, context: CallContext): Promise<FineTuningJob> {
    // Cancelling twice leaves the job cancelled: safe to send again.
    const raw = await this.client.json<unknown>(
      { operation: 'fine_tuning.cancel', method: 'POST', path: `${this.jobPath(jobId)}/cancel`, idempotent: true },
      context,
    );
    return this.job(raw);
  }

  async events(jobId: string, query: FineTuningPageQuery, context: CallContext): Promise<FineTuningPage<FineTuningEvent>> {
    const raw = await this.client.json<unknown>(
      { operation: 'fine_tuning.events', method: 'GET', path: `${this.jobPath(jobId)}/events`, query: { after: query.after, limit: query.limit } },
      context,
    );
    return this.page(raw, (item) => this.event(item));
  }

  /** `GET …/{id}/checkpoints?after&limit` (OpenAI API reference, "List fine-tuning checkpoints"). */
  async checkpoints(jobId: string, query: FineTuningPageQuery, context: CallContext): Promise<FineTuningCheckpointPage> {
    const raw = await this.client.json<unknown>(
      { operation: 'fine_tuning.checkpoints', method: 'GET', path: `${this.jobPath(jobId)}/checkpoints`, query: { after: query.after, limit: query.limit } },
      context,
    );
    const page = this.page(raw, (item) => this.checkpoint(item));
    return { object: 'list', data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.has_more };
  }

  private jobPath(jobId: string): string {
    return `${this.jobsPath}/${encodeURIComponent(jobId)}`;
  }

  private page<T>(raw: unknown, item: (value: unknown) => T): FineTuningPage<T> {
    if (!isRecord(raw) || !Array.isArray(raw.data)) throw this.client.malformed('answered a list without a data array');
    return { object: 'list', data: raw.data.map(item), has_more: raw.has_more === true };
  }

  private job(raw: unknown): FineTuningJob {
    if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id === '') throw this.client.malformed('answered a fine-tuning job without an id');
    const error = isRecord(raw.error) && typeof raw.error.message === 'string' && raw.error.message !== ''
      ? { code: String(raw.error.code ?? 'failed'), message: raw.error.message, param: typeof raw.error.param === 'string' ? raw.error.param : null }
      : null;
    const job: FineTuningJob = {
      object: 'fine_tuning.job',
      id: raw.id,
      model: String(raw.model ?? ''),
      created_at: toUnixSeconds(raw.created_at) ?? 0,
      finished_at: toUnixSeconds(raw.finished_at),
      fine_tuned_model: typeof raw.fine_tuned_model === 'string' && raw.fine_tuned_model !== '' ? raw.fine_tuned_model : null,
      result_files: Array.isArray(raw.result_files) ? raw.result_files.filter((id): id is string => typeof id === 'string') : [],
      status: normalizeJobStatus(raw.status),
      trained_tokens: typeof raw.trained_tokens === 'number' ? raw.trained_tokens : null,
      training_file: String(raw.training_file ?? ''),
      validation_file: typeof raw.validation_file === 'string' ? raw.validation_file : null,
      error,
      hyperparameters: isRecord(raw.hyperparameters) ? raw.hyperparameters : {},
    };
    if (typeof raw.organization_id === 'string') job.organization_id = raw.organization_id;
    if (typeof raw.seed === 'number') job.seed = raw.seed;
    if ('estimated_finish' in raw) job.estimated_finish = toUnixSeconds(raw.estimated_finish);
    if (isRecord(raw.method)) job.method = raw.method;
    if (isRecord(raw.metadata)) job.metadata = raw.metadata as Record<string, string>;
    if (typeof raw.user_provided_suffix === 'string') job.user_provided_suffix = raw.user_provided_suffix;
    return job;
  }

  private checkpoint(raw: unknown): FineTuningCheckpoint {
    if (!isRecord(raw) || typeof raw.id !== 'string' || typeof raw.fine_tuned_model_checkpoint !== 'string') {
      throw this.client.malformed('answered a fine-tuning checkpoint without an id or model name');
    }
    return {
      object: 'fine_tuning.job.checkpoint',
      id: raw.id,
      created_at: toUnixSeconds(raw.created_at) ?? 0,
      fine_tuned_model_checkpoint: raw.fine_tuned_model_checkpoint,
      fine_tuning_job_id: String(raw.fine_tuning_job_id ?? ''),
      step_number: Number(raw.step_number ?? 0) || 0,
      metrics: isRecord(raw.metrics) ? raw.metrics : {},
    };
  }

  private event(raw: unknown): FineTuningEvent {
    if (!isRecord(raw) || typeof raw.id !== 'string') throw this.client.malformed('answered a fine-tuning event without an id');
    const level = raw.level === 'warn' || raw.level === 'error' ? raw.level : 'info';
    const event: FineTuningEvent = {
      object: 'fine_tuning.job.event',
      id: raw.id,
      created_at: toUnixSeconds(raw.created_at) ?? 0,
      level,
      message: String(raw.message ?? ''),
    };
    if (raw.type === 'message' || raw.type === 'metrics') event.type = raw.type;
    if ('data' in raw) event.data = raw.data;
    return event;
  }
}

/**
 * OpenAI's six statuses; older Azure versions also sent `created`/`pending`/`notRunning`
 * (queued) and capitalised names, compared case-insensitively.
 */
export function normalizeJobStatus(value: unknown): FineTuningStatus {
  const status = String(value ?? '').toLowerCase();
  switch (status) {
    case 'validating_files':
    case 'queued':
    case 'running':
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return status;
    case 'canceled':
      return 'cancelled';
    case 'created':
    case 'pending':
    case 'notrunning':
      return 'queued';
    default:
      return 'running';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
