/**
 * The config.yaml schema (SPEC §1), LiteLLM-compatible. Objects are strict so unknown keys are
 * found; the loader reports those as warnings and everything else as errors with key paths.
 */
import { z } from 'zod';

const optionalString = z.string().min(1).optional();

/** Deployment parameters. LiteLLM accepts many more; the routing-related ones are listed so they do not warn. */
export const litellmParamsSchema = z.strictObject({
  model: z.string().min(1),
  custom_llm_provider: optionalString,
  api_key: optionalString,
  api_base: z.url().optional(),
  api_version: optionalString,
  organization: optionalString,
  vertex_project: optionalString,
  vertex_location: optionalString,
  vertex_credentials: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
  bucket_name: optionalString,
  gcs_bucket_name: optionalString,
  gcs_api_base: z.url().optional(),
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  timeout: z.number().positive().optional(),
  stream_timeout: z.number().positive().optional(),
  max_retries: z.number().int().min(0).optional(),
  weight: z.number().positive().optional(),
});

export const modelEntrySchema = z.strictObject({
  model_name: z.string().min(1),
  litellm_params: litellmParamsSchema.optional(),
  params: litellmParamsSchema.optional(),
  model_info: z.looseObject({ id: z.string().min(1).optional() }).optional(),
});

export const filesSettingsEntrySchema = z.strictObject({
  custom_llm_provider: z.string().min(1),
  api_key: optionalString,
  api_base: z.url().optional(),
  api_version: optionalString,
  organization: optionalString,
  vertex_project: optionalString,
  vertex_location: optionalString,
  vertex_credentials: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
  bucket_name: optionalString,
  gcs_api_base: z.url().optional(),
  timeout: z.number().positive().optional(),
});

export const generalSettingsSchema = z.strictObject({
  master_key: optionalString,
  database_url: optionalString,
  data_dir: optionalString,
  max_upload_size_mb: z.number().positive().max(1_048_576).optional(),
  /** How often the expiry sweeper runs, seconds. */
  sweeper_interval_seconds: z.number().positive().optional(),
  /** How long a chat waits for a managed file's copy the provider is still processing, seconds. */
  file_processing_timeout_seconds: z.number().positive().optional(),
  /** SPEC §12: a request body idle for this long is cut with 408 (default 30). */
  request_idle_timeout_seconds: z.number().positive().max(3600).optional(),
  /** Concurrent uploads per key on one instance (default 64); more → 429. */
  max_concurrent_uploads_per_key: z.number().int().positive().optional(),
  /** Spool directory root for upload temp files (default <tmpdir>/unifile-spool). */
  spool_dir: optionalString,
  /** Lease of an in-flight upload/delete journal row, renewed by its instance (default 60). */
  journal_lease_seconds: z.number().positive().optional(),
});

export const configFileSchema = z.strictObject({
  model_list: z.array(modelEntrySchema).optional(),
  files_settings: z.array(filesSettingsEntrySchema).optional(),
  general_settings: generalSettingsSchema.optional(),
  // Accepted for LiteLLM drop-in compatibility; the gateway does not act on them.
  litellm_settings: z.record(z.string(), z.unknown()).optional(),
  router_settings: z.record(z.string(), z.unknown()).optional(),
  environment_variables: z.record(z.string(), z.unknown()).optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type LitellmParams = z.infer<typeof litellmParamsSchema>;
export type FilesSettingsEntry = z.infer<typeof filesSettingsEntrySchema>;
