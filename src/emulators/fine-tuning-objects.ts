/** The emulated job record, its OpenAI wire shape (docs/wire-formats.md §1.11) and cursor paging. */
import type { FineTuningCheckpoint } from '../core/fine-tuning-types.ts';

export interface EmulatedEvent {
  object: 'fine_tuning.job.event';
  id: string;
  created_at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  data: Record<string, unknown>;
  type: 'message';
}

/** A checkpoint a succeeded job keeps: the gateway's wire type, with numeric metrics. */
export type EmulatedCheckpoint = FineTuningCheckpoint & { metrics: Record<string, number> };

export interface EmulatedJob {
  id: string;
  model: string;
  trainingFile: string;
  validationFile: string | null;
  suffix: string | null;
  hyperparameters: Record<string, unknown>;
  metadata: Record<string, string> | null;
  /** Why the training file fails validation (the job fails after validating_files). */
  invalidReason: string | undefined;
  trainingBytes: number;
  createdMs: number;
  stepMs: number;
  status: 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  finishedAt: number | null;
  fineTunedModel: string | null;
  resultFiles: string[];
  /** Oldest first. */
  events: EmulatedEvent[];
  /** Oldest first; made when the job succeeds. */
  checkpoints: EmulatedCheckpoint[];
  error: { code: string; message: string; param: string | null } | null;
  trainedTokens: number | null;
  /** Creation order. */
  seq: number;
}

export function jobBody(job: EmulatedJob): Record<string, unknown> {
  return {
    object: 'fine_tuning.job',
    id: job.id,
    model: job.model,
    created_at: Math.floor(job.createdMs / 1000),
    finished_at: job.finishedAt,
    fine_tuned_model: job.fineTunedModel,
    organization_id: 'org-emulator',
    result_files: job.resultFiles,
    status: job.status,
    validation_file: job.validationFile,
    training_file: job.trainingFile,
    hyperparameters: { n_epochs: 'auto', batch_size: 'auto', learning_rate_multiplier: 'auto', ...job.hyperparameters },
    trained_tokens: job.trainedTokens,
    error: job.error,
    user_provided_suffix: job.suffix,
    seed: 42,
    estimated_finish: null,
    integrations: [],
    metadata: job.metadata,
    method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 'auto', batch_size: 'auto', learning_rate_multiplier: 'auto' } } },
  };
}

/** `?limit=` (default 20, checkpoints 10; 1–100); undefined when invalid. */
export function pageLimit(text: string | null, fallback = 20): number | undefined {
  if (text === null) return fallback;
  const limit = Number(text);
  return /^\d+$/.test(text) && limit >= 1 && limit <= 100 ? limit : undefined;
}

/** The items after the one whose id is `after` (all when absent or unknown), `limit` of them. */
export function pageAfter<T extends { id: string }>(items: readonly T[], after: string | null, limit: number): { data: T[]; hasMore: boolean } {
  const start = after === null ? 0 : items.findIndex((item) => item.id === after) + 1;
  const data = items.slice(start, start + limit);
  return { data, hasMore: start + limit < items.length };
}
