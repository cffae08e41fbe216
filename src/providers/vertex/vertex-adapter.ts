/** Vertex AI adapter: files live in GCS (providers.md §3). */
import type { ProviderAdapter } from '../provider-adapter.ts';
import type { ProviderSettings } from '../provider-settings.ts';
import { VertexFiles } from './vertex-files.ts';

export function createVertexAdapter(settings: ProviderSettings): ProviderAdapter {
  // Files need both a bucket and a service account; without them the files capability is absent
  // and the service answers 400 "not supported" (LiteLLM answers 500 here, reference-system §8.1).
  if (!settings.bucketName || !settings.vertexCredentials) {
    return { instance: settings.instance, kind: 'vertex_ai', close: async () => undefined };
  }
  const files = new VertexFiles({
    instance: settings.instance,
    bucketName: settings.bucketName,
    credentials: settings.vertexCredentials,
    ...(settings.gcsApiBase ? { gcsApiBase: settings.gcsApiBase } : {}),
  });
  return { instance: settings.instance, kind: 'vertex_ai', files, close: () => files.close() };
}
