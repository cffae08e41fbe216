/**
 * Turning what came back from a provider (or did not) into typed UpstreamErrors, for the one
 * transport in upstream-client.ts. Error bodies are read leniently and only up to a bound: OpenAI
 * and Azure send `{"error":{"message","code"}}`, Google `{"error":{"code","message","status"}}`,
 * OAuth token endpoints `{"error","error_description"}`, and proxies in between HTML or nothing.
 */
import type { Readable } from 'node:stream';
import { errors, GatewayError, UpstreamError, type UpstreamFailureKind } from '../../core/errors.ts';

export interface ParsedUpstreamError {
  /** The provider's own text: logged, never returned to clients (README "Endpoints" (errors)). */
  message: string;
  /** The provider's error code and type: these may be shown to clients. */
  code?: string;
  type?: string;
}

/** Who failed, for the error and the log line. */
export interface FailureSource {
  provider: string;
  instance: string;
}

const MAX_ERROR_BODY = 64 * 1024;
/** undici's error codes for a connect, header or body-idle timeout. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads at most 64 KiB of an error body as text and discards the rest; a body that fails mid-way gives what arrived. */
export async function readErrorText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      chunks.push(buffer);
      size += buffer.length;
      if (size >= MAX_ERROR_BODY) break;
    }
  } catch {
    // the status is still worth reporting
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8');
}

/** Lenient reader for `{"error":{"message","code"}}` and `{"error","error_description"}` bodies. */
export function parseErrorEnvelope(status: number, bodyText: string): ParsedUpstreamError {
  try {
    const body = JSON.parse(bodyText) as { error?: { message?: unknown; code?: unknown; type?: unknown } | string; error_description?: unknown };
    if (typeof body.error === 'object' && body.error && typeof body.error.message === 'string') {
      return {
        message: body.error.message,
        ...(body.error.code == null ? {} : { code: String(body.error.code) }),
        ...(typeof body.error.type === 'string' ? { type: body.error.type } : {}),
      };
    }
    if (typeof body.error === 'string') {
      const message = typeof body.error_description === 'string' ? `${body.error}: ${body.error_description}` : body.error;
      return { message, code: body.error };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = bodyText.trim().replace(/\s+/g, ' ').slice(0, 300);
  return { message: text === '' ? `HTTP ${status} with an empty body` : text };
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** An error status from the provider. */
export function httpFailure(
  source: FailureSource,
  input: { status: number; message: string; code?: string | undefined; type?: string | undefined; retryAfter?: string; upstreamRequestId?: string },
): UpstreamError {
  return new UpstreamError({
    provider: source.provider,
    deployment: source.instance,
    kind: 'http',
    upstreamStatus: input.status,
    message: input.message,
    ...(input.code ? { code: input.code } : {}),
    ...(input.type ? { type: input.type } : {}),
    // 408/409 are retried by the retry policy on the same deployment, not by failing over.
    retryable: input.status === 429 || input.status >= 500,
    ...(input.retryAfter ? { retryAfter: input.retryAfter } : {}),
    ...(input.upstreamRequestId ? { upstreamRequestId: input.upstreamRequestId } : {}),
  });
}

/** A success status whose body is not what the provider documents (reported as a 502). */
export function malformedAnswer(source: FailureSource, message: string, cause?: unknown): UpstreamError {
  return new UpstreamError({ provider: source.provider, deployment: source.instance, kind: 'malformed', upstreamStatus: 502, message, retryable: false }, cause);
}

export function transportKind(error: unknown): Extract<UpstreamFailureKind, 'timeout' | 'connect'> {
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  return (typeof code === 'string' && TIMEOUT_CODES.has(code)) || name === 'TimeoutError' ? 'timeout' : 'connect';
}

/**
 * A call that got no (complete) answer. A caller abort is the caller's doing, not the upstream's:
 * it surfaces as the abort reason when that is a GatewayError, else 499.
 */
export function transportFailure(source: FailureSource, input: { error: unknown; what?: string; signal?: AbortSignal | undefined }): GatewayError {
  if (input.error instanceof GatewayError) return input.error; // e.g. a request body that failed validation mid-stream
  if (input.signal?.aborted) {
    const reason: unknown = input.signal.reason;
    return reason instanceof GatewayError ? reason : errors.clientClosed();
  }
  const kind = transportKind(input.error);
  const what = input.what ?? source.provider;
  const code = (input.error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? code : input.error instanceof Error ? input.error.message : String(input.error);
  const message = kind === 'timeout' ? `timeout waiting for ${what} (${detail})` : `could not reach ${what} (${detail})`;
  return new UpstreamError({ provider: source.provider, deployment: source.instance, kind, message, retryable: true }, input.error);
}

/** A failure while reading a 2xx body: 499 on abort, else a retryable interruption. */
export function interruptedAnswer(source: FailureSource, error: unknown, signal: AbortSignal | undefined): GatewayError {
  if (error instanceof GatewayError) return error;
  if (signal?.aborted) return errors.clientClosed();
  const kind = transportKind(error);
  const detail = (error as { code?: string }).code ?? (error as Error).message;
  return new UpstreamError({ provider: source.provider, deployment: source.instance, kind, message: `answer interrupted (${detail})`, retryable: true }, error);
}
