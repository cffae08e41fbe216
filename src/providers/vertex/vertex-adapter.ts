/** Vertex AI adapter: files live in GCS, chat is Gemini generateContent (providers.md §3). */
import type { ProviderAdapter } from '../provider-adapter.ts';
import type { ProviderSettings } from '../provider-settings.ts';
import { VertexChat } from './vertex-chat.ts';
import { VertexFiles } from './vertex-files.ts';

export function createVertexAdapter(settings: ProviderSettings): ProviderAdapter {
  // Files need both a bucket and a service account; without them the files capability is absent
  // and the service answers 400 "not supported" (LiteLLM answers 500 here, reference-system §8.1).
  const files =
    settings.bucketName && settings.vertexCredentials
      ? new VertexFiles({
          instance: settings.instance,
          bucketName: settings.bucketName,
          credentials: settings.vertexCredentials,
          ...(settings.gcsApiBase ? { gcsApiBase: settings.gcsApiBase } : {}),
        })
      : undefined;
  // Chat needs a model (files_settings entries have none) and a service account. VertexFiles
  // builds its own token provider internally, so a deployment with both keeps two token caches.
  const chat =
    settings.model && settings.vertexCredentials
      ? new VertexChat({
          instance: settings.instance,
          model: settings.model,
          credentials: settings.vertexCredentials,
          ...(settings.vertexProject ? { project: settings.vertexProject } : {}),
          ...(settings.vertexLocation ? { location: settings.vertexLocation } : {}),
          ...(settings.apiBase ? { apiBase: settings.apiBase } : {}),
          ...(settings.timeoutMs !== undefined ? { headersTimeoutMs: settings.timeoutMs } : {}),
        })
      : undefined;
  return {
    instance: settings.instance,
    kind: 'vertex_ai',
    ...(files ? { files } : {}),
    ...(chat ? { chat } : {}),
    close: async () => {
      await Promise.all([files?.close(), chat?.close()]);
    },
  };
}
