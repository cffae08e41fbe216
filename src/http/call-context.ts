/** The adapter call context for a request: its id, logger, and a signal that fires when the client goes away. */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdapterLogger, CallContext } from '../core/call-context.ts';

const NOTHING = () => {};

/**
 * A class, not an object literal with an own `get signal()`: such a literal made every request's
 * objects (request, reply, body, logger) outlive two young-generation collections and move to the
 * old generation, where only a full collection frees them — measured with `--trace-gc-nvp` at one
 * connection: ~600 KB promoted per scavenge (1.5–2.5 ms pauses) and a mark-compact every ~2 s,
 * against ~5 KB and ~0.5 ms with this class (BENCHMARKS.md, "Chat p99 at one connection").
 *
 * `requestId` and `logger` are own enumerable fields; `signal` and `whenAborted` live on the
 * prototype, so a copy `{ ...context, signal: undefined }` (a call detached from the client)
 * keeps neither.
 */
class RequestCallContext implements CallContext {
  readonly requestId: string;
  readonly logger: AdapterLogger;
  // The AbortController is made when someone reads `signal` (whenAborted does not need it).
  #controller: AbortController | undefined = undefined;
  #left = false;
  #listeners: Set<() => void> | undefined = undefined;

  constructor(requestId: string, logger: AdapterLogger) {
    this.requestId = requestId;
    this.logger = logger;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#left) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  whenAborted(listener: () => void): () => void {
    if (this.#left) {
      listener();
      return NOTHING;
    }
    const listeners = (this.#listeners ??= new Set());
    const once = () => {
      listeners.delete(once);
      listener();
    };
    listeners.add(once);
    return () => listeners.delete(once);
  }

  /** The client went away before the answer was complete. */
  clientLeft(): void {
    this.#left = true;
    this.#controller?.abort();
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of [...listeners]) listener();
  }
}

export function callContext(request: FastifyRequest, reply: FastifyReply): CallContext {
  return responseCallContext(request.id, request.log, reply.raw);
}

/** callContext() for a response answered outside fastify's request objects (chat-fast-path.ts). */
export function responseCallContext(requestId: string, logger: AdapterLogger, response: ServerResponse): CallContext {
  const context = new RequestCallContext(requestId, logger);
  response.once('close', () => {
    if (!response.writableFinished) context.clientLeft();
  });
  return context;
}
