/**
 * Chat completions for OpenAI and Azure OpenAI: the OpenAI body goes through unchanged except
 * for file parts naming a unified id, which get this deployment's provider file id
 * (README "Endpoints" (chat), LiteLLM's managed files in chat, docs.litellm.ai/docs/proxy/litellm_managed_files step 3). Answers and stream chunks are passed on as the
 * provider's own JSON text (RawJson): nothing in them changes, so they are not re-serialized.
 */
import type { UpstreamError } from '../../core/errors.ts';
import { jsonText, looksLikeJsonObject, RawJson, SsePassthrough, type JsonAnswer, type SseTarget } from '../../core/raw-json.ts';
import type { CallContext, ChatCapability, ChatRequest, FileReferenceTargets } from '../provider-adapter.ts';
import { lookupFileReference } from '../shared/file-references.ts';
import { SseParser, upstreamSseData } from '../shared/sse.ts';
import type { ForwardedUpstreamResponse, UpstreamCall, UpstreamClient, UpstreamResponse } from '../shared/upstream-client.ts';

export interface OpenAIChatOptions {
  client: UpstreamClient;
  /** Deployment id: picks this deployment's entry in `fileReferences`. */
  instance: string;
  /**
   * Path under the client's base URL: `/chat/completions` (OpenAI, Azure v1 surface) or
   * `/deployments/{name}/chat/completions` (Azure classic, docs/wire-formats.md §2.1).
   */
  path: string;
}

export class OpenAIChat implements ChatCapability {
  private readonly options: OpenAIChatOptions;

  constructor(options: OpenAIChatOptions) {
    this.options = options;
  }

  async complete(request: ChatRequest, context: CallContext): Promise<JsonAnswer> {
    const body = this.upstreamBody(request, false);
    const client = this.options.client;
    const text = await client.text(
      // A chat completion has no effect upstream besides its answer: safe to send again.
      { operation: 'chat.complete', method: 'POST', path: this.options.path, headers: JSON_HEADERS, body: JSON.stringify(body), idempotent: true },
      context,
    );
    if (looksLikeJsonObject(text)) return new RawJson(text);
    // Anything that is not an object by its outline is parsed, to report what is wrong with it.
    const answer = client.parseJson<unknown>(text);
    if (!answer || typeof answer !== 'object') throw this.malformed('answered with an empty or non-object body');
    return answer as Record<string, unknown>;
  }

  async stream(request: ChatRequest, context: CallContext): Promise<AsyncIterable<JsonAnswer>> {
    return this.chunks(upstreamSseData(await this.openStream(request, context), this.options.client, context));
  }

  /**
   * The same stream as `stream`, written to the client as it arrives: each upstream read's events
   * as one block of `data: …\n\n` events, the provider's JSON text unchanged where `stream` passes
   * it on as RawJson, so the bytes are those `stream` plus the route's framing would give. The
   * reads come from undici's onData (UpstreamClient.forward) and go to the client's response in
   * the same call; while the client cannot take more, the upstream is paused (TCP backpressure).
   */
  async streamSse(request: ChatRequest, context: CallContext): Promise<SsePassthrough> {
    // forward() resolves only on a 2xx status, as send() does for openStream.
    const response = await this.options.client.forward(this.streamCall(request), context);
    return new SsePassthrough((target) => this.pipe(response, target, context));
  }

  private async pipe(response: ForwardedUpstreamResponse, target: SseTarget, context: CallContext): Promise<void> {
    const body = response.body;
    const parser = new SseParser();
    const framing = { done: false };
    /** The stream's own failure (an error event), which is the client's error, not the abort it causes. */
    let failure: Error | undefined;
    const onChunk = (chunk: Buffer): boolean => {
      // As in chunks(): read to the end after [DONE], passing nothing on.
      if (framing.done) return true;
      if (target.closed) {
        body.cancel(new Error(CLIENT_LEFT));
        return false;
      }
      const { text, error } = this.frame(parser.push(chunk), framing);
      const more = text === '' || target.writeNow(text);
      if (error) {
        failure = error;
        body.cancel(error);
        return false;
      }
      if (!more) target.whenWritable(() => body.resume());
      return more;
    };
    try {
      await body.forward(onChunk);
    } catch (error) {
      throw failure ?? this.options.client.streamFailure(error, context);
    }
    if (framing.done) return;
    // A trailing event without its blank line.
    const { text, error } = this.frame(parser.finish(), framing);
    if (text !== '' && !target.writeNow(text)) await new Promise<void>((resume) => target.whenWritable(resume));
    if (error) throw error;
  }

  /**
   * One read's events as the client's SSE text, up to [DONE] (which sets `framing.done`); an event
   * that fails (an `error` event) ends the text, the events before it included, and is returned.
   */
  private frame(events: string[], framing: { done: boolean }): { text: string; error?: Error } {
    let text = '';
    for (const data of events) {
      if (data === '[DONE]') {
        framing.done = true;
        break;
      }
      if (passesAsIs(data)) {
        text += `data: ${data}\n\n`;
        continue;
      }
      try {
        text += `data: ${jsonText(this.answerOf(data))}\n\n`;
      } catch (error) {
        return { text, error: error as Error };
      }
    }
    return { text };
  }

  private async openStream(request: ChatRequest, context: CallContext): Promise<UpstreamResponse> {
    // send() resolves only on a 2xx status: errors before the first byte reject here, so the
    // service can still fail over to another deployment.
    return this.options.client.send(this.streamCall(request), context);
  }

  private streamCall(request: ChatRequest): UpstreamCall {
    return {
      operation: 'chat.stream',
      method: 'POST',
      stream: true,
      idempotent: true,
      path: this.options.path,
      headers: STREAM_HEADERS,
      body: JSON.stringify(this.upstreamBody(request, true)),
    };
  }

  private async *chunks(events: AsyncGenerator<string>): AsyncGenerator<JsonAnswer> {
    let done = false;
    for await (const data of events) {
      // Keep reading to the end of the body after [DONE] so the connection goes back to the pool.
      if (done) continue;
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      yield this.answerOf(data);
    }
  }

  /** One event's data as an answer: the provider's text when it passes as is, else parsed (an `error` event throws). */
  private answerOf(data: string): JsonAnswer {
    if (passesAsIs(data)) return new RawJson(data);
    const chunk = this.options.client.parseStreamEvent(data);
    // OpenAI reports failures after the status line as an `error` event in the stream.
    const failure = (chunk as { error?: { message?: unknown } }).error;
    if (failure) {
      const message = typeof failure.message === 'string' ? failure.message : 'error event in the stream';
      throw this.malformed(message);
    }
    return chunk as Record<string, unknown>;
  }

  private upstreamBody(request: ChatRequest, stream: boolean): Record<string, unknown> {
    const messages = rewriteFileReferences({
      messages: request.body.messages,
      fileReferences: request.fileReferences,
      instance: this.options.instance,
    });
    const body: Record<string, unknown> = { ...request.body, messages };
    if (stream) body.stream = true;
    else delete body.stream;
    return body;
  }

  /** A 2xx answer we cannot use: reported as the provider's fault (502), not retried. */
  private malformed(message: string, cause?: unknown): UpstreamError {
    return this.options.client.malformed(message, cause);
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const STREAM_HEADERS = { ...JSON_HEADERS, accept: 'text/event-stream' };
/** Why the upstream is let go when the client left mid-stream (the route then writes nothing more). */
const CLIENT_LEFT = 'the client went away';

/** An object by its outline that cannot be an `error` event passes on as the provider sent it. */
function passesAsIs(data: string): boolean {
  return looksLikeJsonObject(data) && !data.includes('"error"');
}

/**
 * Copies `messages`, replacing in every `{"type":"file","file":{"file_id": X}}` part whose X is
 * a key of `fileReferences` the id by this instance's provider file id. Other ids (a provider
 * id the client sent itself) and inline `file_data`/`image_url` parts pass through unchanged.
 */
export function rewriteFileReferences(input: {
  messages: unknown[];
  fileReferences: Record<string, FileReferenceTargets>;
  instance: string;
}): unknown[] {
  return input.messages.map((message, messageIndex) => {
    if (!isRecord(message) || !Array.isArray(message.content)) return message;
    const content = message.content.map((part: unknown, partIndex) => {
      if (!isRecord(part) || part.type !== 'file' || !isRecord(part.file)) return part;
      const fileId = part.file.file_id;
      if (typeof fileId !== 'string') return part;
      const param = `messages[${messageIndex}].content[${partIndex}].file.file_id`;
      const target = lookupFileReference({ fileReferences: input.fileReferences, fileId, instance: input.instance, param });
      if (!target) return part;
      return { ...part, file: { ...part.file, file_id: target.providerFileId } };
    });
    return { ...message, content };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
