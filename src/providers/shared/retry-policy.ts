/**
 * When and how long to wait before sending an upstream call again (README "Endpoints" (limits)): only calls that are
 * idempotent and whose body can be sent again, at most `max_retries` more times, on 408/409/429/5xx
 * and connection failures or timeouts, honouring `retry-after-ms` / `retry-after` (seconds or an
 * HTTP date), else exponential backoff from 0.5 s up to 8 s with up to 25 % jitter — the schedule
 * openai-node documents for its own retries (github.com/openai/openai-node, "Retries").
 */
import { setTimeout as delay } from 'node:timers/promises';
import { UpstreamError } from '../../core/errors.ts';
import { isRetryableStatus } from './upstream-failures.ts';

const INITIAL_DELAY_MS = 500;
const MAX_BACKOFF_MS = 8_000;
/** A provider asking for a longer pause than this is answered to the client (429 + retry-after) instead. */
const MAX_RETRY_AFTER_MS = 60_000;

export interface RetryDecision {
  retry: boolean;
  /** Milliseconds to wait before the next attempt. */
  waitMs: number;
}

/** `attempt` counts from 1 (the first send). */
export function retryDecision(input: { error: unknown; attempt: number; maxRetries: number; retryAfter?: RetryAfterHeaders }): RetryDecision {
  const no = { retry: false, waitMs: 0 };
  if (input.attempt > input.maxRetries) return no;
  if (!(input.error instanceof UpstreamError)) return no;
  const { kind, upstreamStatus } = input.error.failure;
  const retryable = kind === 'timeout' || kind === 'connect' || (kind !== 'malformed' && upstreamStatus !== undefined && isRetryableStatus(upstreamStatus));
  if (!retryable) return no;
  const asked = retryAfterMs(input.retryAfter ?? {});
  if (asked !== undefined) return asked <= MAX_RETRY_AFTER_MS ? { retry: true, waitMs: asked } : no;
  return { retry: true, waitMs: backoffMs(input.attempt) };
}

export interface RetryAfterHeaders {
  'retry-after-ms'?: string | undefined;
  'retry-after'?: string | undefined;
}

export function retryAfterMs(headers: RetryAfterHeaders, now = Date.now()): number | undefined {
  const milliseconds = Number(headers['retry-after-ms']);
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds;
  const value = headers['retry-after'];
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(INITIAL_DELAY_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
  return Math.round(base * (1 - random() * 0.25));
}

/** Waits, or rejects with the abort reason when the caller goes away meanwhile. */
export async function waitBeforeRetry(waitMs: number, signal: AbortSignal | undefined): Promise<void> {
  if (waitMs <= 0) return;
  await delay(waitMs, undefined, signal ? { signal } : {});
}
