/**
 * POST /v1/chat/completions (and /chat/completions) answered in front of fastify's router, hooks
 * and reply (issue 10: that machinery was ~8 % of a chat completion's busy time, BENCHMARKS.md),
 * by wrapping the 'request' listener fastify puts on its node:http server (app.ts): the server and
 * its options stay fastify's (https://nodejs.org/api/http.html#event-request).
 *
 * Only a request whose request line and headers take the common road comes here: POST to exactly
 * that path (no query string), `Content-Type: application/json`, a Content-Length within the body
 * limit, no Transfer-Encoding or Expect, a key settled without a database lookup, the server not
 * closing, and the whole body received one event-loop phase after the headers (as the body idle
 * watcher decides, body-idle-timeout.ts). Anything else goes to fastify untouched (nothing read
 * from the body yet), which answers it as before: 404/405, 413, 415, 401/403, 408, the shutdown 503.
 *
 * What fastify and the global hooks do for such a request is done here with the same pieces: the
 * request id (given or minted) echoed in `x-request-id`, the key, the JSON body rules
 * (json-body.ts), the route's work (chat-routes.ts), the error handler's envelope and log line,
 * the completion line (request-logging.ts) and the request metrics under the route's pattern.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyChildLoggerFactory } from 'fastify/types/logger.js';
import { recordRequest } from '../core/metrics.ts';
import type { Principal } from '../core/access-policy.ts';
import type { KeyService } from '../services/key-service.ts';
import type { Runtime } from '../runtime.ts';
import { responseCallContext } from './call-context.ts';
import { parseJsonBody } from './json-body.ts';
import { logShapedError, shapeError } from './plugins/error-handler.ts';
import { presentedKeyIn } from './plugins/auth.ts';
import type { OneLineLogController } from './request-logging.ts';
import { answerChat, writeChatStream } from './routes/chat-routes.ts';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export interface ChatFastPathOptions {
  runtime: Runtime;
  /** fastify's `bodyLimit` for JSON bodies (bytes). */
  bodyLimit: number;
  /** fastify's `genReqId`. */
  requestId: (request: IncomingMessage) => string;
  /** The app's root logger, its `childLoggerFactory` and its `logController`. */
  log: FastifyBaseLogger;
  childLogger: FastifyChildLoggerFactory;
  logController: OneLineLogController;
  /** True once the app started closing (fastify then answers 503). */
  closing: () => boolean;
}

/** The two URLs, which are also the route patterns fastify names in `routeOptions.url` (the metrics' `route` label). */
const V1_URL = '/v1/chat/completions';
const PLAIN_URL = '/chat/completions';
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);
const CONTENT_TYPE = 'application/json; charset=utf-8';
const ignore = () => {};

export class ChatFastPath {
  private readonly keys: KeyService;

  constructor(private readonly options: ChatFastPathOptions) {
    this.keys = options.runtime.keys;
  }

  /** The server's request handler: this path's requests, else fastify's handler. */
  handler(fastify: Handler): Handler {
    return (request, response) => {
      if (!this.eligible(request)) return fastify(request, response);
      // Node parses a small body one phase after the headers of the same read (body-idle-timeout.ts).
      if (request.complete) return this.take(request, response, fastify);
      setImmediate(() => {
        if (request.complete && !request.destroyed) this.take(request, response, fastify);
        else fastify(request, response);
      });
    };
  }

  /** What the request line and headers say, nothing read yet. */
  private eligible(request: IncomingMessage): boolean {
    if (request.method !== 'POST' || (request.url !== V1_URL && request.url !== PLAIN_URL)) return false;
    const headers = request.headers;
    if (headers['transfer-encoding'] !== undefined || headers.expect !== undefined) return false;
    const type = headers['content-type'];
    if (type === undefined || !JSON_TYPES.has(type)) return false;
    const length = Number(headers['content-length']);
    return length > 0 && length <= this.options.bodyLimit;
  }

  private take(raw: IncomingMessage, response: ServerResponse, fastify: Handler): void {
    if (this.options.closing()) return fastify(raw, response);
    let principal;
    try {
      principal = this.keys.authenticateNow(presentedKeyIn(raw.headers));
    } catch {
      return fastify(raw, response); // refused: fastify's hook answers the 401
    }
    if (principal instanceof Promise) {
      // A database lookup: fastify's hook awaits the same lookup (KeyService shares it).
      principal.catch(ignore);
      return fastify(raw, response);
    }
    // The whole body is in the stream's buffer: read() hands it over at once, and 'end' follows.
    const body = raw.read() as Buffer | null;
    const exchange = new Exchange(this.options, raw, response);
    if (body === null || body.length !== Number(raw.headers['content-length'])) {
      // What fastify's body reader says when the bytes do not match Content-Length (error-handler.ts).
      return exchange.fail(Object.assign(new Error('Request body size did not match Content-Length'), { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 }), true);
    }
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body.toString('utf8'));
    } catch (error) {
      return exchange.fail(error, true);
    }
    exchange
      .run(principal, parsed)
      .catch((error: unknown) => exchange.fail(error))
      // Never an unhandled rejection (it would end the process): a failure to answer ends the connection.
      .catch(() => {
        response.destroy();
        raw.destroy();
      });
  }
}

/** One request on the fast path, in the shape fastify's request and reply have for the log and metrics. */
class Exchange {
  readonly id: string;
  readonly log: FastifyBaseLogger;
  private readonly started = performance.now();
  private ended: number | undefined;

  constructor(
    private readonly options: ChatFastPathOptions,
    readonly raw: IncomingMessage,
    private readonly response: ServerResponse,
  ) {
    this.id = options.requestId(raw);
    this.log = options.childLogger.call(undefined as never, options.log, { reqId: this.id }, {}, raw) as FastifyBaseLogger;
    const finished = (error?: Error) => {
      response.removeListener('finish', finished);
      response.removeListener('error', finished);
      this.ended = performance.now();
      recordRequest({ method: 'POST', route: raw.url!, status: response.statusCode, seconds: this.elapsedTime / 1000 });
      options.logController.requestCompleted(error, this as unknown as FastifyRequest, this as unknown as FastifyReply);
    };
    response.on('finish', finished);
    response.on('error', finished);
  }

  // What serializeRequest (log-redaction.ts) and fastify's `res` serializer read.
  get method(): string {
    return 'POST';
  }
  get url(): string {
    return this.raw.url!;
  }
  get host(): string {
    return this.raw.headers.host ?? '';
  }
  get ip(): string | undefined {
    return this.raw.socket?.remoteAddress;
  }
  get socket() {
    return this.raw.socket;
  }
  get statusCode(): number {
    return this.response.statusCode;
  }
  /** fastify's `reply.elapsedTime`. */
  get elapsedTime(): number {
    return (this.ended ?? performance.now()) - this.started;
  }

  async run(principal: Principal, body: unknown): Promise<void> {
    const context = responseCallContext(this.id, this.log, this.response);
    const answer = await answerChat(this.options.runtime, principal, body, context);
    if (typeof answer === 'string') {
      this.response.writeHead(200, { 'x-request-id': this.id, 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(answer) });
      this.response.end(answer);
      return;
    }
    await writeChatStream({ response: this.response, requestId: this.id, chunks: answer, context, log: this.log });
  }

  /**
   * The error handler's answer (error-handler.ts), headers in the order fastify writes them.
   * `bodyError`: the body could not be read or parsed, and fastify closes the connection after such
   * an answer (its body reader sets `connection: close`: the client may still be sending).
   */
  fail(error: unknown, bodyError = false): void {
    const shaped = shapeError(error);
    logShapedError(this.log, error, shaped);
    const response = this.response;
    if (response.headersSent || shaped.code === 'client_closed_request') {
      response.destroy();
      this.raw.destroy();
      return;
    }
    const text = JSON.stringify(shaped.toJSON());
    const headers: Record<string, string | number> = { 'x-request-id': this.id };
    if (bodyError) headers.connection = 'close';
    for (const name of Object.keys(shaped.headers)) headers[name.toLowerCase()] = shaped.headers[name]!;
    headers['content-type'] = CONTENT_TYPE;
    headers['content-length'] = Buffer.byteLength(text);
    response.writeHead(shaped.status, headers);
    response.end(text);
  }
}
