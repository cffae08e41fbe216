/** The adapter call context for a request: its id, logger, and a signal that fires when the client goes away. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallContext } from '../core/call-context.ts';

const NOTHING = () => {};

export function callContext(request: FastifyRequest, reply: FastifyReply): CallContext {
  // The AbortController is made when someone reads `signal` (whenAborted does not need it).
  let controller: AbortController | undefined;
  let left = false;
  let listeners: Set<() => void> | undefined;
  reply.raw.once('close', () => {
    if (reply.raw.writableFinished) return;
    left = true;
    controller?.abort();
    if (listeners) for (const listener of [...listeners]) listener();
    listeners = undefined;
  });
  // An object literal with an own getter: `{ ...context }` copies the signal (and not
  // whenAborted, which is not enumerable: see CallContext).
  const context: CallContext = {
    requestId: request.id,
    logger: request.log,
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
