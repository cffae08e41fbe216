/**
 * The gateway as the benchmarks run it: `node bin/unifile.js --config <generated yaml>` in its
 * own process on loopback, on a fresh Postgres database (or PGlite data dir), with the pid
 * verified to be the process that holds the listening socket.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, jsonRequest, spawnNode, waitForHttp, type NodeChild } from './child-process.ts';
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
}

export interface GatewayProcess {
  url: string;
  port: number;
  /** The node process serving `port` (checked against /proc/net/tcp). */
  pid: number;
  configPath: string;
  database: BenchDatabase | undefined;
  process: NodeChild;
  /** Parsed pino lines with msg 'upstream call' logged from line number `from` on. */
  upstreamCalls(from?: number): Array<{ deployment: string; operation: string; status: number; durationMs: number }>;
  /** POST /user/new with the master key. */
  newUser(body?: Record<string, unknown>): Promise<{ user_id: string; key: string }>;
  /** Stops the gateway, drops its database, removes the config directory. */
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
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
  const child = spawnNode(['bin/unifile.js', '--config', configPath, '--port', String(port), '--host', '127.0.0.1'], {
    UNIFILE_LOG_LEVEL: options.logLevel ?? 'warn',
  });
  const url = `http://127.0.0.1:${port}`;
  const cleanup = async () => {
    await child.stop();
    await database?.drop();
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${url}/health/readiness`, 120_000);
    // bin/unifile.js loads tsx in-process; make sure nothing else is doing the serving.
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
