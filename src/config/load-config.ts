/**
 * Loads config.yaml: resolves `os.environ/NAME` anywhere, validates once, reports every problem
 * with its key path, and returns a frozen GatewayConfig. The only module that reads process.env.
 */
import { defaultSpoolRoot } from '../core/spooled-file.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ProviderCatalog } from '../providers/provider-catalog.ts';
import type { ProviderDefinition } from '../providers/provider-definition.ts';
import { defaultCatalog } from '../providers/provider-list.ts';
import type { ProviderSettings } from '../providers/provider-settings.ts';
import { defaultDeploymentId, previousDeploymentIds } from './deployment-id.ts';
import { setAsideUnsupportedModels, type UnsupportedModel } from './unsupported-models.ts';
import { configFileSchema, UNACTED_PARAMS, type ConfigFile, type FilesSettingsEntry, type LitellmParams } from './config-schema.ts';

export interface DeploymentConfig {
  /** model_info.id, else a stable hash of the name and the non-secret params (deployment-id.ts). */
  id: string;
  /** Ids older versions derived for this deployment (secrets included): re-keyed at startup. */
  previousIds: string[];
  /** The public model_name clients use. */
  modelName: string;
  settings: ProviderSettings;
  /** Share of this model's requests relative to its other deployments (`weight`, default 1). */
  weight: number;
}

export interface GatewayConfig {
  deployments: DeploymentConfig[];
  /** model_list entries set aside at startup (provider not spoken here, wildcards). */
  unsupportedModels: UnsupportedModel[];
  /** Credentials for plain /files calls, one per provider. */
  filesSettings: ProviderSettings[];
  masterKey: string | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
  maxUploadSizeMb: number;
  /** Largest JSON request body, MB (413 beyond). */
  maxRequestBodyMb: number;
  sweeperIntervalSeconds: number;
  /** How often the background refresher looks at unfinished batches (README "Batches"), seconds. */
  batchRefreshIntervalSeconds: number;
  fineTuningRefreshIntervalSeconds: number;
  /** How long a chat waits for a copy still being processed (README "Endpoints" (managed files)), seconds. */
  fileProcessingTimeoutSeconds: number;
  /** A request body that sends no byte for this long is cut with 408 (README "Endpoints" (limits)). */
  requestIdleTimeoutSeconds: number;
  /** Concurrent uploads one key may have in flight on one instance; more → 429. */
  maxConcurrentUploadsPerKey: number;
  /** Root of the spool directory (temp files of uploads), cleaned of dead processes' spools at startup. */
  spoolDir: string;
  /** How long an in-flight provider copy's journal row stays owned without a heartbeat. */
  journalLeaseSeconds: number;
  logLevel: string;
  /** Unknown keys and settings not acted upon, reported at startup. */
  warnings: string[];
  /** The providers this config was validated against (the registry builds adapters from them). */
  providers: ProviderCatalog;
}

export interface BuildOptions {
  /** The provider definitions to accept; default: provider-list.ts. */
  providers?: readonly ProviderDefinition[];
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
interface MissingVariable {
  path: string;
  message: string;
}

function resolveEnvReferences(value: unknown, env: Env, path: PropertyKey[], problems: MissingVariable[]): unknown {
  if (typeof value === 'string' && value.startsWith('os.environ/')) {
    const name = value.slice('os.environ/'.length);
    const resolved = env[name];
    if (resolved === undefined || resolved === '') problems.push({ path: pathText(path), message: `${pathText(path)}: environment variable ${name} is not set` });
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
function validate(raw: unknown, warnings: string[], catalog: ProviderCatalog): ConfigFile {
  const first = configFileSchema(catalog).safeParse(raw);
  if (first.success) return first.data as ConfigFile;
  const unknown = first.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
  const others = first.error.issues.filter((issue) => issue.code !== 'unrecognized_keys');
  if (others.length > 0) throw new ConfigError(others.map(describeIssue));
  for (const issue of unknown) {
    for (const key of (issue as z.core.$ZodIssueUnrecognizedKeys).keys) {
      warnings.push(`${pathText([...issue.path, key])}: unknown key, ignored`);
      deleteAtPath(raw, issue.path, key);
    }
  }
  return validate(raw, warnings, catalog);
}

const IGNORED_SECTIONS = ['litellm_settings', 'router_settings', 'environment_variables'];

/** Whether a key path lies under a section the gateway does not act on, or under a key reported unknown. */
function isIgnoredPath(path: string, warnings: readonly string[]): boolean {
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
  if (IGNORED_SECTIONS.some(under)) return true;
  return warnings.some((warning) => warning.endsWith(': unknown key, ignored') && under(warning.slice(0, -': unknown key, ignored'.length)));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${pathText(issue.path) || '(root)'}: ${issue.message}`;
}

function splitModel(params: LitellmParams): { provider: string; model: string } {
  if (params.custom_llm_provider) return { provider: params.custom_llm_provider, model: params.model };
  const slash = params.model.indexOf('/');
  if (slash === -1) return { provider: 'openai', model: params.model };
  return { provider: params.model.slice(0, slash), model: params.model.slice(slash + 1) };
}

function settingsFrom(input: {
  definition: ProviderDefinition;
  instance: string;
  model: string;
  params: LitellmParams | FilesSettingsEntry;
  env: Env;
  /** model_info.base_model / litellm_params.base_model, as written. */
  baseModel?: string;
}): ProviderSettings {
  const { params } = input;
  const seconds = (value: unknown) => (typeof value === 'number' ? value * 1000 : undefined);
  const own = Object.entries(input.definition.settings(params, input.env)).filter(([, value]) => value !== undefined);
  return {
    provider: input.definition.kind,
    instance: input.instance,
    model: input.model,
    ...(input.baseModel ? { baseModel: input.baseModel.replace(/^[a-z_]+\//, '') } : {}),
    apiKey: params.api_key,
    apiBase: params.api_base,
    timeoutMs: seconds(params.timeout),
    streamTimeoutMs: seconds(params.stream_timeout),
    maxRetries: params.max_retries,
    ...Object.fromEntries(own),
  };
}

function definitionProblems(definition: ProviderDefinition, settings: ProviderSettings, path: string): string[] {
  return definition.check(settings).map((problem) => `${path}.${problem.key}: ${problem.message}`);
}

export function buildConfig(raw: unknown, env: Env = process.env, options: BuildOptions = {}): GatewayConfig {
  const catalog = options.providers ? new ProviderCatalog(options.providers) : defaultCatalog;
  const problems: string[] = [];
  const unsupported = setAsideUnsupportedModels(raw, env, (kind) => catalog.has(kind));
  const missing: MissingVariable[] = [];
  const resolved = resolveEnvReferences(unsupported.raw ?? {}, env, [], missing);
  if (typeof resolved !== 'object' || Array.isArray(resolved)) throw new ConfigError(['(root): the config must be a YAML mapping']);
  const warnings: string[] = [...unsupported.warnings];
  // A variable that only feeds a key the gateway ignores (unknown keys, litellm_settings,
  // router_settings) is not needed to start: LiteLLM configs name many such variables.
  const needed = () => missing.filter((variable) => !isIgnoredPath(variable.path, warnings)).map((variable) => variable.message);
  let file: ConfigFile;
  try {
    file = validate(resolved, warnings, catalog);
  } catch (error) {
    if (needed().length > 0) throw new ConfigError(needed());
    throw error;
  }
  if (needed().length > 0) throw new ConfigError(needed());

  const deployments: DeploymentConfig[] = [];
  const seenIds = new Set<string>();
  const identities = new Map<string, number>();
  (file.model_list ?? []).forEach((entry, index) => {
    if (unsupported.skipped.has(index)) return;
    const path = `model_list[${index}]`;
    const params = entry.litellm_params ?? entry.params;
    if (!params) return problems.push(`${path}.litellm_params: required (params is accepted as an alias)`);
    const { provider, model } = splitModel(params);
    const definition = catalog.get(provider);
    if (!definition) {
      return problems.push(`${path}.litellm_params.model: unknown provider '${provider}' (supported: ${catalog.kinds.join(', ')})`);
    }
    for (const key of UNACTED_PARAMS) {
      if (params[key] !== undefined) warnings.push(`${path}.litellm_params.${key}: accepted for LiteLLM compatibility, not acted upon`);
    }
    let id = entry.model_info?.id;
    let previousIds: string[] = [];
    if (id === undefined) {
      const base = defaultDeploymentId({ modelName: entry.model_name, params, occurrence: 0 });
      const occurrence = identities.get(base) ?? 0;
      identities.set(base, occurrence + 1);
      if (occurrence > 0) {
        warnings.push(`${path}: same model_name, provider and endpoint as an earlier deployment (only secrets or tuning differ); its id depends on its position in model_list — set model_info.id`);
      }
      id = defaultDeploymentId({ modelName: entry.model_name, params, occurrence });
      previousIds = previousDeploymentIds(entry.model_name, params).filter((previous) => previous !== id);
    }
    if (seenIds.has(id)) return problems.push(`${path}.model_info.id: duplicate deployment id '${id}'`);
    seenIds.add(id);
    const baseModel = entry.model_info?.base_model ?? params.base_model;
    const settings = settingsFrom({ definition, instance: id, model, params, env, ...(baseModel ? { baseModel } : {}) });
    problems.push(...definitionProblems(definition, settings, `${path}.litellm_params`));
    deployments.push({ id, previousIds, modelName: entry.model_name, settings, weight: params.weight ?? 1 });
  });

  const filesSettings: ProviderSettings[] = [];
  (file.files_settings ?? []).forEach((entry, index) => {
    const path = `files_settings[${index}]`;
    const definition = catalog.get(entry.custom_llm_provider);
    if (!definition) {
      return problems.push(`${path}.custom_llm_provider: unknown provider '${entry.custom_llm_provider}' (supported: ${catalog.kinds.join(', ')})`);
    }
    if (filesSettings.some((settings) => settings.provider === entry.custom_llm_provider)) {
      return problems.push(`${path}.custom_llm_provider: '${entry.custom_llm_provider}' is configured twice`);
    }
    const settings = settingsFrom({ definition, instance: `files_settings:${entry.custom_llm_provider}`, model: '', params: entry, env });
    problems.push(...definitionProblems(definition, settings, path));
    filesSettings.push(settings);
  });
  if (problems.length > 0) throw new ConfigError(problems);

  const general = file.general_settings ?? {};
  const frozen = deepFreeze({
    deployments,
    unsupportedModels: [...unsupported.skipped.values()],
    filesSettings,
    masterKey: general.master_key ?? env.UNIFILE_MASTER_KEY ?? env.LITELLM_MASTER_KEY,
    databaseUrl: general.database_url ?? env.DATABASE_URL,
    dataDir: general.data_dir ?? env.UNIFILE_DATA_DIR ?? './.unifile',
    maxUploadSizeMb: general.max_upload_size_mb ?? 512,
    maxRequestBodyMb: general.max_request_body_mb ?? 10,
    sweeperIntervalSeconds: general.sweeper_interval_seconds ?? 60,
    batchRefreshIntervalSeconds: general.batch_refresh_interval_seconds ?? 30,
    fineTuningRefreshIntervalSeconds: general.fine_tuning_refresh_interval_seconds ?? 60,
    fileProcessingTimeoutSeconds: general.file_processing_timeout_seconds ?? 120,
    requestIdleTimeoutSeconds: general.request_idle_timeout_seconds ?? 30,
    maxConcurrentUploadsPerKey: general.max_concurrent_uploads_per_key ?? 64,
    spoolDir: general.spool_dir ?? env.UNIFILE_SPOOL_DIR ?? defaultSpoolRoot(),
    journalLeaseSeconds: general.journal_lease_seconds ?? 60,
    logLevel: env.UNIFILE_LOG_LEVEL ?? 'info',
    warnings,
  });
  return Object.freeze({ ...frozen, providers: catalog });
}

/** Reads and validates a YAML file (or YAML text). `env` defaults to the process environment. */
export function loadConfig(source: { path?: string; text?: string }, env: Env = process.env, options: BuildOptions = {}): GatewayConfig {
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
  return buildConfig(raw, env, options);
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
