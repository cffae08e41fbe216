/**
 * Chat completions on the Gemini API (docs/wire-formats.md §4.5, README "Configuration reference"): the generateContent code
 * shared with Vertex AI (../google/gemini-chat.ts) on `/v1beta/models/{model}`, after this
 * deployment's file references are turned into Files API uris, so a file part becomes
 * `fileData {mimeType, fileUri}` of this deployment's copy.
 */
import type { CallContext, ChatCapability, ChatRequest, FileReferenceTargets } from '../provider-adapter.ts';
import { GeminiChat } from '../google/gemini-chat.ts';
import type { UpstreamClient } from '../shared/upstream-client.ts';
import type { GeminiFiles } from './gemini-files.ts';
import { isGeminiFileId, reclassify, resourceId } from './gemini-wire.ts';

export interface GeminiApiChatOptions {
  instance: string;
  /** Model id, e.g. gemini-2.0-flash (the URL's `models/{model}`). */
  model: string;
  client: UpstreamClient;
  /** For raw Gemini file ids in messages: their uri and MIME type come from a get. */
  files: GeminiFiles;
}

type Json = Record<string, unknown>;

/** Files API uris as a client may name them itself. */
const FILE_URI = /^https:\/\/[^/]+\/v1beta\/files\/[a-z0-9-]+$/;

export class GeminiApiChat implements ChatCapability {
  private readonly chat: GeminiChat;

  constructor(private readonly options: GeminiApiChatOptions) {
    const modelPath = `/v1beta/models/${encodeURIComponent(options.model)}`;
    this.chat = new GeminiChat({ client: options.client, instance: options.instance, model: options.model, modelPath });
  }

  async complete(request: ChatRequest, context: CallContext): Promise<Json> {
    const prepared = await this.prepare(request, context);
    try {
      return await this.chat.complete(prepared, context);
    } catch (error) {
      throw reclassify(error);
    }
  }

  async stream(request: ChatRequest, context: CallContext): Promise<AsyncIterable<Json>> {
    const prepared = await this.prepare(request, context);
    try {
      return await this.chat.stream(prepared, context);
    } catch (error) {
      throw reclassify(error);
    }
  }

  /**
   * This deployment's copies become their file uri; raw Gemini file ids the client sent itself
   * (already ownership-checked by the service) are looked up for their uri and MIME type.
   */
  private async prepare(request: ChatRequest, context: CallContext): Promise<ChatRequest> {
    const { instance } = this.options;
    const references: Record<string, FileReferenceTargets> = {};
    for (const [fileId, targets] of Object.entries(request.fileReferences)) {
      const own = targets[instance];
      references[fileId] = own ? { ...targets, [instance]: { ...own, providerFileId: this.uriOf(own.providerFileId) } } : targets;
    }
    for (const fileId of rawFileIds(request.body.messages)) {
      if (Object.hasOwn(references, fileId)) continue;
      const file = await this.options.files.resource(fileId, context);
      references[fileId] = { [instance]: { providerFileId: file.uri, mimeType: file.mimeType } };
    }
    return { ...request, fileReferences: references };
  }

  /** The uri the Files API reports for a file: `<api base>/v1beta/files/<id>` (docs/wire-formats.md §4.3). */
  private uriOf(providerFileId: string): string {
    return `${this.options.client.options.baseUrl}/v1beta/files/${resourceId(providerFileId)}`;
  }
}

/** `file.file_id` values that are Gemini file ids or Files API uris. */
function rawFileIds(messages: unknown[]): string[] {
  const ids = new Set<string>();
  for (const message of messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const fileId = (part as { file?: { file_id?: unknown } } | null)?.file?.file_id;
      if (typeof fileId === 'string' && (isGeminiFileId(fileId) || FILE_URI.test(fileId))) ids.add(fileId);
    }
  }
  return [...ids];
}
