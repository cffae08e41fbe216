/**
 * Chat completions on the Gemini API (providers.md §4.5, SPEC §1.1): the OpenAI request gets the
 * same Gemini translation as Vertex (../vertex/convert-*.ts), goes to
 * `/v1beta/models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`) with
 * `x-goog-api-key`, and comes back through the same response converters. A file part becomes
 * `fileData {mimeType, fileUri}` with the uri of this deployment's copy.
 */
import { UpstreamError } from '../../core/errors.ts';
import type { CallContext, ChatCapability, ChatRequest, FileReferenceTargets } from '../provider-adapter.ts';
import { upstreamSseData } from '../shared/sse.ts';
import type { UpstreamClient, UpstreamResponse } from '../shared/upstream-client.ts';
import { convertGeminiResponse, GeminiStreamConverter } from '../vertex/convert-gemini-to-openai.ts';
import { convertOpenAIToGemini } from '../vertex/convert-openai-to-gemini.ts';
import type { GeminiResponse } from '../vertex/gemini-types.ts';
import type { GeminiFiles } from './gemini-files.ts';
import { isGeminiFileId, PROVIDER, reclassify, resourceId } from './gemini-wire.ts';

export interface GeminiChatOptions {
  instance: string;
  /** Model id, e.g. gemini-2.0-flash (the URL's `models/{model}`). */
  model: string;
  client: UpstreamClient;
  /** For raw Gemini file ids in messages: their uri and MIME type come from a get. */
  files: GeminiFiles;
}

type Json = Record<string, unknown>;

export class GeminiChat implements ChatCapability {
  constructor(private readonly options: GeminiChatOptions) {}

  async complete(request: ChatRequest, context: CallContext): Promise<Json> {
    const response = await this.send(request, context, false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await response.body.text());
    } catch (error) {
      throw error instanceof SyntaxError ? this.malformed('answered with a body that is not JSON') : this.options.client.streamFailure(error, context);
    }
    if (!parsed || typeof parsed !== 'object') throw this.malformed('answered with a body that is not a GenerateContentResponse');
    return convertGeminiResponse(parsed as GeminiResponse, { model: modelOf(request, this.options.model) });
  }

  async stream(request: ChatRequest, context: CallContext): Promise<AsyncIterable<Json>> {
    const response = await this.send(request, context, true);
    const streamOptions = request.body.stream_options as { include_usage?: unknown } | undefined;
    const converter = new GeminiStreamConverter({ model: modelOf(request, this.options.model), includeUsage: streamOptions?.include_usage === true });
    return this.chunks(upstreamSseData(response, this.options.client, context), converter);
  }

  private async send(request: ChatRequest, context: CallContext, stream: boolean): Promise<UpstreamResponse> {
    const fileReferences = await this.withOwnFiles(request, context);
    const body = JSON.stringify(convertOpenAIToGemini({ body: request.body, fileReferences, instance: this.options.instance }));
    const model = encodeURIComponent(this.options.model);
    try {
      return await this.options.client.send(
        stream
          ? { operation: 'chat.stream', method: 'POST', path: `/v1beta/models/${model}:streamGenerateContent`, query: { alt: 'sse' }, headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body }
          : { operation: 'chat.complete', method: 'POST', path: `/v1beta/models/${model}:generateContent`, headers: { 'content-type': 'application/json' }, body },
        context,
      );
    } catch (error) {
      throw reclassify(error);
    }
  }

  /**
   * This deployment's copies become their file uri; raw Gemini file ids the client sent itself
   * (already ownership-checked by the service) are looked up for their uri and MIME type.
   */
  private async withOwnFiles(request: ChatRequest, context: CallContext): Promise<Record<string, FileReferenceTargets>> {
    const references: Record<string, FileReferenceTargets> = {};
    for (const [fileId, targets] of Object.entries(request.fileReferences)) {
      const own = targets[this.options.instance];
      references[fileId] = own ? { ...targets, [this.options.instance]: { ...own, providerFileId: this.uriOf(own.providerFileId) } } : targets;
    }
    for (const fileId of rawFileIds(request.body.messages)) {
      if (Object.hasOwn(references, fileId)) continue;
      const file = await this.options.files.resource(fileId, context);
      references[fileId] = { [this.options.instance]: { providerFileId: file.uri, mimeType: file.mimeType } };
    }
    return references;
  }

  /** The uri the Files API reports for a file: `<api base>/v1beta/files/<id>` (providers.md §4.3). */
  private uriOf(providerFileId: string): string {
    return `${this.options.client.options.baseUrl}/v1beta/files/${resourceId(providerFileId)}`;
  }

  private async *chunks(events: AsyncGenerator<string>, converter: GeminiStreamConverter): AsyncGenerator<Json> {
    for await (const data of events) {
      let event: unknown;
      try {
        event = JSON.parse(data);
      } catch {
        throw this.malformed('sent a stream event that is not JSON');
      }
      if (!event || typeof event !== 'object') throw this.malformed('sent a stream event that is not an object');
      // A failure after the status line arrives as an error event in the same envelope.
      if ((event as { error?: unknown }).error) throw this.malformed('sent an error event mid-stream');
      yield* converter.push(event as GeminiResponse);
    }
    yield* converter.finish();
  }

  private malformed(message: string): UpstreamError {
    return new UpstreamError({ provider: PROVIDER, deployment: this.options.instance, upstreamStatus: 502, message, retryable: false });
  }
}

/** `file.file_id` values that are Gemini file ids or Files API uris. */
function rawFileIds(messages: unknown[]): string[] {
  const ids = new Set<string>();
  for (const message of messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const fileId = (part as { type?: unknown; file?: { file_id?: unknown } } | null)?.file?.file_id;
      if (typeof fileId === 'string' && (isGeminiFileId(fileId) || /^https:\/\/[^/]+\/v1beta\/files\/[a-z0-9-]+$/.test(fileId))) ids.add(fileId);
    }
  }
  return [...ids];
}

function modelOf(request: ChatRequest, fallback: string): string {
  return typeof request.body.model === 'string' && request.body.model !== '' ? request.body.model : fallback;
}
