/** The Vertex AI deployment the Vertex batch suites run on (the Google emulator's project and bucket). */
import type { AllEmulators } from '../../src/emulators/start-all.ts';

export const VERTEX_BATCH_MODEL = 'gemini-batch';
export const VERTEX_BATCH_BUCKET = 'unifile-batch';

export function vertexBatchModels(emulators: AllEmulators): Array<Record<string, unknown>> {
  return [
    {
      model_name: VERTEX_BATCH_MODEL,
      litellm_params: {
        model: 'vertex_ai/gemini-2.5-flash',
        vertex_project: 'emulated-project',
        vertex_location: 'us-central1',
        vertex_credentials: JSON.stringify(emulators.google.createServiceAccount({ projectId: 'emulated-project' })),
        bucket_name: `${VERTEX_BATCH_BUCKET}/gw`,
        api_base: emulators.urls.google,
        gcs_api_base: emulators.urls.google,
      },
      model_info: { id: 'vertex-batch-1' },
    },
  ];
}

/** One OpenAI batch line per index for the Vertex model, with custom_ids no GCP label could hold. */
export function vertexBatchLines(count: number, options: { prefix?: string; extraBody?: (index: number) => Record<string, unknown> } = {}): string {
  return Array.from({ length: count }, (_, index) =>
    JSON.stringify({
      custom_id: vertexCustomId(index, options.prefix),
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: VERTEX_BATCH_MODEL, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: `question ${index}` }], max_tokens: 50, ...(options.extraBody?.(index) ?? {}) },
    }),
  ).join('\n');
}

export function vertexCustomId(index: number, prefix = 'Req'): string {
  return `${prefix} ${index} / Ünïcode — ${'x'.repeat(80)}`;
}
