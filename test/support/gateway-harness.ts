/**
 * Starts the emulators, a test database and the gateway on a real port, and hands out
 * official `openai` clients pointed at it.
 */
import OpenAI from 'openai';
import { buildApp } from '../../src/app.ts';
import { buildConfig, type GatewayConfig } from '../../src/config/load-config.ts';
import { startAllEmulators, type AllEmulators } from '../../src/emulators/start-all.ts';
import type { ProviderDefinition } from '../../src/providers/provider-definition.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export const MASTER_KEY = 'sk-master-test-key';

export interface Harness {
  url: string;
  emulators: AllEmulators;
  runtime: Runtime;
  database: TestDatabase;
  config: GatewayConfig;
  /** An openai client with the given key (default: master key). */
  client(key?: string, options?: Partial<ConstructorParameters<typeof OpenAI>[0]>): OpenAI;
  /** Creates a user with a key through the admin API. */
  newUser(body?: Record<string, unknown>): Promise<{ user_id: string; key: string }>;
  fetch(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  /** Log lines (JSON text) written so far, when started with `captureLogs`. */
  logs: string[];
  close(): Promise<void>;
}

export type RawConfig = Record<string, unknown>;

/** The default test config: files_settings for openai and azure against the emulators. */
export function defaultConfig(emulators: AllEmulators): RawConfig {
  return {
    files_settings: [
      { custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
      { custom_llm_provider: 'azure', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' },
    ],
    model_list: [
      { model_name: 'gpt-4o-mini-openai', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } },
    ],
  };
}

export async function startHarness(
  options: {
    config?: (emulators: AllEmulators) => RawConfig;
    general?: Record<string, unknown>;
    emulators?: AllEmulators;
    /** Keep the gateway's log lines (level info) in `harness.logs`. */
    captureLogs?: boolean;
    /** An existing database (kept by close) instead of a fresh one. */
    database?: TestDatabase;
    /** The provider list to configure with (default: the gateway's own). */
    providers?: readonly ProviderDefinition[];
    /** Environment variables the config sees (default none). */
    env?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const emulators = options.emulators ?? (await startAllEmulators());
  const database = options.database ?? (await createTestDatabase());
  const raw = (options.config ?? defaultConfig)(emulators);
  const config = buildConfig(
    {
      ...raw,
      general_settings: {
        master_key: MASTER_KEY,
        ...(database.url ? { database_url: database.url } : { data_dir: database.dataDir }),
        ...(raw.general_settings as object | undefined),
        ...options.general,
      },
    },
    options.env ?? {},
    options.providers ? { providers: options.providers } : {},
  );
  const runtime = await createRuntime(config);
  const logs: string[] = [];
  const app = await buildApp(
    runtime,
    options.captureLogs
      ? { logLevel: 'info', logStream: { write: (line: string) => void logs.push(line) } }
      : { logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const harness: Harness = {
    url,
    emulators,
    runtime,
    database,
    config,
    logs,
    client: (key = MASTER_KEY, clientOptions = {}) => new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, ...clientOptions }),
    newUser: async (body = {}) => {
      const response = await harness.fetch('/user/new', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      if (response.status !== 200) throw new Error(`user/new failed: ${response.status} ${await response.text()}`);
      return (await response.json()) as { user_id: string; key: string };
    },
    fetch: (path, init = {}) => {
      const headers = new Headers(init.headers);
      const key = init.key === undefined ? MASTER_KEY : init.key;
      if (key !== null) headers.set('authorization', `Bearer ${key}`);
      return fetch(`${url}${path}`, { ...init, headers });
    },
    close: async () => {
      // Tests end abruptly: connections the client left open (aborted requests) are cut.
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
      await runtime.close();
      if (!options.emulators) await emulators.close();
      if (!options.database) await database.drop();
    },
  };
  return harness;
}
