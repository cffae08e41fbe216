/** The adapter call context for a request: its id, logger, and a signal that fires when the client goes away. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallContext } from '../core/call-context.ts';

export function callContext(request: FastifyRequest, reply: FastifyReply): CallContext {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return { requestId: request.id, logger: request.log, signal: controller.signal };
}
