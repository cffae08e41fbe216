/** POST /chat/completions: JSON answers, or OpenAI SSE chunks ending with `data: [DONE]`. */
import type { FastifyInstance } from 'fastify';
import { GatewayError, errors, upstreamLogFields } from '../../core/errors.ts';
import type { Runtime } from '../../runtime.ts';
import { assertChatBodyShape } from '../../services/chat-body-shape.ts';
import { parseChatBody } from '../../services/chat-service.ts';
import { callContext } from '../call-context.ts';

export function registerChatRoutes(app: FastifyInstance, runtime: Runtime): void {
  app.post('/chat/completions', async (request, reply) => {
    assertChatBodyShape(request.body);
    const parsed = parseChatBody(request.body);
    const context = callContext(request, reply);
    if (!parsed.stream) return runtime.chat.complete(request.principal, parsed, context);

    const chunks = await runtime.chat.stream(request.principal, parsed, context);
    // From here on the status line is sent: failures become an error event, then the stream ends.
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': request.id,
    });
    try {
      for await (const chunk of chunks) {
        if (response.destroyed) break;
        response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
      if (!response.destroyed) response.end('data: [DONE]\n\n');
    } catch (error) {
      if (response.destroyed || context.signal?.aborted) return;
      const shaped = error instanceof GatewayError ? error : errors.internal(error);
      request.log.warn({ code: shaped.code, ...upstreamLogFields(error) }, `stream failed: ${shaped.message}`);
      response.end(`data: ${JSON.stringify(shaped.toJSON())}\n\n`);
    }
  });
}
