/**
 * One undici Agent per provider instance, one place that turns upstream answers and network
 * failures into UpstreamError, and the one log line per upstream call.
 */
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { errors, GatewayError, UpstreamError } from '../../core/errors.ts';
import { recordUpstreamCall } from '../../core/metrics.ts';
import type { CallContext } from '../provider-adapter.ts';

export interface ParsedUpstreamError {
  message: string;
  code?: string;
}

export interface UpstreamClientOptions {
  /** Provider kind, e.g. "openai". */
  provider: string;
  /** Deployment id or files_settings instance name, named in errors and logs. */
  instance: string;
  /** Base URL every path is appended to (no trailing slash). */
  baseUrl: string;
  /** Headers sent on every call (credentials live here and are never logged). */
  headers: Record<string, string>;
  /** Query parameters sent on every call (e.g. Azure's api-version). */
  query?: Record<string, string>;
  /** Reads the provider's error body. */
  parseError: (status: number, bodyText: string) => ParsedUpstreamError;
  /** Time allowed for response headers; uploads of large files get the body timeout disabled. */
  headersTimeoutMs?: number;
}

export interface UpstreamCall {
  /** Name of the operation for logs, e.g. "files.upload". */
  operation: string;
  method: Dispatcher.HttpMethod;
  path: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable | AsyncIterable<Uint8Array>;
  /**
   * 'upload' sends on a pool of its own (h7-uploads, SPEC §12): file bodies stream at the
   * client's pace and a stalled client holds its connection until the idle timeout cuts it;
   * sharing the pool of short calls let 128 stalled uploads starve every list/retrieve/chat.
   */
  pool?: 'upload';
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { text(): Promise<string>; json(): Promise<unknown> };
}

const MAX_ERROR_BODY = 64 * 1024;
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class UpstreamClient {
  readonly options: UpstreamClientOptions;
  private readonly agent: Agent;
  /** Uploads only (see UpstreamCall.pool): no connection cap, the per-key upload cap bounds it. */
  private readonly uploadAgent: Agent;

  constructor(options: UpstreamClientOptions) {
    this.options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.agent = new Agent({
      connections: 128,
      keepAliveTimeout: 10_000,
      headersTimeout: options.headersTimeoutMs ?? 300_000,
      // File bodies may legitimately pause for a long time (slow clients); the client's own
      // disconnect aborts through the signal instead.
      bodyTimeout: 0,
    });
    this.uploadAgent = new Agent({ keepAliveTimeout: 10_000, headersTimeout: options.headersTimeoutMs ?? 300_000, bodyTimeout: 0 });
  }

  buildUrl(path: string, query?: UpstreamCall['query']): string {
    const url = new URL(this.options.baseUrl + path);
    for (const [name, value] of Object.entries({ ...this.options.query, ...query })) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** Sends the call; any non-2xx answer is thrown as UpstreamError after reading its body. */
  async send(call: UpstreamCall, context: CallContext): Promise<UpstreamResponse> {
    const started = performance.now();
    const log = (status: number | string, upstreamRequestId?: string) => {
      recordUpstreamCall(this.options.provider, call.operation, status);
      context.logger.info(
        {
          provider: this.options.provider,
          deployment: this.options.instance,
          operation: call.operation,
          status,
          durationMs: Math.round(performance.now() - started),
          upstreamRequestId,
        },
        'upstream call',
      );
    };
    let response: Dispatcher.ResponseData;
    try {
      response = await request(this.buildUrl(call.path, call.query), {
        method: call.method,
        headers: { 'x-request-id': context.requestId, ...this.options.headers, ...call.headers },
        body: call.body as Dispatcher.RequestOptions['body'],
        dispatcher: call.pool === 'upload' ? this.uploadAgent : this.agent,
        signal: context.signal,
      });
    } catch (error) {
      log('network_error');
      throw this.networkError(error, context);
    }
    const upstreamRequestId = headerValue(response.headers['x-request-id'] ?? response.headers['apim-request-id']);
    log(response.statusCode, upstreamRequestId);
    if (response.statusCode >= 200 && response.statusCode < 300) {
      return { status: response.statusCode, headers: response.headers, body: response.body };
    }
    const text = await readLimited(response.body);
    const parsed = this.options.parseError(response.statusCode, text);
    throw new UpstreamError({
      provider: this.options.provider,
      deployment: this.options.instance,
      upstreamStatus: response.statusCode,
      upstreamRequestId,
      message: parsed.message,
      retryable: response.statusCode === 429 || response.statusCode >= 500,
      retryAfter: headerValue(response.headers['retry-after']),
    });
  }

  /** Sends the call and parses a JSON answer (an empty body gives undefined). */
  async json<T>(call: UpstreamCall, context: CallContext): Promise<T> {
    const response = await this.send(call, context);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw this.streamFailure(error, context); // aborted or cut while reading the body
    }
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new UpstreamError(
        { provider: this.options.provider, deployment: this.options.instance, upstreamStatus: 502, message: 'answered with a body that is not JSON', retryable: true },
        error,
      );
    }
  }

  /** The undici Agent of this instance, for other calls that should share its pool (e.g. OAuth). */
  get dispatcher(): Dispatcher {
    return this.agent;
  }

  /**
   * A failure while reading a 2xx body (JSON or an SSE stream): client abort → 499, otherwise
   * a 502 UpstreamError naming the provider. Marked retryable: the caller knows whether it has
   * already passed part of the answer on and so can no longer retry.
   */
  streamFailure(error: unknown, context: CallContext): Error {
    if (error instanceof GatewayError) return error;
    if (context.signal?.aborted) return errors.clientClosed();
    return new UpstreamError(
      {
        provider: this.options.provider,
        deployment: this.options.instance,
        message: `answer interrupted (${(error as { code?: string }).code ?? (error as Error).message})`,
        retryable: true,
      },
      error,
    );
  }

  private networkError(error: unknown, context: CallContext): Error {
    if (error instanceof GatewayError) return error; // e.g. a request body that failed validation mid-stream
    if (context.signal?.aborted) return errors.clientClosed();
    const code = (error as { code?: string }).code ?? '';
    const timeout = TIMEOUT_CODES.has(code);
    return new UpstreamError(
      {
        provider: this.options.provider,
        deployment: this.options.instance,
        message: timeout ? `timeout waiting for ${this.options.provider} (${code})` : `could not reach ${this.options.provider} (${code || (error as Error).message})`,
        retryable: true,
      },
      error,
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), this.uploadAgent.close()]);
  }
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readLimited(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_ERROR_BODY) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
}

/** Lenient reader for `{"error":{"message","code"}}` bodies (OpenAI, Azure, Google). */
export function parseErrorEnvelope(status: number, bodyText: string): ParsedUpstreamError {
  try {
    const body = JSON.parse(bodyText) as { error?: { message?: unknown; code?: unknown } | string; error_description?: string };
    if (typeof body.error === 'object' && body.error && typeof body.error.message === 'string') {
      return { message: body.error.message, code: body.error.code == null ? undefined : String(body.error.code) };
    }
    if (typeof body.error === 'string') return { message: body.error_description ?? body.error };
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = bodyText.trim().slice(0, 300);
  return { message: text === '' ? `HTTP ${status} with an empty body` : text };
}
