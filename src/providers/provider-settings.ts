/** What an adapter needs to reach one provider account; built by the registry from config. */
import type { ProviderKind } from './provider-adapter.ts';

export interface ProviderSettings {
  /** Which provider. */
  provider: ProviderKind;
  /** Deployment id or `files_settings:<provider>`. */
  instance: string;
  /** The provider's own model/deployment name (empty for files_settings entries). */
  model: string;
  /**
   * The model the deployment serves, from `model_info.base_model` or `litellm_params.base_model`
   * (LiteLLM's keys; a `provider/` prefix dropped), e.g. Azure's `gpt-4o-mini-2024-07-18` behind a
   * deployment name. Azure fine-tunes this, not the deployment (ProviderDefinition.fineTuningModel).
   */
  baseModel?: string;
  /** OpenAI bearer key, Azure `api-key` or Gemini `x-goog-api-key`. */
  apiKey?: string;
  /** Base URL override (OpenAI: …/v1; Azure: the resource endpoint; Vertex: the regional host). */
  apiBase?: string;
  /** Azure api-version. */
  apiVersion?: string;
  /** OpenAI-Organization header. */
  organization?: string;
  /** Vertex project id. */
  vertexProject?: string;
  /** Vertex location, e.g. us-central1. */
  vertexLocation?: string;
  /** Service-account JSON: inline JSON text or a path to the key file. */
  vertexCredentials?: string;
  /** GCS bucket for Vertex files, `bucket` or `bucket/prefix`. */
  bucketName?: string;
  /** Connect / response-headers / body-idle limit of upstream calls (config `timeout`, seconds). */
  timeoutMs?: number;
  /** The same for streamed answers (config `stream_timeout`, seconds). */
  streamTimeoutMs?: number;
  /** Extra attempts for idempotent upstream calls (config `max_retries`, default 0). */
  maxRetries?: number;
  /** Replaces https://storage.googleapis.com. */
  gcsApiBase?: string;
  /**
   * This process's spool directory (under general_settings.spool_dir), for temp files an adapter
   * writes (e.g. a Vertex batch's custom_ids). Set by the registry, not by the config entry.
   */
  spoolDirectory?: string;
  /** Anything else a provider's definition derives from its params (read only by that provider). */
  options?: Readonly<Record<string, unknown>>;
}


/** The transport options every adapter passes to its UpstreamClient. */
export function transportSettings(settings: ProviderSettings): { timeouts: { timeoutMs?: number; streamTimeoutMs?: number }; maxRetries: number } {
  return { timeouts: { timeoutMs: settings.timeoutMs, streamTimeoutMs: settings.streamTimeoutMs }, maxRetries: settings.maxRetries ?? 0 };
}
