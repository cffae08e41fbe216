/**
 * Turning Google upstream failures (GCS JSON API, OAuth token endpoint) into UpstreamErrors.
 * Bodies are parsed leniently: GCS sends `{"error":{"code","message","errors"}}` (providers.md
 * §3.2), the token endpoint `{"error":"invalid_grant","error_description"}` (§3.1), and proxies in
 * between may send HTML or nothing.
 */
import type { Readable } from 'node:stream';
import { GatewayError, UpstreamError, errors } from '../../core/errors.ts';

export const PROVIDER = 'vertex_ai';

const ERROR_BODY_LIMIT = 64 * 1024;

/** Reads at most `limit` bytes of an error body as text, then discards the rest. */
export async function readErrorText(body: Readable, limit = ERROR_BODY_LIMIT): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      chunks.push(buffer);
      length += buffer.length;
      if (length >= limit) break;
    }
  } catch {
    // A body that fails mid-way still has a status worth reporting.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** The human message inside a Google error body, or a short excerpt of whatever came back. */
export function describeErrorBody(text: string, status: number): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const error = parsed.error;
    if (typeof error === 'string') {
      return typeof parsed.error_description === 'string' ? `${error}: ${parsed.error_description}` : error;
    }
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
  } catch {
    // not JSON: fall through to the excerpt
  }
  const excerpt = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return excerpt === '' ? `HTTP ${status}` : `HTTP ${status}: ${excerpt}`;
}

/** The error code inside a Google error body: OAuth's `error`, else `error.status` (e.g. PERMISSION_DENIED). */
export function googleErrorCode(text: string): string | undefined {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof error === 'string') return error;
    const status = (error as { status?: unknown } | null | undefined)?.status;
    return typeof status === 'string' ? status : undefined;
  } catch {
    return undefined;
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

export function httpFailure(input: {
  deployment: string;
  status: number;
  message: string;
  /** The provider's error code (googleErrorCode). */
  code?: string;
  retryAfter?: string;
}): UpstreamError {
  return new UpstreamError({
    provider: PROVIDER,
    deployment: input.deployment,
    upstreamStatus: input.status,
    message: input.message,
    ...(input.code ? { code: input.code } : {}),
    retryable: isRetryableStatus(input.status),
    ...(input.retryAfter ? { retryAfter: input.retryAfter } : {}),
  });
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * A request that got no HTTP answer. A caller abort is the caller's doing, not the upstream's, so
 * it surfaces as the abort reason (when that is already a GatewayError) or 499 client-closed.
 */
export function transportFailure(input: {
  deployment: string;
  what: string;
  error: unknown;
  signal?: AbortSignal;
}): GatewayError {
  if (input.error instanceof GatewayError) return input.error;
  if (input.signal?.aborted) {
    const reason: unknown = input.signal.reason;
    return reason instanceof GatewayError ? reason : errors.clientClosed();
  }
  const code = (input.error as { code?: unknown } | null)?.code;
  const name = (input.error as { name?: unknown } | null)?.name;
  const detail = input.error instanceof Error ? input.error.message : String(input.error);
  // errors.upstream keys a 504 on the message starting with 'timeout'.
  const timedOut = (typeof code === 'string' && TIMEOUT_CODES.has(code)) || name === 'TimeoutError';
  const message = timedOut ? `timeout: ${input.what} did not answer in time` : `${input.what} unreachable: ${detail}`;
  return new UpstreamError({ provider: PROVIDER, deployment: input.deployment, message, timeout: timedOut, retryable: true }, input.error);
}
