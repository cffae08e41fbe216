/**
 * What a provider folder exports: ONE definition (README "Layout").
 * Provider kinds, config validation, the registry and the OpenAPI enums are all derived from the
 * list of definitions in provider-list.ts, so adding a provider is a new folder plus one line
 * there; services never branch on a provider's name.
 */
import type { z } from 'zod';
import type { ProviderAdapter } from './provider-adapter.ts';
import type { ProviderSettings } from './provider-settings.ts';

/** Environment variables, as src/config read them (providers never read the environment themselves). */
export type ProviderEnvironment = Readonly<Record<string, string | undefined>>;

/** One configuration problem of an entry: `key` relative to the entry (e.g. `api_base`). */
export interface ConfigProblem {
  key: string;
  message: string;
}

export interface ProviderDefinition {
  /** The name in `model: <kind>/<model>`, `custom_llm_provider: <kind>` and `/<kind>/v1/files`. */
  readonly kind: string;
  /**
   * zod shape of the `litellm_params` (and `files_settings`) keys this provider reads beyond the
   * common ones (model, api_key, api_base, timeout, stream_timeout, max_retries, …).
   */
  readonly params: z.ZodRawShape;
  /** Provider-specific settings from the validated params; `env` supplies documented fallbacks. */
  settings(params: Readonly<Record<string, unknown>>, env: ProviderEnvironment): Partial<ProviderSettings>;
  /** Problems that stop the startup (missing credentials, endpoints …). */
  check(settings: ProviderSettings): ConfigProblem[];
  /** Builds the adapter of one deployment or files_settings entry. */
  createAdapter(settings: ProviderSettings): ProviderAdapter;
  /** What the adapters of this provider can do (documentation and OpenAPI). */
  readonly capabilities: { readonly files: boolean; readonly chat: boolean; readonly batches?: boolean; readonly fineTuning?: boolean };
  /**
   * Whether `reference` — a raw id or URI a client put in a chat message — may name a file this
   * provider stores, and under which provider file ids an upload of it would have been recorded.
   * Undefined (or an empty list) means it is not this provider's.
   */
  recordedIdsOf?(reference: string): string[];
  /**
   * For a URL-like value a client put in a chat message (trimmed): when it names this provider's
   * own storage whatever the configuration says (a Cloud Storage URL, a Gemini file URI), the forms
   * under which an upload of it would be recorded, the value first (a Cloud Storage https URL is
   * also its `gs://` URI); undefined when it is not this provider's. Such values go through the
   * ownership check before any provider is called (services/stored-references.ts). URLs on a
   * configured endpoint (api_base, gcs_api_base) count as stored data without this hook.
   */
  storedReferenceForms?(value: string): string[] | undefined;
  /**
   * The `model` a fine-tuning job on this deployment names upstream; undefined when the config
   * does not say it (the job is then refused with a 400 naming what to set). Without this hook:
   * the deployment's own model (OpenAI: `gpt-4o-mini`).
   */
  fineTuningModel?(settings: ProviderSettings): string | undefined;
}
