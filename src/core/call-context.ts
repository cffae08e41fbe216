/**
 * What every provider call carries: the request id, a logger and an abort signal. Lives in core so
 * that http (which builds it), services and providers (which pass and use it) import it without
 * pointing back up the dependency rule (README "Layout").
 */

/** The minimal logger adapters use (pino-compatible). */
export interface AdapterLogger {
  info(object: Record<string, unknown>, message?: string): void;
  warn(object: Record<string, unknown>, message?: string): void;
  error(object: Record<string, unknown>, message?: string): void;
}

/** Passed to every adapter call. */
export interface CallContext {
  /** Aborts the upstream call (client went away, or the service gave up). */
  signal?: AbortSignal;
  /**
   * Optional: runs `listener` once when `signal` aborts (at once if it already has), returning a
   * remover, without making the signal when nobody reads it (a request's context makes its
   * AbortController only on first use: one per request was ~2 % of a chat completion's CPU).
   * Not enumerable: a copy `{ ...context, signal: undefined }` (a call detached from the client)
   * must not keep it.
   */
  whenAborted?(listener: () => void): () => void;
  /** The gateway request id, forwarded for correlation. */
  requestId: string;
  /** Logger for the one line per upstream call. */
  logger: AdapterLogger;
}
