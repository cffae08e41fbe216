/** POST /chat/completions: JSON answers, or OpenAI SSE chunks ending with `data: [DONE]`. */
import type { FastifyInstance } from 'fastify';
import { GatewayError, errors, upstreamLogFields } from '../../core/errors.ts';
import { jsonText, RawJson, SseText } from '../../core/raw-json.ts';
import type { Runtime } from '../../runtime.ts';
import { assertChatBodyShape } from '../../services/chat-body-shape.ts';
import { parseChatBody } from '../../services/chat-service.ts';
import { callContext } from '../call-context.ts';
import { SseWriter } from '../sse-writer.ts';

export function registerChatRoutes(app: FastifyInstance, runtime: Runtime): void {
  app.post('/chat/completions', async (request, reply) => {
    assertChatBodyShape(request.body);
    const parsed = parseChatBody(request.body);
    const context = callContext(request, reply);
    if (!parsed.stream) {
      const answer = await runtime.chat.complete(request.principal, parsed, context);
      if (!(answer instanceof RawJson)) return answer;
      // The provider's JSON text, unchanged (the same header fastify sets for objects).
      return reply.type('application/json; charset=utf-8').send(answer.text);
    }

    const chunks = await runtime.chat.stream(request.principal, parsed, context);
    // From here on the status line is sent: failures become an error event, then the stream ends.
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      // No connection header of our own: Node keeps the connection open, or closes it after the
      // answer when the client sent `Connection: close` (RFC 9112 §9.6); a forced keep-alive left
      // such a client waiting for the server's idle timeout after [DONE].
      'x-request-id': request.id,
    });
    const writer = new SseWriter(response);
    try {
      for await (const chunk of chunks) {
        if (response.destroyed) break;
        const full = writer.write(chunk instanceof SseText ? chunk.text : `data: ${jsonText(chunk)}\n\n`);
        if (full) await full;
      }
      if (!response.destroyed) writer.end('data: [DONE]\n\n');
    } catch (error) {
      if (response.destroyed || context.signal?.aborted) return;
      const shaped = error instanceof GatewayError ? error : errors.internal(error);
      request.log.warn({ code: shaped.code, ...upstreamLogFields(error) }, `stream failed: ${shaped.message}`);
      writer.end(`data: ${JSON.stringify(shaped.toJSON())}\n\n`);
    }
  });
}
