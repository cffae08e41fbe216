/**
 * Chat completions on Vertex AI Gemini (providers.md §3.3): the OpenAI request is translated to
 * generateContent, sent with a service-account Bearer token, and the answer translated back.
 * Streams use `:streamGenerateContent?alt=sse`; each SSE event is one GenerateContentResponse
 * and Vertex sends no [DONE], so the stream ends with the body.
 */
import { UpstreamError } from '../../core/errors.ts';
import type { CallContext, ChatCapability, ChatRequest } from '../provider-adapter.ts';
import { upstreamSseData } from '../shared/sse.ts';
import { UpstreamClient, type UpstreamCall, type UpstreamResponse } from '../shared/upstream-client.ts';
import { convertGeminiResponse, GeminiStreamConverter } from './convert-gemini-to-openai.ts';
import { convertOpenAIToGemini } from './convert-openai-to-gemini.ts';
import type { GeminiResponse } from './gemini-types.ts';
import { GoogleTokenProvider } from './google-auth.ts';
import { ServiceAccountError, type ServiceAccountInput } from './service-account.ts';
import { describeErrorBody, googleErrorCode, PROVIDER } from './vertex-upstream.ts';

export const DEFAULT_VERTEX_LOCATION = 'us-central1';

export interface VertexChatOptions {
  /** Deployment id: picks its entry in `fileReferences`, named in errors and logs. */
  instance: string;
  /** Publisher model id, e.g. gemini-2.5-flash (the URL's `{model}`). */
  model: string;
  /** Defaults to the service account's project_id. */
  project?: string;
  /** Defaults to us-central1. */
  location?: string;
  /** Replaces the regional host (emulators, private endpoints); may end in /v1 or /v1beta1. */
  apiBase?: string;
  /** A token provider shared with other capabilities; else one is made from `credentials`. */
  auth?: GoogleTokenProvider;
  /** Service-account key (object, JSON text or path), used when `auth` is absent. */
  credentials?: ServiceAccountInput;
  /** Time allowed for response headers. */
  headersTimeoutMs?: number;
}

/**
 * `https://{location}-aiplatform.googleapis.com/v1`, or `https://aiplatform.googleapis.com/v1`
 * for the global location (providers.md §3.3); an api_base without a version gets /v1.
 */
export function vertexApiBase(location: string, apiBase?: string): string {
  if (apiBase) {
    const trimmed = apiBase.replace(/\/+$/, '');
    return /\/v1(beta1)?$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
  }
  return location === 'global' ? 'https://aiplatform.googleapis.com/v1' : `https://${location}-aiplatform.googleapis.com/v1`;
}

export class VertexChat implements ChatCapability {
  readonly client: UpstreamClient;
  private readonly options: VertexChatOptions;
  private readonly auth: GoogleTokenProvider;
  private readonly modelPath: string;

  /** Throws ServiceAccountError for unusable credentials or when no project can be found. */
  constructor(options: VertexChatOptions) {
    this.options = options;
    const location = options.location ?? DEFAULT_VERTEX_LOCATION;
    this.client = new UpstreamClient({
      provider: PROVIDER,
      instance: options.instance,
      baseUrl: vertexApiBase(location, options.apiBase),
      headers: {},
      // Google's envelope is {"error":{code,message,status}} (providers.md §3.3).
      parseError: (status, text) => ({ message: describeErrorBody(text, status), code: googleErrorCode(text) }),
      headersTimeoutMs: options.headersTimeoutMs,
    });
    let project: string | undefined;
    try {
      // Token calls share this chat's connection pool (one Agent per instance).
      if (!options.auth && !options.credentials) throw new ServiceAccountError(`Deployment ${options.instance}: Vertex AI needs vertex_credentials.`);
      this.auth = options.auth ?? new GoogleTokenProvider({ instance: options.instance, credentials: options.credentials!, dispatcher: this.client.dispatcher });
      project = options.project ?? this.auth.projectId;
      if (!project) throw new ServiceAccountError(`Deployment ${options.instance}: set vertex_project (the service account has no project_id).`);
    } catch (error) {
      void this.client.close();
      throw error;
    }
    const segment = encodeURIComponent;
    this.modelPath = `/projects/${segment(project)}/locations/${segment(location)}/publishers/google/models/${segment(options.model)}`;
  }

  async complete(request: ChatRequest, context: CallContext): Promise<Record<string, unknown>> {
    const response = await this.send(
      { operation: 'chat.complete', method: 'POST', path: `${this.modelPath}:generateContent`, body: this.geminiBody(request) },
      context,
    );
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw this.client.streamFailure(error, context); // aborted or cut while reading the body
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw this.malformed('answered with a body that is not JSON', error);
    }
    if (!parsed || typeof parsed !== 'object') throw this.malformed('answered with a body that is not a GenerateContentResponse');
    return convertGeminiResponse(parsed as GeminiResponse, { model: modelOf(request, this.options.model) });
  }

  async stream(request: ChatRequest, context: CallContext): Promise<AsyncIterable<Record<string, unknown>>> {
    const response = await this.send(
      {
        operation: 'chat.stream',
        method: 'POST',
        path: `${this.modelPath}:streamGenerateContent`,
        query: { alt: 'sse' },
        headers: { accept: 'text/event-stream' },
        body: this.geminiBody(request),
      },
      context,
    );
    const options = request.body.stream_options as { include_usage?: unknown } | undefined;
    const converter = new GeminiStreamConverter({ model: modelOf(request, this.options.model), includeUsage: options?.include_usage === true });
    return this.chunks(upstreamSseData(response, this.client, context), converter);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async *chunks(events: AsyncGenerator<string>, converter: GeminiStreamConverter): AsyncGenerator<Record<string, unknown>> {
    for await (const data of events) {
      let event: unknown;
      try {
        event = JSON.parse(data);
      } catch (error) {
        throw this.malformed('sent a stream event that is not JSON', error);
      }
      if (!event || typeof event !== 'object') throw this.malformed('sent a stream event that is not an object');
      // A failure after the status line arrives as an error event (same envelope as the body).
      if ((event as { error?: unknown }).error) throw this.malformed(describeErrorBody(data, 502));
      yield* converter.push(event as GeminiResponse);
    }
    yield* converter.finish();
  }

  private geminiBody(request: ChatRequest): string {
    const gemini = convertOpenAIToGemini({ body: request.body, fileReferences: request.fileReferences, instance: this.options.instance });
    return JSON.stringify(gemini);
  }

  /**
   * Sends with a Bearer token. A 401 means the token died early (revoked, clock skew): forget it
   * and try once more with a fresh one, as google-auth-library does.
   */
  private async send(call: UpstreamCall, context: CallContext): Promise<UpstreamResponse> {
    const attempt = async (): Promise<{ token: string; response?: UpstreamResponse; error?: unknown }> => {
      const token = await this.auth.getAccessToken({ signal: context.signal, logger: context.logger });
      const headers = { ...call.headers, 'content-type': 'application/json', authorization: `Bearer ${token}` };
      try {
        return { token, response: await this.client.send({ ...call, headers }, context) };
      } catch (error) {
        return { token, error };
      }
    };
    let result = await attempt();
    if (result.error instanceof UpstreamError && result.error.failure.upstreamStatus === 401) {
      this.auth.invalidate(result.token);
      result = await attempt();
    }
    if (result.error !== undefined || !result.response) throw result.error;
    return result.response;
  }

  private malformed(message: string, cause?: unknown): UpstreamError {
    return new UpstreamError({ provider: PROVIDER, deployment: this.options.instance, upstreamStatus: 502, message, retryable: false }, cause);
  }
}

/** The response names the model the client asked for (the service set it to the deployment's). */
function modelOf(request: ChatRequest, fallback: string): string {
  return typeof request.body.model === 'string' && request.body.model !== '' ? request.body.model : fallback;
}
