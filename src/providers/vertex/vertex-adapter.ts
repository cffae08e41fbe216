/**
 * Vertex AI adapter: files live in Cloud Storage, chat is Gemini generateContent. One connection
 * pool and one token source per deployment (key file or metadata server), shared by its storage,
 * chat and token calls.
 */
import { GeminiChat } from '../google/gemini-chat.ts';
import { googleErrorParser } from '../google/google-errors.ts';
import { googleTokenSource } from '../google/google-credentials.ts';
import { ServiceAccountError } from '../google/service-account.ts';
import type { ProviderAdapter } from '../provider-adapter.ts';
import { transportSettings, type ProviderSettings } from '../provider-settings.ts';
import { bearerAuth } from '../shared/upstream-auth.ts';
import { createUpstreamAgent, UpstreamClient } from '../shared/upstream-client.ts';
import { DEFAULT_VERTEX_LOCATION, vertexApiBase, vertexModelPath } from './vertex-chat.ts';
import { VertexBatches } from './vertex-batches.ts';
import { VertexFiles } from './vertex-files.ts';

export function createVertexAdapter(settings: ProviderSettings): ProviderAdapter {
  const { instance } = settings;
  const transport = transportSettings(settings);
  const agent = createUpstreamAgent(transport.timeouts);
  try {
    const tokens = googleTokenSource({
      instance,
      credentials: settings.vertexCredentials,
      metadataBaseUrl: settings.options?.metadataBaseUrl as string | undefined,
      dispatcher: agent,
      maxRetries: transport.maxRetries,
    });
    // Without a bucket the files capability is absent and the service answers 400 "not supported"
    // (LiteLLM answers 500 here).
    const files = settings.bucketName
      ? new VertexFiles({ instance, bucketName: settings.bucketName, tokens, dispatcher: agent, ...transport, ...(settings.gcsApiBase ? { gcsApiBase: settings.gcsApiBase } : {}) })
      : undefined;
    // Chat needs a model (files_settings entries have none).
    let chat: GeminiChat | undefined;
    let batches: VertexBatches | undefined;
    if (settings.model) {
      const project = settings.vertexProject ?? tokens.projectId;
      if (!project) throw new ServiceAccountError(`Deployment ${instance}: set vertex_project (the credentials name no project).`);
      const location = settings.vertexLocation ?? DEFAULT_VERTEX_LOCATION;
      const client = new UpstreamClient({
        provider: 'vertex_ai',
        instance,
        baseUrl: vertexApiBase(location, settings.apiBase),
        auth: bearerAuth(tokens),
        parseError: googleErrorParser(),
        dispatcher: agent,
        ...transport,
      });
      chat = new GeminiChat({ client, instance, model: settings.model, modelPath: vertexModelPath({ project, location, model: settings.model }) });
      // Batch prediction jobs read and write the deployment's bucket, so they need one (README "Batches").
      if (files) {
        const spool = settings.spoolDirectory ? { spoolDirectory: settings.spoolDirectory } : {};
        batches = new VertexBatches({ instance, client, gcs: files.gcs, location: files.location, project, region: location, model: settings.model, ...spool });
      }
    }
    return {
      instance,
      kind: 'vertex_ai',
      ...(files ? { files } : {}),
      ...(chat ? { chat } : {}),
      ...(batches ? { batches } : {}),
      close: () => agent.close(),
    };
  } catch (error) {
    void agent.close();
    throw error;
  }
}
