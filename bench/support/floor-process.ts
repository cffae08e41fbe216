/**
 * Floors for the 1 GiB passthrough bench (bench/upload-1gib.ts), each in its own process on loopback
 * in front of the same upstream:
 * - `node`: support/floor-proxy.mjs `--stream`, a bare node:http streaming proxy (request piped into
 *   http.request over a keep-alive agent, the answer piped back): the least any Node gateway pays;
 * - `socat`: `socat TCP-LISTEN:…,fork TCP:…` (http://www.dest-unreach.org/socat/doc/socat.html), a TCP
 *   relay in C with no HTTP at all: what the kernel's loopback copies into and out of a userspace
 *   process cost. Optional: skipped when socat is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, REPO_ROOT } from './child-process.ts';
import { childPids, treeCpuSeconds } from './proc-stats.ts';

export type FloorKind = 'node' | 'socat';

export interface FloorProcess {
  kind: FloorKind;
  pid: number;
  /** Root URL: requests to `${url}/v1/…` reach `${upstream}/v1/…`. */
  url: string;
  /** CPU seconds so far of the process and every child it forked (socat forks one per connection). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const FLOOR_SCRIPT = join(REPO_ROOT, 'bench', 'support', 'floor-proxy.mjs');
/** socat's transfer block (default 8192): 64 KiB, the size of libuv's socket reads, so both floors move the same chunks. */
const SOCAT_BLOCK_BYTES = 64 * 1024;

export function socatInstalled(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

function handle(kind: FloorKind, child: ChildProcess, port: number): FloorProcess {
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    kind,
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // socat's per-connection children first, while it is there to reap them (else they outlive it as orphans).
      const children = childPids(child.pid!);
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      for (const deadline = Date.now() + 2_000; children.some((pid) => childPids(child.pid!).includes(pid)) && Date.now() < deadline; ) await sleep(20);
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Starts a floor in front of `upstreamOrigin` (e.g. `http://127.0.0.1:4010`). The node floor streams
 * bodies through (`stream`, the default); with `stream: false` it reads each body whole first, as the
 * chat benches' floor does (support/floor-proxy.mjs says why).
 */
export async function startFloor(kind: FloorKind, upstreamOrigin: string, options: { stream?: boolean } = {}): Promise<FloorProcess> {
  if (kind === 'node') {
    const args = [FLOOR_SCRIPT, '0', upstreamOrigin, ...(options.stream === false ? [] : ['--stream'])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await Promise.race([
      new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
      new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`floor proxy exited (${code})`)))),
      sleep(10_000).then(() => Promise.reject(new Error('floor proxy did not start within 10 s'))),
    ]);
    const port = /^listening (\d+)$/.exec(line)?.[1];
    if (!port) throw new Error(`floor proxy said: ${line}`);
    return handle(kind, child, Number(port));
  }
  const upstream = new URL(upstreamOrigin);
  const port = await freePort();
  const child = spawn('socat', ['-b', String(SOCAT_BLOCK_BYTES), `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `TCP:${upstream.hostname}:${upstream.port}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const floor = handle(kind, child, port);
  for (const deadline = Date.now() + 10_000; ; await sleep(50)) {
    if (child.exitCode !== null) throw new Error(`socat exited (${child.exitCode})`);
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (listening) return floor;
    if (Date.now() > deadline) {
      await floor.stop();
      throw new Error('socat did not listen within 10 s');
    }
  }
}
