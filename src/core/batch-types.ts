/** OpenAI Batch wire objects (docs/wire-formats.md §1.10; platform.openai.com/docs/api-reference/batch). */

/** OpenAI's batch statuses, in the order a batch moves through them. */
export const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Statuses after which a batch never changes again: the stored copy is served without a provider call. */
export const TERMINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);

export function isTerminalBatchStatus(status: string): boolean {
  return TERMINAL_BATCH_STATUSES.has(status as BatchStatus);
}

/** One entry of `errors.data`: why the batch (or one input line) failed. */
export interface BatchError {
  code: string | null;
  message: string | null;
  param: string | null;
  /** 1-based input line number the error is about, when it is about one line. */
  line: number | null;
}

export interface BatchErrors {
  object: 'list';
  data: BatchError[];
}

export interface BatchRequestCounts {
  total: number;
  completed: number;
  failed: number;
}

/** The lifecycle timestamps of a batch, unix seconds or null. */
export interface BatchTimestamps {
  created_at: number;
  in_progress_at: number | null;
  expires_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
}

/** OpenAI's Batch object as the gateway returns it (ids are unified ids). */
export interface BatchObject extends BatchTimestamps {
  id: string;
  object: 'batch';
  endpoint: string;
  model?: string | null;
  errors: BatchErrors | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: BatchRequestCounts;
  usage?: Record<string, unknown> | null;
  metadata: Record<string, string> | null;
}

export interface BatchList {
  object: 'list';
  data: BatchObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}
