/** Vertex AI adapter: files live in GCS (providers.md §3). */
import type { ProviderAdapter } from '../provider-adapter.ts';
import type { ProviderSettings } from '../provider-settings.ts';

export function createVertexAdapter(settings: ProviderSettings): ProviderAdapter {
  // Filled in once the GCS files capability lands; without it the service answers 400 "not supported".
  return { instance: settings.instance, kind: 'vertex_ai', close: async () => undefined };
}
