/** Spawning the benchmark's Node children (emulators, gateway) and talking to them on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export interface NodeChild {
  pid: number;
  child: ChildProcess;
  /** Every stdout line so far (the gateway's pino JSON lines, the emulators' JSON events). */
  lines: string[];
  /** Resolves with the first stdout line, from line number `from` on (default 0), that satisfies `predicate`. */
  waitForLine(predicate: (line: string) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process exited. */
  stop(graceMs?: number): Promise<void>;
}

/** `node <args>` from the repository root; stderr is passed through so failures are visible. */
export function spawnNode(args: string[], env: Record<string, string> = {}): NodeChild {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  if (child.pid === undefined) throw new Error(`could not start node ${args.join(' ')}`);
  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) waiter(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid,
    child,
    lines,
    waitForLine(predicate, { from = 0, timeoutMs = 60_000 } = {}) {
      const found = lines.slice(from).find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`node ${args.join(' ')}: no expected output within ${timeoutMs} ms`));
        }, timeoutMs);
        const onExit = () => {
          clearTimeout(timer);
          reject(new Error(`node ${args.join(' ')} exited with ${child.exitCode ?? child.signalCode}`));
        };
        const waiter = (line: string) => {
          if (!predicate(line)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          child.off('exit', onExit);
          resolve(line);
        };
        waiters.add(waiter);
        child.once('exit', onExit);
      });
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** A port that was free a moment ago (the kernel picks it; the child binds it right after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Polls `url` until it answers 2xx. */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms`);
}

/** A JSON request on loopback; throws with the body on a non-2xx status. */
export async function jsonRequest<T>(url: string, init: { method?: string; key?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
