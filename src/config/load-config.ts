/**
 * Loads config.yaml: resolves `os.environ/NAME` anywhere, validates once, reports every problem
 * with its key path, and returns a frozen GatewayConfig. The only module that reads process.env.
 */
import { defaultSpoolRoot } from '../core/spooled-file.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import type { ProviderKind } from '../providers/provider-adapter.ts';
import { isProviderKind, PROVIDER_KINDS, type ProviderSettings } from '../providers/provider-settings.ts';
import { configFileSchema, type ConfigFile, type FilesSettingsEntry, type LitellmParams } from './config-schema.ts';

export interface DeploymentConfig {
  /** model_info.id, else a stable hash of the name and params. */
  id: string;
  /** The public model_name clients use. */
  modelName: string;
  settings: ProviderSettings;
}

export interface GatewayConfig {
  deployments: DeploymentConfig[];
  /** Credentials for plain /files calls, one per provider. */
  filesSettings: ProviderSettings[];
  masterKey: string | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
  maxUploadSizeMb: number;
  sweeperIntervalSeconds: number;
  /** How long a chat waits for a copy still being processed (SPEC §4), seconds. */
  fileProcessingTimeoutSeconds: number;
  /** A request body that sends no byte for this long is cut with 408 (SPEC §12). */
  requestIdleTimeoutSeconds: number;
  /** Concurrent uploads one key may have in flight on one instance; more → 429. */
  maxConcurrentUploadsPerKey: number;
  /** Root of the spool directory (temp files of uploads), cleaned of dead processes' spools at startup. */
  spoolDir: string;
  /** How long an in-flight provider copy's journal row stays owned without a heartbeat. */
  journalLeaseSeconds: number;
  logLevel: string;
  /** Unknown keys, reported at startup. */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

/** Replaces every `os.environ/NAME` string; collects the missing ones with their key paths. */
function resolveEnvReferences(value: unknown, env: Env, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === 'string' && value.startsWith('os.environ/')) {
    const name = value.slice('os.environ/'.length);
    const resolved = env[name];
    if (resolved === undefined || resolved === '') problems.push(`${pathText(path)}: environment variable ${name} is not set`);
    return resolved;
  }
  if (Array.isArray(value)) return value.map((item, index) => resolveEnvReferences(item, env, [...path, index], problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveEnvReferences(item, env, [...path, key], problems)]),
    );
  }
  return value;
}

function deleteAtPath(root: unknown, path: ReadonlyArray<PropertyKey>, key: string): void {
  let node = root as Record<PropertyKey, unknown>;
  for (const part of path) node = node?.[part] as Record<PropertyKey, unknown>;
  if (node && typeof node === 'object') delete node[key];
}

/** Validates; unknown keys become warnings (and are dropped), everything else an error. */
function validate(raw: unknown, warnings: string[]): ConfigFile {
  const first = configFileSchema.safeParse(raw);
  if (first.success) return first.data;
  const unknown = first.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
  const others = first.error.issues.filter((issue) => issue.code !== 'unrecognized_keys');
  if (others.length > 0) throw new ConfigError(others.map(describeIssue));
  for (const issue of unknown) {
    for (const key of (issue as z.core.$ZodIssueUnrecognizedKeys).keys) {
      warnings.push(`${pathText([...issue.path, key])}: unknown key, ignored`);
      deleteAtPath(raw, issue.path, key);
    }
  }
  return validate(raw, warnings);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${pathText(issue.path) || '(root)'}: ${issue.message}`;
}

function credentialsText(value: string | Record<string, unknown> | undefined): string | undefined {
  return value === undefined || typeof value === 'string' ? value : JSON.stringify(value);
}

function splitModel(params: LitellmParams): { provider: string; model: string } {
  if (params.custom_llm_provider) return { provider: params.custom_llm_provider, model: params.model };
  const slash = params.model.indexOf('/');
  if (slash === -1) return { provider: 'openai', model: params.model };
  return { provider: params.model.slice(0, slash), model: params.model.slice(slash + 1) };
}

function stableHash(value: unknown): string {
  const sorted = (input: unknown): unknown =>
    Array.isArray(input)
      ? input.map(sorted)
      : input && typeof input === 'object'
        ? Object.fromEntries(Object.keys(input).sort().map((key) => [key, sorted((input as Record<string, unknown>)[key])]))
        : input;
  return createHash('sha256').update(JSON.stringify(sorted(value))).digest('hex');
}

function settingsFrom(
  provider: ProviderKind,
  instance: string,
  model: string,
  params: Partial<LitellmParams> & Partial<FilesSettingsEntry>,
  env: Env,
): ProviderSettings {
  return {
    provider,
    instance,
    model,
    // LiteLLM reads the Gemini key from GEMINI_API_KEY when the config names none.
    apiKey: params.api_key ?? (provider === 'gemini' ? env.GEMINI_API_KEY : undefined),
    apiBase: params.api_base,
    apiVersion: params.api_version,
    organization: params.organization,
    vertexProject: params.vertex_project,
    vertexLocation: params.vertex_location,
    vertexCredentials: credentialsText(params.vertex_credentials),
    bucketName: params.bucket_name ?? (params as LitellmParams).gcs_bucket_name ?? env.GCS_BUCKET_NAME,
    timeoutMs: params.timeout === undefined ? undefined : params.timeout * 1000,
    streamTimeoutMs: (params as LitellmParams).stream_timeout === undefined ? undefined : (params as LitellmParams).stream_timeout! * 1000,
    maxRetries: (params as LitellmParams).max_retries,
    gcsApiBase: params.gcs_api_base ?? (env.STORAGE_EMULATOR_HOST ? normalizeEmulatorHost(env.STORAGE_EMULATOR_HOST) : undefined),
  };
}

/** STORAGE_EMULATOR_HOST may be given with or without a scheme (fake-gcs-server convention). */
function normalizeEmulatorHost(host: string): string {
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
}

function requirementProblems(settings: ProviderSettings, path: string): string[] {
  const problems: string[] = [];
  if (settings.provider === 'azure' && !settings.apiBase) problems.push(`${path}.api_base: required for azure (the resource endpoint)`);
  if (settings.provider === 'gemini' && !settings.apiKey) problems.push(`${path}.api_key: required for gemini (or set GEMINI_API_KEY)`);
  if (settings.provider === 'vertex_ai' && !settings.vertexCredentials) {
    problems.push(`${path}.vertex_credentials: required for vertex_ai (service-account JSON or its path)`);
  }
  return problems;
}

export function buildConfig(raw: unknown, env: Env = process.env): GatewayConfig {
  const problems: string[] = [];
  const resolved = resolveEnvReferences(raw ?? {}, env, [], problems);
  if (problems.length > 0) throw new ConfigError(problems);
  if (typeof resolved !== 'object' || Array.isArray(resolved)) throw new ConfigError(['(root): the config must be a YAML mapping']);
  const warnings: string[] = [];
  const file = validate(resolved, warnings);

  const deployments: DeploymentConfig[] = [];
  const seenIds = new Set<string>();
  (file.model_list ?? []).forEach((entry, index) => {
    const path = `model_list[${index}]`;
    const params = entry.litellm_params ?? entry.params;
    if (!params) return problems.push(`${path}.litellm_params: required (params is accepted as an alias)`);
    const { provider, model } = splitModel(params);
    if (!isProviderKind(provider)) {
      return problems.push(`${path}.litellm_params.model: unknown provider '${provider}' (supported: ${PROVIDER_KINDS.join(', ')})`);
    }
    const id = entry.model_info?.id ?? stableHash({ model_name: entry.model_name, params });
    if (seenIds.has(id)) return problems.push(`${path}.model_info.id: duplicate deployment id '${id}'`);
    seenIds.add(id);
    const settings = settingsFrom(provider, id, model, params, env);
    problems.push(...requirementProblems(settings, `${path}.litellm_params`));
    deployments.push({ id, modelName: entry.model_name, settings });
  });

  const filesSettings: ProviderSettings[] = [];
  (file.files_settings ?? []).forEach((entry, index) => {
    const path = `files_settings[${index}]`;
    if (!isProviderKind(entry.custom_llm_provider)) {
      return problems.push(`${path}.custom_llm_provider: unknown provider '${entry.custom_llm_provider}' (supported: ${PROVIDER_KINDS.join(', ')})`);
    }
    if (filesSettings.some((settings) => settings.provider === entry.custom_llm_provider)) {
      return problems.push(`${path}.custom_llm_provider: '${entry.custom_llm_provider}' is configured twice`);
    }
    const settings = settingsFrom(entry.custom_llm_provider, `files_settings:${entry.custom_llm_provider}`, '', entry, env);
    problems.push(...requirementProblems(settings, path));
    filesSettings.push(settings);
  });
  if (problems.length > 0) throw new ConfigError(problems);

  const general = file.general_settings ?? {};
  return deepFreeze({
    deployments,
    filesSettings,
    masterKey: general.master_key ?? env.UNIFILE_MASTER_KEY ?? env.LITELLM_MASTER_KEY,
    databaseUrl: general.database_url ?? env.DATABASE_URL,
    dataDir: general.data_dir ?? env.UNIFILE_DATA_DIR ?? './.unifile',
    maxUploadSizeMb: general.max_upload_size_mb ?? 512,
    sweeperIntervalSeconds: general.sweeper_interval_seconds ?? 60,
    fileProcessingTimeoutSeconds: general.file_processing_timeout_seconds ?? 120,
    requestIdleTimeoutSeconds: general.request_idle_timeout_seconds ?? 30,
    maxConcurrentUploadsPerKey: general.max_concurrent_uploads_per_key ?? 64,
    spoolDir: general.spool_dir ?? env.UNIFILE_SPOOL_DIR ?? defaultSpoolRoot(),
    journalLeaseSeconds: general.journal_lease_seconds ?? 60,
    logLevel: env.UNIFILE_LOG_LEVEL ?? 'info',
    warnings,
  });
}

/** Reads and validates a YAML file (or YAML text). `env` defaults to the process environment. */
export function loadConfig(source: { path?: string; text?: string }, env: Env = process.env): GatewayConfig {
  let text = source.text;
  if (text === undefined) {
    try {
      text = readFileSync(source.path ?? 'config.yaml', 'utf8');
    } catch (error) {
      throw new ConfigError([`cannot read config file ${source.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
    }
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const message = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new ConfigError([`the file is not valid YAML: ${message}`]);
  }
  return buildConfig(raw, env);
}

/** Environment variables the CLI may use (kept here so only config reads process.env). */
export function cliEnvironment(env: Env = process.env): { port?: string; host?: string; config?: string } {
  return { port: env.PORT, host: env.HOST, config: env.UNIFILE_CONFIG };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
