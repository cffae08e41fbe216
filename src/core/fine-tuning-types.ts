/**
 * OpenAI fine-tuning wire objects (docs/wire-formats.md §1.11; platform.openai.com/docs/api-reference/fine-tuning).
 * Adapters return them with provider ids; the fine-tuning service swaps in unified ids.
 */

export const FINE_TUNING_STATUSES = ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type FineTuningStatus = (typeof FINE_TUNING_STATUSES)[number];

/** Statuses after which a job never changes again. */
export function isTerminalFineTuningStatus(status: string): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

export interface FineTuningJob {
  object: 'fine_tuning.job';
  /** `ftjob-…` (provider id from an adapter, unified id from the gateway). */
  id: string;
  /** The base model (provider name from an adapter, the public model_name from the gateway). */
  model: string;
  /** Unix seconds. */
  created_at: number;
  /** Unix seconds, null until the job is terminal. */
  finished_at: number | null;
  /** Name of the trained model, null until the job succeeded. */
  fine_tuned_model: string | null;
  organization_id?: string;
  /** Result file ids (metrics CSV, purpose fine-tune-results). */
  result_files: string[];
  status: FineTuningStatus;
  trained_tokens: number | null;
  training_file: string;
  validation_file: string | null;
  /** Why the job failed, else null. */
  error: { code: string; message: string; param: string | null } | null;
  hyperparameters: Record<string, unknown>;
  seed?: number;
  estimated_finish?: number | null;
  method?: Record<string, unknown>;
  metadata?: Record<string, string> | null;
  user_provided_suffix?: string | null;
}

export interface FineTuningEvent {
  object: 'fine_tuning.job.event';
  id: string;
  created_at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  type?: 'message' | 'metrics';
  data?: unknown;
}

/** A model checkpoint of a job (OpenAI FineTuningJobCheckpoint, docs/wire-formats.md §1.11 `/checkpoints`). */
export interface FineTuningCheckpoint {
  object: 'fine_tuning.job.checkpoint';
  id: string;
  created_at: number;
  /** The checkpoint's model name, as the provider names it. */
  fine_tuned_model_checkpoint: string;
  fine_tuning_job_id: string;
  step_number: number;
  metrics: Record<string, unknown>;
}

/** The checkpoints page: OpenAI's CursorPage with first_id/last_id (`after` = last item id). */
export interface FineTuningCheckpointPage {
  object: 'list';
  data: FineTuningCheckpoint[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** OpenAI's cursor page for jobs and events: no first_id/last_id, `after` = last item id. */
export interface FineTuningPage<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}
