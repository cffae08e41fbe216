/**
 * The gateway as the benchmarks run it: `node bin/unifile.js --config <generated yaml>` in its
 * own process on loopback, on a fresh Postgres database (or PGlite data dir), with the pid
 * verified to be the process that holds the listening socket.
 *
 * bin/unifile.js runs the compiled dist/cli.js when it exists (else the TypeScript sources
 * through tsx); a dist/ older than src/ is refused, so a benchmark never measures stale code.
 * `runtime: 'tsx'` runs `node --import tsx src/cli.ts` instead, to show what the loader costs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { binNodeFlags } from './bin-node-flags.ts';
import { freePort, jsonRequest, REPO_ROOT, spawnNode, waitForHttp, type NodeChild } from './child-process.ts';
import { MemoryProbe } from './memory-probe.ts';
import { createBenchDatabase, type BenchDatabase } from './postgres.ts';
import { childPids, commandLine, isListeningOn } from './proc-stats.ts';

export const MASTER_KEY = 'sk-bench-master-key';

export interface GatewayOptions {
  /** model_list / files_settings / general_settings; master key and database are added. */
  config: Record<string, unknown>;
  /** 'postgres' (default): a new database on the local server; 'pglite': a fresh data dir. */
  database?: 'postgres' | 'pglite';
  /** UNIFILE_LOG_LEVEL; 'info' logs one JSON line per upstream call (with durationMs). */
  logLevel?: string;
  /** Preload memory-probe.mjs (heap/buffer maxima per phase); default true. */
  probe?: boolean;
  /** The probe's sampling interval (default 25 ms): a sample costs the gateway CPU time, a long phase many. */
  probeIntervalMs?: number;
  /** Run the gateway with --expose-gc, so that MemoryProbe.read({ collect: true }) can collect garbage. */
  exposeGc?: boolean;
  /** 'bin' (default): `node bin/unifile.js`; 'tsx': `node --import tsx src/cli.ts`. */
  runtime?: GatewayRuntime;
  /** Extra node flags for the gateway process (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it). */
  nodeArgs?: string[];
}

export type GatewayRuntime = 'bin' | 'tsx';

export interface GatewayProcess {
  url: string;
  port: number;
  /** The node process serving `port` (checked against /proc/net/tcp). */
  pid: number;
  configPath: string;
  database: BenchDatabase | undefined;
  process: NodeChild;
  probe: MemoryProbe | undefined;
  /** What runs (describeRuntime at start: later src/ edits do not change the running process). */
  runtime: string;
  /** Parsed pino lines with msg 'upstream call' logged from line number `from` on. */
  upstreamCalls(from?: number): Array<{ deployment: string; operation: string; status: number; durationMs: number }>;
  /** POST /user/new with the master key. */
  newUser(body?: Record<string, unknown>): Promise<{ user_id: string; key: string }>;
  /** Stops the gateway, drops its database, removes the config directory. */
  stop(): Promise<void>;
}

function newestMtime(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** What actually runs for `runtime`, for the reports; throws when dist/ is stale. */
export function describeRuntime(runtime: GatewayRuntime = 'bin'): string {
  if (runtime === 'tsx') return '`node --import tsx src/cli.ts` (TypeScript compiled on the fly by tsx)';
  const compiled = join(REPO_ROOT, 'dist', 'cli.js');
  if (!existsSync(compiled)) return '`node bin/unifile.js` → src/cli.ts through tsx (no dist/ build)';
  if (statSync(compiled).mtimeMs < newestMtime(join(REPO_ROOT, 'src'))) {
    throw new Error('dist/ is older than src/: run `npm run build` first (bin/unifile.js runs dist/cli.js when it exists)');
  }
  return '`node bin/unifile.js` → dist/cli.js (compiled by `npm run build`)';
}

export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  const runtime = describeRuntime(options.runtime); // refuses a stale dist/
  const directory = await mkdtemp(join(tmpdir(), 'unifile-bench-gateway-'));
  const database = options.database === 'pglite' ? undefined : await createBenchDatabase();
  const general = (options.config.general_settings ?? {}) as Record<string, unknown>;
  const config = {
    ...options.config,
    general_settings: {
      ...general,
      master_key: MASTER_KEY,
      ...(database ? { database_url: database.url } : { data_dir: join(directory, 'data') }),
    },
  };
  const configPath = join(directory, 'config.yaml');
  await writeFile(configPath, stringify(config));
  const port = await freePort();
  const probePath = options.probe === false ? undefined : join(directory, 'memory-probe.json');
  const preload = probePath ? [...(options.exposeGc ? ['--expose-gc'] : []), '--import', './bench/support/memory-probe.mjs'] : [];
  const entry = options.runtime === 'tsx' ? ['--import', 'tsx', 'src/cli.ts'] : ['bin/unifile.js'];
  // e.g. BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof": extra node flags for the gateway, for any script;
  // they come after the flags of bin/unifile.js's shebang line, so a later value of the same flag wins.
  const extra = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawnNode([...binNodeFlags(REPO_ROOT), ...(options.nodeArgs ?? []), ...extra, ...preload, ...entry, '--config', configPath, '--port', String(port), '--host', '127.0.0.1'], {
    UNIFILE_LOG_LEVEL: options.logLevel ?? 'warn',
    ...(probePath ? { BENCH_MEMORY_PROBE: probePath } : {}),
    ...(options.probeIntervalMs ? { BENCH_MEMORY_PROBE_MS: String(options.probeIntervalMs) } : {}),
  });
  const url = `http://127.0.0.1:${port}`;
  const cleanup = async () => {
    await child.stop();
    await database?.drop();
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${url}/health/readiness`, 120_000);
    // Make sure no other process (a wrapper, a worker process) does the serving.
    if (!isListeningOn(child.pid, port)) throw new Error(`pid ${child.pid} (${commandLine(child.pid)}) does not hold port ${port}`);
    if (childPids(child.pid).length > 0) throw new Error(`the gateway spawned children: ${childPids(child.pid).join(', ')}`);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    url,
    port,
    pid: child.pid,
    configPath,
    database,
    process: child,
    probe: probePath ? new MemoryProbe(child.pid, probePath) : undefined,
    runtime,
    upstreamCalls(from = 0) {
      return child.lines
        .slice(from)
        .filter((line) => line.includes('"upstream call"'))
        .map((line) => JSON.parse(line) as { deployment: string; operation: string; status: number; durationMs: number });
    },
    newUser: (body = {}) => jsonRequest(`${url}/user/new`, { method: 'POST', key: MASTER_KEY, body }),
    stop: cleanup,
  };
}
