/**
 * The config.yaml schema (README "Running it"), LiteLLM-compatible. The `litellm_params` / `files_settings`
 * keys are the common ones below plus those each provider definition declares. Objects are strict
 * so unknown keys are found; the loader reports those as warnings and everything else as errors
 * with key paths.
 */
import { z } from 'zod';
import type { ProviderCatalog } from '../providers/provider-catalog.ts';

const optionalString = z.string().min(1).optional();

/** Keys every provider understands. */
const commonParams = {
  model: z.string().min(1),
  custom_llm_provider: optionalString,
  api_key: optionalString,
  api_base: z.url().optional(),
  timeout: z.number().positive().optional(),
  stream_timeout: z.number().positive().optional(),
  max_retries: z.number().int().min(0).optional(),
  /** LiteLLM's base model of a deployment (also model_info.base_model): what Azure fine-tunes. */
  base_model: optionalString,
  // LiteLLM routing settings: accepted so the same config starts; reported when not acted upon.
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  weight: z.number().positive().optional(),
};

/** litellm_params keys that are accepted but not acted upon (warned about at startup). */
export const UNACTED_PARAMS = ['rpm', 'tpm'] as const;

const commonFilesSettings = {
  custom_llm_provider: z.string().min(1),
  api_key: optionalString,
  api_base: z.url().optional(),
  timeout: z.number().positive().optional(),
  max_retries: z.number().int().min(0).optional(),
};

export const generalSettingsSchema = z.strictObject({
  master_key: optionalString,
  database_url: optionalString,
  data_dir: optionalString,
  max_upload_size_mb: z.number().positive().max(1_048_576).optional(),
  /** Largest JSON request body (README "Endpoints" (limits)), default 10. */
  max_request_body_mb: z.number().positive().max(1024).optional(),
  /** How often the expiry sweeper runs, seconds. */
  sweeper_interval_seconds: z.number().positive().optional(),
  /** How often unfinished batches are refreshed from their provider in the background, seconds (default 30). */
  batch_refresh_interval_seconds: z.number().positive().max(86_400).optional(),
  /** How often unfinished fine-tuning jobs are refreshed from their provider in the background, seconds (default 60). */
  fine_tuning_refresh_interval_seconds: z.number().positive().max(86_400).optional(),
  /** How long a chat waits for a managed file's copy the provider is still processing, seconds. */
  file_processing_timeout_seconds: z.number().positive().optional(),
  /** README "Endpoints" (limits): a request body idle for this long is cut with 408 (default 30). */
  request_idle_timeout_seconds: z.number().positive().max(3600).optional(),
  /** Concurrent uploads per key on one instance (default 64); more → 429. */
  max_concurrent_uploads_per_key: z.number().int().positive().optional(),
  /** Spool directory root for upload temp files (default <tmpdir>/unifile-spool). */
  spool_dir: optionalString,
  /** Lease of an in-flight upload/delete journal row, renewed by its instance (default 60). */
  journal_lease_seconds: z.number().positive().optional(),
});

function buildSchemas(catalog: ProviderCatalog) {
  const providerParams = Object.assign({}, ...catalog.definitions.map((definition) => definition.params)) as z.ZodRawShape;
  const litellmParamsSchema = z.strictObject({ ...commonParams, ...providerParams });
  const modelEntrySchema = z.strictObject({
    model_name: z.string().min(1),
    litellm_params: litellmParamsSchema.optional(),
    params: litellmParamsSchema.optional(),
    model_info: z.looseObject({ id: z.string().min(1).optional(), base_model: z.string().min(1).optional() }).optional(),
  });
  const filesSettingsEntrySchema = z.strictObject({ ...commonFilesSettings, ...providerParams });
  return z.strictObject({
    model_list: z.array(modelEntrySchema).optional(),
    files_settings: z.array(filesSettingsEntrySchema).optional(),
    general_settings: generalSettingsSchema.optional(),
    // Accepted for LiteLLM drop-in compatibility; the gateway does not act on them.
    litellm_settings: z.record(z.string(), z.unknown()).optional(),
    router_settings: z.record(z.string(), z.unknown()).optional(),
    environment_variables: z.record(z.string(), z.unknown()).optional(),
  });
}

const schemas = new WeakMap<ProviderCatalog, ReturnType<typeof buildSchemas>>();

/** The whole-file schema for a set of providers (built once per catalog). */
export function configFileSchema(catalog: ProviderCatalog): ReturnType<typeof buildSchemas> {
  let schema = schemas.get(catalog);
  if (!schema) schemas.set(catalog, (schema = buildSchemas(catalog)));
  return schema;
}

/** Common keys, typed; provider keys are read by their definitions. */
export type LitellmParams = { [K in keyof typeof commonParams]?: z.infer<(typeof commonParams)[K]> } & { model: string } & Record<string, unknown>;
export type FilesSettingsEntry = { [K in keyof typeof commonFilesSettings]?: z.infer<(typeof commonFilesSettings)[K]> } & { custom_llm_provider: string } & Record<string, unknown>;
export type ModelEntry = { model_name: string; litellm_params?: LitellmParams; params?: LitellmParams; model_info?: { id?: string; base_model?: string } & Record<string, unknown> };
export type ConfigFile = {
  model_list?: ModelEntry[];
  files_settings?: FilesSettingsEntry[];
  general_settings?: z.infer<typeof generalSettingsSchema>;
  litellm_settings?: Record<string, unknown>;
  router_settings?: Record<string, unknown>;
  environment_variables?: Record<string, unknown>;
};
