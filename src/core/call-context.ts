/**
 * What every provider call carries: the request id, a logger and an abort signal. Lives in core so
 * that http (which builds it), services and providers (which pass and use it) import it without
 * pointing back up the dependency rule (ARCHITECTURE.md "The provider contract").
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
  /** The gateway request id, forwarded for correlation. */
  requestId: string;
  /** Logger for the one line per upstream call. */
  logger: AdapterLogger;
}
