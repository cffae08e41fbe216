/**
 * Where Vertex AI serves Gemini (cloud.google.com/vertex-ai/generative-ai/docs/reference/rest):
 * `{base}/projects/{project}/locations/{location}/publishers/google/models/{model}`. The chat
 * itself is the shared GeminiChat.
 */
export const DEFAULT_VERTEX_LOCATION = 'us-central1';

/**
 * `https://{location}-aiplatform.googleapis.com/v1`, or `https://aiplatform.googleapis.com/v1`
 * for the global location; an api_base without a version gets /v1.
 */
export function vertexApiBase(location: string, apiBase?: string): string {
  if (apiBase) {
    const trimmed = apiBase.replace(/\/+$/, '');
    return /\/v1(beta1)?$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
  }
  return location === 'global' ? 'https://aiplatform.googleapis.com/v1' : `https://${location}-aiplatform.googleapis.com/v1`;
}

export function vertexModelPath(input: { project: string; location: string; model: string }): string {
  const segment = encodeURIComponent;
  return `/projects/${segment(input.project)}/locations/${segment(input.location)}/publishers/google/models/${segment(input.model)}`;
}
