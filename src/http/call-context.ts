/** The adapter call context for a request: its id, logger, and a signal that fires when the client goes away. */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdapterLogger, CallContext } from '../core/call-context.ts';

const NOTHING = () => {};

export function callContext(request: FastifyRequest, reply: FastifyReply): CallContext {
  return responseCallContext(request.id, request.log, reply.raw);
}

/** callContext() for a response answered outside fastify's request objects (chat-fast-path.ts). */
export function responseCallContext(requestId: string, logger: AdapterLogger, response: ServerResponse): CallContext {
  // The AbortController is made when someone reads `signal` (whenAborted does not need it).
  let controller: AbortController | undefined;
  let left = false;
  let listeners: Set<() => void> | undefined;
  response.once('close', () => {
    if (response.writableFinished) return;
    left = true;
    controller?.abort();
    if (listeners) for (const listener of [...listeners]) listener();
    listeners = undefined;
  });
  // An object literal with an own getter: `{ ...context }` copies the signal (and not
  // whenAborted, which is not enumerable: see CallContext).
  const context: CallContext = {
    requestId,
    logger,
    get signal(): AbortSignal {
      if (!controller) {
        controller = new AbortController();
        if (left) controller.abort();
      }
      return controller.signal;
    },
  };
  const whenAborted = (listener: () => void): (() => void) => {
    if (left) {
      listener();
      return NOTHING;
    }
    const once = () => {
      listeners?.delete(once);
      listener();
    };
    (listeners ??= new Set()).add(once);
    return () => listeners?.delete(once);
  };
  Object.defineProperty(context, 'whenAborted', { value: whenAborted, enumerable: false });
  return context;
}
