/** The adapter call context for a request: its id, logger, and a signal that fires when the client goes away. */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallContext } from '../core/call-context.ts';

const ABORT_ON_CLOSE = Symbol('unifile.abortOnClose');
type WatchedSocket = Socket & { [ABORT_ON_CLOSE]?: AbortController };

/**
 * The client goes away = its connection closes. One controller per connection, made by its first
 * request and reused by the next ones on the same keep-alive connection (a controller per request
 * and a 'close' listener per response were ~3 % of a chat request's CPU). A request whose answer
 * is complete no longer listens: undici, timers and streams detach from the signal when they finish.
 */
export function callContext(request: FastifyRequest, reply: FastifyReply): CallContext {
  const socket = request.raw.socket as WatchedSocket | null;
  if (!socket || typeof socket.once !== 'function') return perResponse(request, reply);
  let controller = socket[ABORT_ON_CLOSE];
  if (!controller || controller.signal.aborted) {
    const made = new AbortController();
    socket[ABORT_ON_CLOSE] = made;
    socket.once('close', () => made.abort());
    controller = made;
  }
  if (socket.destroyed) controller.abort();
  return { requestId: request.id, logger: request.log, signal: controller.signal };
}

/** Without a real socket (injected requests): a controller fired when the response closes unfinished. */
function perResponse(request: FastifyRequest, reply: FastifyReply): CallContext {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return { requestId: request.id, logger: request.log, signal: controller.signal };
}
