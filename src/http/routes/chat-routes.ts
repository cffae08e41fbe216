/** POST /chat/completions: JSON answers, or OpenAI SSE chunks ending with `data: [DONE]`. */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AdapterLogger, CallContext } from '../../core/call-context.ts';
import type { Principal } from '../../core/access-policy.ts';
import { GatewayError, errors, upstreamLogFields } from '../../core/errors.ts';
import { jsonText, RawJson, SsePassthrough, type JsonAnswer } from '../../core/raw-json.ts';
import type { Runtime } from '../../runtime.ts';
import { assertChatBodyShape } from '../../services/chat-body-shape.ts';
import { parseChatBody } from '../../services/chat-service.ts';
import { callContext } from '../call-context.ts';
import { SseWriter } from '../sse-writer.ts';

/**
 * The route's work on a parsed body, shared with the fast path (chat-fast-path.ts): the JSON text
 * of a completion, or the stream a deployment accepted (written by writeChatStream).
 */
export async function answerChat(runtime: Runtime, principal: Principal, body: unknown, context: CallContext): Promise<string | AsyncIterable<JsonAnswer> | SsePassthrough> {
  assertChatBodyShape(body);
  const parsed = parseChatBody(body);
  if (parsed.stream) return runtime.chat.stream(principal, parsed, context);
  const answer = await runtime.chat.complete(principal, parsed, context);
  // The provider's JSON text unchanged, or the converter's object as fastify serializes it.
  return answer instanceof RawJson ? answer.text : JSON.stringify(answer);
}

/** The SSE answer: from here on the status line is sent, failures become an error event, then the stream ends. */
export async function writeChatStream(input: {
  response: ServerResponse;
  requestId: string;
  /** Chunks, or a stream that writes its events itself (ChatCapability.streamSse). */
  chunks: AsyncIterable<JsonAnswer> | SsePassthrough;
  context: CallContext;
  log: AdapterLogger;
}): Promise<void> {
  const { response, chunks, context } = input;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // No connection header of our own: Node keeps the connection open, or closes it after the
    // answer when the client sent `Connection: close` (RFC 9112 §9.6); a forced keep-alive left
    // such a client waiting for the server's idle timeout after [DONE].
    'x-request-id': input.requestId,
  });
  const writer = new SseWriter(response);
  try {
    if (chunks instanceof SsePassthrough) await chunks.pipeTo(writer);
    else {
      for await (const chunk of chunks) {
        if (response.destroyed) break;
        const full = writer.write(`data: ${jsonText(chunk)}\n\n`);
        if (full) await full;
      }
    }
    if (!response.destroyed) writer.end('data: [DONE]\n\n');
  } catch (error) {
    if (response.destroyed || context.signal?.aborted) return;
    const shaped = error instanceof GatewayError ? error : errors.internal(error);
    input.log.warn({ code: shaped.code, ...upstreamLogFields(error) }, `stream failed: ${shaped.message}`);
    writer.end(`data: ${JSON.stringify(shaped.toJSON())}\n\n`);
  }
}

export function registerChatRoutes(app: FastifyInstance, runtime: Runtime): void {
  app.post('/chat/completions', async (request, reply) => {
    const context = callContext(request, reply);
    const answer = await answerChat(runtime, request.principal, request.body, context);
    // The same header fastify sets for objects.
    if (typeof answer === 'string') return reply.type('application/json; charset=utf-8').send(answer);
    reply.hijack();
    await writeChatStream({ response: reply.raw, requestId: request.id, chunks: answer, context, log: request.log });
  });
}
