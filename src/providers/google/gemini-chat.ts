/**
 * Chat completions over Gemini `generateContent` (ai.google.dev/api/generate-content), shared by
 * Vertex AI and the Gemini API: they differ only in the model path and the credential, which come
 * with the UpstreamClient. The OpenAI request is translated to Gemini, the answer back. Streams
 * use `:streamGenerateContent?alt=sse`; each SSE event is one GenerateContentResponse and Google
 * sends no [DONE], so the stream ends with the body.
 */
import type { CallContext } from '../../core/call-context.ts';
import type { ChatCapability, ChatRequest } from '../provider-adapter.ts';
import { upstreamSseData } from '../shared/sse.ts';
import type { UpstreamClient, UpstreamResponse } from '../shared/upstream-client.ts';
import { convertGeminiResponse, GeminiStreamConverter } from './convert-gemini-to-openai.ts';
import { convertOpenAIToGemini } from './convert-openai-to-gemini.ts';
import type { GeminiResponse } from './gemini-types.ts';
import { describeErrorBody } from './google-errors.ts';

export interface GeminiChatOptions {
  /** The deployment's transport: base URL, auth hook, Google error parsing. */
  client: UpstreamClient;
  /** Deployment id: picks its entry in `fileReferences`. */
  instance: string;
  /** The model named in answers when the request names none. */
  model: string;
  /** Path of the model under the client's base URL, e.g. `/models/gemini-2.5-flash`. */
  modelPath: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export class GeminiChat implements ChatCapability {
  constructor(private readonly options: GeminiChatOptions) {}

  async complete(request: ChatRequest, context: CallContext): Promise<Record<string, unknown>> {
    const { client } = this.options;
    const response = await this.send(request, context, false);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw client.streamFailure(error, context); // aborted or cut while reading the body
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw client.malformed('answered with a body that is not JSON', error);
    }
    if (!parsed || typeof parsed !== 'object') throw client.malformed('answered with a body that is not a GenerateContentResponse');
    return convertGeminiResponse(parsed as GeminiResponse, { model: modelOf(request, this.options.model) });
  }

  async stream(request: ChatRequest, context: CallContext): Promise<AsyncIterable<Record<string, unknown>>> {
    const response = await this.send(request, context, true);
    const options = request.body.stream_options as { include_usage?: unknown } | undefined;
    const converter = new GeminiStreamConverter({ model: modelOf(request, this.options.model), includeUsage: options?.include_usage === true });
    return this.chunks(upstreamSseData(response, this.options.client, context), converter);
  }

  private send(request: ChatRequest, context: CallContext, stream: boolean): Promise<UpstreamResponse> {
    const gemini = convertOpenAIToGemini({ body: request.body, fileReferences: request.fileReferences, instance: this.options.instance });
    const body = JSON.stringify(gemini);
    const { modelPath } = this.options;
    // A generation has no effect upstream besides its answer: safe to send again.
    return stream
      ? this.options.client.send(
          { operation: 'chat.stream', method: 'POST', path: `${modelPath}:streamGenerateContent`, query: { alt: 'sse' }, headers: { ...JSON_HEADERS, accept: 'text/event-stream' }, body, stream: true, idempotent: true },
          context,
        )
      : this.options.client.send({ operation: 'chat.complete', method: 'POST', path: `${modelPath}:generateContent`, headers: JSON_HEADERS, body, idempotent: true }, context);
  }

  private async *chunks(events: AsyncGenerator<string>, converter: GeminiStreamConverter): AsyncGenerator<Record<string, unknown>> {
    const { client } = this.options;
    for await (const data of events) {
      const event = client.parseStreamEvent(data);
      // A failure after the status line arrives as an error event (same envelope as the body).
      if ((event as { error?: unknown }).error) throw client.malformed(describeErrorBody(data, 502));
      yield* converter.push(event as GeminiResponse);
    }
    yield* converter.finish();
  }
}

/** The response names the model the client asked for (the service set it to the deployment's). */
function modelOf(request: ChatRequest, fallback: string): string {
  return typeof request.body.model === 'string' && request.body.model !== '' ? request.body.model : fallback;
}
