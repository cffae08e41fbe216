/** The real CLI (`bin/unifile.js`, the compiled dist/) on a config file, with its log output captured. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createTestDatabase } from './test-database.ts';

export interface CliGateway {
  base: string;
  process: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, and the exit code once it stopped. */
  stop(): Promise<number | null>;
}

export async function startCliGateway(configText: string, env: Record<string, string> = {}): Promise<CliGateway> {
  const directory = mkdtempSync(join(tmpdir(), 'unifile-cli-'));
  const configPath = join(directory, 'config.yaml');
  writeFileSync(configPath, configText);
  const child = spawn(process.execPath, ['bin/unifile.js', '--config', configPath, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, UNIFILE_DATA_DIR: join(directory, 'data'), ...env },
  });
  let output = '';
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${output}`)));
  });
  return {
    base,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A CLI gateway on its own test database, in front of a local upstream server (the backpressure tests). */
export interface GatewayInFrontOf {
  gateway: CliGateway;
  /** Stops the gateway, closes the upstream and drops the database. */
  stop(): Promise<void>;
}

/**
 * Starts `upstream` on a free loopback port, then a gateway whose config is `config(upstreamPort)`
 * plus `general_settings` with `masterKey` and the test database. Log level info: startCliGateway
 * waits for the "Server listening" line.
 */
export async function startGatewayInFrontOf(upstream: Server, masterKey: string, config: (upstreamPort: number) => Record<string, unknown>): Promise<GatewayInFrontOf> {
  const database = await createTestDatabase();
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const general_settings = { master_key: masterKey, ...(database.url ? { database_url: database.url } : {}) };
  const closeUpstream = () => new Promise((resolve) => upstream.close(resolve));
  let gateway: CliGateway;
  try {
    gateway = await startCliGateway(stringify({ ...config(upstreamPort), general_settings }), { UNIFILE_LOG_LEVEL: 'info' });
  } catch (error) {
    await closeUpstream();
    await database.drop();
    throw error;
  }
  return {
    gateway,
    async stop() {
      await gateway.stop();
      await closeUpstream();
      await database.drop();
    },
  };
}
