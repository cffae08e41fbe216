/**
 * The one upstream transport: every provider call (files, chat, Cloud Storage, OAuth tokens) goes
 * through `UpstreamClient.send`, which adds the credential from the auth hook (sending once more
 * with a fresh one after a 401), applies the deployment's timeouts (connect, response headers,
 * body idle), turns failures into typed UpstreamErrors, retries idempotent calls per
 * retry-policy.ts, and writes one log line and one metric per attempt.
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { CallContext } from '../../core/call-context.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { ForwardableBody } from '../../core/forwardable-body.ts';
import { recordUpstreamCall } from '../../core/metrics.ts';
import { bufferedRequest, type BufferedBody, type BufferedResponse, type ForwardedBody } from './buffered-request.ts';
import { retryDecision, waitBeforeRetry, type RetryAfterHeaders } from './retry-policy.ts';
import type { UpstreamAuth } from './upstream-auth.ts';
import {
  headerValue,
  httpFailure,
  interruptedAnswer,
  malformedAnswer,
  readErrorText,
  transportFailure,
  type ParsedUpstreamError,
} from './upstream-failures.ts';

export { headerValue, parseErrorEnvelope, type ParsedUpstreamError } from './upstream-failures.ts';

/** Per-deployment `timeout` / `stream_timeout` (README "Endpoints" (limits)), in milliseconds. */
export interface UpstreamTimeouts {
  /** Connect (capped at 10 s), response headers and body idle for ordinary calls. Default 300 s. */
  timeoutMs?: number | undefined;
  /** Response headers and idle time between chunks of streamed answers. Default: timeoutMs. */
  streamTimeoutMs?: number | undefined;
}

export interface UpstreamClientOptions {
  /** Provider kind, e.g. "openai": named in errors, logs and metrics. */
  provider: string;
  /** Deployment id or files_settings instance name, named in errors and logs. */
  instance: string;
  /** Base URL every relative path is appended to (no trailing slash needed). */
  baseUrl: string;
  /** Headers sent on every call. */
  headers?: Record<string, string>;
  /** Where the credential comes from (never logged). */
  auth?: UpstreamAuth;
  /** Query parameters sent on every relative call (e.g. Azure's api-version). */
  query?: Record<string, string>;
  /** Reads the provider's error body. */
  parseError: (status: number, bodyText: string) => ParsedUpstreamError;
  timeouts?: UpstreamTimeouts;
  /** Per-deployment `max_retries` for idempotent calls (default 0). */
  maxRetries?: number;
  /** A pool shared with another client of the same deployment; else the client owns one. */
  dispatcher?: Dispatcher;
}

type BodyValue = string | Buffer | Readable | AsyncIterable<Uint8Array>;

export interface UpstreamCall {
  /** Name of the operation for logs and metrics, e.g. "files.upload". */
  operation: string;
  method: Dispatcher.HttpMethod;
  /** Relative to the base URL … */
  path?: string;
  /** … or absolute (resumable session URIs, token endpoints); client-level query is not added. */
  url?: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** A string, a Buffer or a factory can be sent again (retries, 401 refresh); a stream cannot. */
  body?: BodyValue | (() => BodyValue);
  /** Safe to send twice. Default: true for GET, HEAD, PUT, DELETE; false otherwise. */
  idempotent?: boolean;
  /** Statuses that count as success. Default: any 2xx. */
  expect?: readonly number[];
  /** A streamed answer (SSE): `stream_timeout` applies. */
  stream?: boolean;
  /** Overrides the body-idle timeout; 0 for file bytes a slow client may pause. */
  bodyTimeoutMs?: number;
  /** Send without the auth hook's headers (e.g. the token call itself). */
  anonymous?: boolean;
  /**
   * 'upload': send on this client's pool for file bodies (README "Endpoints" (limits)). File bodies stream at the
   * client's pace and a stalled client holds its connection until the idle timeout cuts it;
   * sharing the pool of short calls let 128 stalled uploads starve every list/retrieve/chat.
   */
  pool?: 'upload';
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { text(): Promise<string>; json(): Promise<unknown>; dump(): Promise<void> };
}

/** The answer of text() / json(): its body already on its way into memory. */
interface BufferedUpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: BufferedBody;
}

/** The answer of forward(): its body handed over read by read. */
export interface ForwardedUpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ForwardedBody;
}

/** The answer of forwardable(): a stream whose chunks can also go straight to one consumer. */
export interface ForwardableResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ForwardableBody;
}

/**
 * How an expected answer's body is read: undici's stream, whole into memory, handed over as it
 * arrives, or a ForwardableBody (a stream that can also hand its chunks to one consumer).
 */
type BodyMode = 'stream' | 'text' | 'forward' | 'forwardable';
type AnyUpstreamResponse = UpstreamResponse | BufferedUpstreamResponse | ForwardedUpstreamResponse | ForwardableResponse;

type Attempt = { response: AnyUpstreamResponse } | { error: unknown; status?: number; retryAfter?: RetryAfterHeaders; credential?: Record<string, string> };

const DEFAULT_TIMEOUT_MS = 300_000;

/** Adds the source's headers to `target` (later sources win, as with object spread). */
function copyInto(target: Record<string, string>, source: Record<string, string> | undefined): void {
  if (source) for (const name of Object.keys(source)) target[name] = source[name]!;
}
const neverBuffered = () => false;
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** A connection pool for one deployment; several clients of it (API, storage, tokens) may share it. */
export function createUpstreamAgent(timeouts?: UpstreamTimeouts): Agent {
  return new Agent({ connections: 128, keepAliveTimeout: 10_000, connect: { timeout: Math.min(timeouts?.timeoutMs ?? 10_000, 10_000) } });
}

export class UpstreamClient {
  readonly options: UpstreamClientOptions;
  private readonly agent: Dispatcher;
  private readonly ownsAgent: boolean;
  /** Uploads only (UpstreamCall.pool), made on first use; no connection cap: the per-key upload cap bounds it. */
  private uploadAgent: Agent | undefined;
  private readonly source: { provider: string; instance: string };
  /** Origin and path per relative path (see target()). */
  private readonly targets = new Map<string, { origin: string; path: string }>();

  constructor(options: UpstreamClientOptions) {
    this.options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.source = { provider: options.provider, instance: options.instance };
    this.ownsAgent = !options.dispatcher;
    this.agent = options.dispatcher ?? createUpstreamAgent(options.timeouts);
  }

  /** The pool, for another client of the same deployment (e.g. its token endpoint). */
  get dispatcher(): Dispatcher {
    return this.agent;
  }

  buildUrl(call: Pick<UpstreamCall, 'path' | 'url' | 'query'>): string {
    return this.buildUrlObject(call).toString();
  }

  private buildUrlObject(call: Pick<UpstreamCall, 'path' | 'url' | 'query'>): URL {
    const url = new URL(call.url ?? this.options.baseUrl + (call.path ?? ''));
    const query = call.url ? call.query : { ...this.options.query, ...call.query };
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }

  /**
   * Origin and path of the call, as undici's `request(url)` derives them from the URL
   * (https://undici.nodejs.org/#/docs/api/Dispatcher?id=dispatcherrequestoptions-callback); the
   * same relative path without a query of its own (every chat call) is parsed once.
   */
  private target(call: UpstreamCall): { origin: string; path: string } {
    const cacheable = call.url === undefined && call.query === undefined && call.path !== undefined;
    if (cacheable) {
      const known = this.targets.get(call.path!);
      if (known) return known;
    }
    const url = this.buildUrlObject(call);
    const target = { origin: url.origin, path: url.search ? `${url.pathname}${url.search}` : url.pathname };
    if (cacheable) {
      // Paths with ids (files/{id}) are many: a bounded map, emptied when full.
      if (this.targets.size >= 256) this.targets.clear();
      this.targets.set(call.path!, target);
    }
    return target;
  }

  /** Sends the call; an answer outside `expect` (default 2xx) is thrown as UpstreamError. */
  async send(call: UpstreamCall, context: CallContext): Promise<UpstreamResponse> {
    return (await this.sendFor(call, context, 'stream')) as UpstreamResponse;
  }

  /**
   * send(), the expected answer's body handed over read by read as it arrives (bufferedRequest's
   * `forward`): for a body passed on to the client as it comes, without a stream in between.
   */
  async forward(call: UpstreamCall, context: CallContext): Promise<ForwardedUpstreamResponse> {
    return (await this.sendFor(call, context, 'forward')) as ForwardedUpstreamResponse;
  }

  /**
   * send() for file bytes that are passed on as they come: the body is a ForwardableBody
   * (core/forwardable-body.ts), fed by undici's dispatch handler (bufferedRequest) without
   * undici's own body stream in between.
   */
  async forwardable(call: UpstreamCall, context: CallContext): Promise<ForwardableResponse> {
    return (await this.sendFor(call, context, 'forwardable')) as ForwardableResponse;
  }

  /** send(); the expected answer's body as `mode` says ('text', 'forward': bufferedRequest). */
  private async sendFor(call: UpstreamCall, context: CallContext, mode: BodyMode): Promise<AnyUpstreamResponse> {
    const replayable = typeof call.body === 'function' || typeof call.body === 'string' || Buffer.isBuffer(call.body) || call.body === undefined;
    const idempotent = call.idempotent ?? IDEMPOTENT_METHODS.has(call.method);
    const maxRetries = replayable && idempotent ? (this.options.maxRetries ?? 0) : 0;
    let refreshed = false;
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.attempt(call, context, attempt, mode);
      if ('response' in outcome) return outcome.response;
      const auth = this.options.auth;
      if (outcome.status === 401 && !refreshed && replayable && auth?.refused && outcome.credential) {
        auth.refused(outcome.credential);
        refreshed = true;
        attempt -= 1; // a fresh credential is not a retry
        continue;
      }
      const decision = retryDecision({ error: outcome.error, attempt, maxRetries, retryAfter: outcome.retryAfter ?? {} });
      if (!decision.retry || context.signal?.aborted) throw outcome.error;
      try {
        await waitBeforeRetry(decision.waitMs, context.signal);
      } catch (error) {
        throw transportFailure(this.source, { error, signal: context.signal });
      }
    }
  }

  private async attempt(call: UpstreamCall, context: CallContext, attempt: number, mode: BodyMode): Promise<Attempt> {
    const started = performance.now();
    const log = (status: number | string, upstreamRequestId?: string) => {
      recordUpstreamCall(this.options.provider, call.operation, status);
      const line: Record<string, unknown> = {
        provider: this.options.provider,
        deployment: this.options.instance,
        operation: call.operation,
        status,
        durationMs: Math.round(performance.now() - started),
        upstreamRequestId,
      };
      if (attempt > 1) line.attempt = attempt;
      context.logger.info(line, 'upstream call');
    };
    const credential = call.anonymous || !this.options.auth ? undefined : await this.options.auth.headers(context);
    const timeouts = this.options.timeouts;
    const waitMs = (call.stream ? timeouts?.streamTimeoutMs : undefined) ?? timeouts?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const isExpected = (status: number) => (call.expect ? call.expect.includes(status) : status >= 200 && status < 300);
    let response: Dispatcher.ResponseData | BufferedResponse;
    try {
      const body = typeof call.body === 'function' ? call.body() : call.body;
      const dispatcher = call.pool === 'upload' ? this.uploadPool() : this.agent;
      // Origin and path: what undici's top-level request() derives from the URL, without parsing
      // it on every call. Built by assignment: object spread showed as most of this function's
      // own time in a chat profile.
      const target = this.target(call);
      const headers: Record<string, string> = { 'x-request-id': context.requestId };
      copyInto(headers, this.options.headers);
      copyInto(headers, call.headers);
      copyInto(headers, credential);
      const options: Dispatcher.RequestOptions = {
        origin: target.origin,
        path: target.path,
        method: call.method,
        headers,
        body: (body ?? null) as Dispatcher.RequestOptions['body'],
        headersTimeout: waitMs,
        bodyTimeout: call.bodyTimeoutMs ?? waitMs,
      };
      if (mode === 'stream') options.signal = context.signal;
      response =
        mode === 'stream'
          ? await dispatcher.request(options)
          : mode === 'forwardable'
            ? await bufferedRequest(dispatcher, options, context, neverBuffered)
            : await bufferedRequest(dispatcher, options, context, isExpected, mode);
    } catch (error) {
      const failure = transportFailure(this.source, { error, signal: context.signal });
      log(failure instanceof UpstreamError ? (failure.failure.kind ?? 'connect') : 'aborted');
      return { error: failure };
    }
    const upstreamRequestId = headerValue(response.headers['x-request-id'] ?? response.headers['apim-request-id']);
    const status = response.statusCode;
    log(status, upstreamRequestId);
    if (isExpected(status)) return { response: { status, headers: response.headers, body: response.body } as AnyUpstreamResponse };
    const text = await readErrorText(response.body as Readable);
    const parsed = this.options.parseError(status, text);
    const retryAfter = { 'retry-after': headerValue(response.headers['retry-after']), 'retry-after-ms': headerValue(response.headers['retry-after-ms']) };
    const error = httpFailure(this.source, {
      status,
      message: parsed.message,
      code: parsed.code,
      type: parsed.type,
      ...(retryAfter['retry-after'] ? { retryAfter: retryAfter['retry-after'] } : {}),
      ...(upstreamRequestId ? { upstreamRequestId } : {}),
    });
    return { error, status, retryAfter, ...(credential ? { credential } : {}) };
  }

  /** Sends the call and parses a JSON answer (an empty body gives undefined). */
  async json<T>(call: UpstreamCall, context: CallContext): Promise<T> {
    return this.parseJson<T>(await this.text(call, context));
  }

  /** Sends the call and reads the whole answer as text. */
  async text(call: UpstreamCall, context: CallContext): Promise<string> {
    const response = (await this.sendFor(call, context, 'text')) as BufferedUpstreamResponse;
    try {
      return await response.body.text();
    } catch (error) {
      throw this.streamFailure(error, context); // aborted or cut while reading the body
    }
  }

  /** JSON answer text parsed (an empty body gives undefined); anything else is a malformed answer. */
  parseJson<T>(text: string): T {
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw this.malformed('answered with a body that is not JSON', error);
    }
  }

  /** One SSE event's data parsed as a JSON object; anything else is a malformed answer. */
  parseStreamEvent(data: string): object {
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch (error) {
      throw this.malformed('sent a stream event that is not JSON', error);
    }
    if (!event || typeof event !== 'object') throw this.malformed('sent a stream event that is not an object');
    return event;
  }

  /** A success status with a body that is not what the provider documents (502). */
  malformed(message: string, cause?: unknown): UpstreamError {
    return malformedAnswer(this.source, message, cause);
  }

  /**
   * A failure while reading a 2xx body (JSON or an SSE stream): client abort → 499, otherwise a
   * retryable 502/504 naming the provider — the caller knows whether it already passed part of
   * the answer on and so can no longer fail over.
   */
  streamFailure(error: unknown, context: CallContext): Error {
    return interruptedAnswer(this.source, error, context.signal);
  }

  private uploadPool(): Agent {
    this.uploadAgent ??= new Agent({ keepAliveTimeout: 10_000, connect: { timeout: Math.min(this.options.timeouts?.timeoutMs ?? 10_000, 10_000) } });
    return this.uploadAgent;
  }

  async close(): Promise<void> {
    await this.uploadAgent?.close();
    if (this.ownsAgent) await this.agent.close();
  }
}
