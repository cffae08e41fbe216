/**
 * The world a fuzz run happens in: the emulators, a test database and the gateway on a real
 * port (the test harness), three users and the admin, a revoked key, and a pool of files every
 * owner uploaded with the official client (plain OpenAI, Azure and Vertex files, and managed
 * files) for the cases to point at.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import type { OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import type { AllEmulators } from '../../src/emulators/start-all.ts';
import { MASTER_KEY, startHarness, type Harness, type RawConfig } from '../support/gateway-harness.ts';
import { managedConfig, startSecondOpenAI } from '../support/managed-config.ts';
import { POOL_KINDS, POOL_SLOTS, USERS, type Actor, type Owner, type PoolKind, type PoolRef, type RecordingClient, type World } from './case-types.ts';
import type { RawAnswer } from './raw-http.ts';

/** Every id a client was given by a 2xx upload, and the ones a 2xx delete took back. */
export class Ledger {
  readonly live = new Map<string, Actor>();
  readonly deleted = new Set<string>();
  /** user_ids a 2xx of /user/new or /key/generate answered with. */
  readonly users = new Set<string>();

  uploaded(id: string, actor: Actor): void {
    this.live.set(id, actor);
  }

  removed(id: string): void {
    this.live.delete(id);
    this.deleted.add(id);
  }
}

export interface FuzzWorld {
  world: World;
  harness: Harness;
  second: OpenAIEmulator;
  ledger: Ledger;
  /** The private TMPDIR of this run (spooled bodies land here). */
  tempDir: string;
  close(): Promise<void>;
}

const POOL_PATHS: Record<PoolKind, string> = { openai: '/v1', azure: '/azure/v1', vertex: '/vertex_ai/v1', gemini: '/gemini/v1', managed: '/v1' };

/** The managed-files config of the other suites, plus the Gemini API (plain files and a model). */
function fuzzConfig(second: OpenAIEmulator) {
  return (emulators: AllEmulators): RawConfig => {
    const config = managedConfig(second)(emulators) as { files_settings: unknown[]; model_list: unknown[] };
    config.files_settings.push({ custom_llm_provider: 'gemini', api_key: 'gemini-emulator-key', api_base: emulators.urls.gemini });
    config.model_list.push({ model_name: 'gemini-api-flash', litellm_params: { model: 'gemini/gemini-2.0-flash', api_key: 'gemini-emulator-key', api_base: emulators.urls.gemini }, model_info: { id: 'gemini-1' } });
    return config as RawConfig;
  };
}

function recordingClient(url: string, key: string | undefined, options: { baseURL?: string; boundMs?: number }): RecordingClient {
  let last: Promise<RawAnswer | undefined> = Promise.resolve(undefined);
  const bound = options.boundMs ?? 15_000;
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const copy = response.clone();
    const started = Date.now();
    last = copy.arrayBuffer().then(
      (bytes) => ({ status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.from(bytes), timedOut: false, ms: Date.now() - started }),
      () => ({ status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.alloc(0), timedOut: false, ms: Date.now() - started }),
    );
    return response;
  };
  const client = new OpenAI({
    apiKey: key ?? 'no-key',
    baseURL: options.baseURL ?? `${url}/v1`,
    maxRetries: 0,
    timeout: bound,
    fetch: recordingFetch,
    ...(key === undefined ? { defaultHeaders: { authorization: null } } : {}),
  });
  return {
    client,
    lastAnswer: () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<RawAnswer>((resolve) => {
        timer = setTimeout(() => resolve({ status: 0, headers: {}, body: Buffer.from('body not finished in time'), timedOut: true, ms: bound }), bound);
      });
      return Promise.race([last, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

export async function startFuzzWorld(): Promise<FuzzWorld> {
  // A private TMPDIR: whatever the gateway spools during the run can be found afterwards.
  const tempDir = await mkdtemp(join(tmpdir(), 'unifile-fuzz-'));
  process.env.TMPDIR = tempDir;
  const second = await startSecondOpenAI();
  const harness = await startHarness({
    config: fuzzConfig(second),
    general: { max_upload_size_mb: 1, request_idle_timeout_seconds: 2 },
  });
  const ledger = new Ledger();
  const keys = new Map<Actor, string | undefined>([
    ['admin', MASTER_KEY],
    ['garbage', 'sk-fuzz-not-a-key-0123456789'],
    ['none', undefined],
  ]);
  for (const user of USERS) {
    const created = await harness.newUser({ user_id: user, ...(user === 'carol' ? { models: ['gpt-4o-mini-openai'] } : {}) });
    keys.set(user, created.key);
    ledger.users.add(user);
  }
  const revoked = (await (await harness.fetch('/key/generate', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).json()) as { key: string };
  const deletion = await harness.fetch('/key/delete', { method: 'POST', body: JSON.stringify({ keys: [revoked.key] }), headers: { 'content-type': 'application/json' } });
  if (deletion.status !== 200) throw new Error(`could not revoke the fuzz key: ${deletion.status}`);
  keys.set('revoked', revoked.key);

  const url = harness.url;
  const port = Number(new URL(url).port);
  const pool = new Map<string, string>();
  const refKey = (ref: PoolRef) => `${ref.kind}/${ref.owner}/${ref.slot}`;
  const owners: Owner[] = ['admin', ...USERS];
  await Promise.all(
    owners.map(async (owner) => {
      for (const kind of POOL_KINDS) {
        for (let slot = 0; slot < POOL_SLOTS; slot += 1) {
          const client = new OpenAI({ apiKey: keys.get(owner)!, baseURL: `${url}${POOL_PATHS[kind]}`, maxRetries: 0 });
          const targets = owner === 'carol' ? 'gpt-4o-mini-openai' : 'gpt-4o-mini-openai,gemini-2.0-flash,azure-gpt,gemini-api-flash';
          const file = await client.files.create({
            file: await toFile(Buffer.from(`pool file ${kind} of ${owner}, slot ${slot}\n`), `pool-${kind}-${owner}-${slot}.txt`),
            purpose: 'user_data',
            ...(kind === 'managed' ? { target_model_names: targets } : {}),
          } as never);
          pool.set(refKey({ kind, owner, slot }), file.id);
          ledger.uploaded(file.id, owner);
        }
      }
    }),
  );

  const world: World = {
    port,
    url,
    keyOf: (actor) => keys.get(actor),
    poolId: (ref) => pool.get(refKey(ref))!,
    client: (actor, options = {}) => recordingClient(url, keys.get(actor), options),
  };
  return {
    world,
    harness,
    second,
    ledger,
    tempDir,
    close: async () => {
      await harness.close();
      await second.close();
    },
  };
}
