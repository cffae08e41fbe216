/**
 * The processes of the chat benchmark: the bundled emulators (`unifile emulate`) and the gateway
 * (`unifile --config`), each a child process on loopback, plus CPU accounting from /proc.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { binNodeFlags } from '../support/bin-node-flags.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * How the unifile CLI is started: `bin/unifile.js` (which runs dist/ when it exists), the
 * sources through tsx (what bin/unifile.js itself does without a build), or a private build of
 * the current sources (for when dist/ is older than src/).
 */
export type CliEntry = 'bin' | 'src' | { build: string };
function cliArgs(entry: CliEntry): string[] {
  if (entry === 'bin') return ['bin/unifile.js'];
  if (entry === 'src') return ['--import', 'tsx', 'src/cli.ts'];
  return [join(entry.build, 'dist', 'cli.js')];
}

/**
 * Compiles the current src/ with the project's own tsconfig.build.json into a private directory
 * (dist/ of the work tree is left alone), next to symlinks to node_modules/ and migrations/ and
 * a copy of package.json, so it runs exactly as a fresh `npm run build` would.
 */
export function privateBuild(directory: string): CliEntry {
  mkdirSync(directory, { recursive: true });
  execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', join(directory, 'dist')], { cwd: REPO_ROOT, stdio: 'pipe' });
  for (const name of ['node_modules', 'migrations']) symlinkSync(join(REPO_ROOT, name), join(directory, name), 'dir');
  copyFileSync(join(REPO_ROOT, 'package.json'), join(directory, 'package.json'));
  return { build: directory };
}

export interface ChildHandle {
  pid: number;
  /** The last lines the child wrote to stderr (for failure messages). */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<string>;
}

function track(child: ChildProcess, name: string, echoStderr: boolean): ChildHandle {
  if (child.pid === undefined) throw new Error(`${name}: could not start`);
  const tail: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    tail.push(text);
    if (tail.length > 50) tail.shift();
    if (echoStderr) process.stderr.write(`[${name}] ${text}`);
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  return {
    pid: child.pid,
    stderrTail: () => tail.join('').slice(-4000),
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export interface EmulatorsProcess extends ChildHandle {
  /** Base URLs as printed by `unifile emulate` (openai is the api_base, ending in /v1). */
  urls: Record<string, string>;
}

/** `node bin/unifile.js emulate --port 0`; resolves once it printed its base URLs. */
export async function startEmulators(entry: CliEntry = 'bin'): Promise<EmulatorsProcess> {
  const child = spawn(process.execPath, [...cliArgs(entry), 'emulate', '--port', '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = track(child, 'emulators', true);
  const urls: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`emulators did not start within 30 s\n${handle.stderrTail()}`)), 30_000);
    child.once('exit', () => reject(new Error(`emulators exited early\n${handle.stderrTail()}`)));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      buffered += text;
      for (const line of buffered.split('\n')) {
        const match = /^(\w+)\s+(http:\/\/\S+)$/.exec(line.trim());
        if (match) urls[match[1]!] = match[2]!;
      }
      if (buffered.includes('Emulators running')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  if (!urls.openai) throw new Error('emulators did not print an openai URL');
  return Object.assign(handle, { urls });
}

export interface GatewayProcess extends ChildHandle {
  url: string;
}

/** `node [bin/unifile.js's shebang flags] [nodeArgs] [$BENCH_GATEWAY_NODE_ARGS] bin/unifile.js --config FILE --port N --host 127.0.0.1` with UNIFILE_LOG_LEVEL=warn. */
export async function startGateway(options: { configPath: string; nodeArgs?: string[]; entry?: CliEntry }): Promise<GatewayProcess> {
  const port = await freePort();
  // BENCH_GATEWAY_NODE_ARGS: extra node flags for the gateway, as in bench/support/gateway-process.ts.
  const extra = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = [...binNodeFlags(REPO_ROOT), ...(options.nodeArgs ?? []), ...extra, ...cliArgs(options.entry ?? 'bin'), '--config', options.configPath, '--port', String(port), '--host', '127.0.0.1'];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, UNIFILE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const handle = track(child, 'gateway', true);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited early\n${handle.stderrTail()}`);
    try {
      if ((await fetch(`${url}/health/readiness`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gateway not ready within 60 s\n${handle.stderrTail()}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return Object.assign(handle, { url });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface ProcessEntry {
  ppid: number;
  /** utime + stime + cutime + cstime, ms. */
  cpuMs: number;
  /** Kernel threads (children of kthreadd) are left out of every group. */
  kernel: boolean;
  /** For postgres processes: the process title, which names the backend's database. */
  title?: string;
}

/** Every process in /proc with its CPU time so far. */
function processTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  const tick = 1000 / ticksPerSecond();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // The command name may contain spaces: fields are counted after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      // utime + stime + cutime + cstime: the last two hold the time of children already reaped,
      // so a short-lived process (a compiler run, say) that came and went in between still counts.
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      const entry: ProcessEntry = { ppid, cpuMs: ticks * tick, kernel: pid === 2 || ppid === 2 };
      if (comm === 'postgres') entry.title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      table.set(pid, entry);
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/**
 * Jiffies of the whole machine (first line of /proc/stat): busy = everything but idle, iowait
 * and steal; steal = time the hypervisor gave these CPUs to another guest.
 */
export function machineJiffies(): { busy: number; steal: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [, , , idle = 0, iowait = 0, , , steal = 0] = fields;
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0); // guest time is already inside user
  return { busy: total - idle - iowait - steal, steal, total };
}

/** The processes of this benchmark: the gateway and emulator children, and the Postgres backends of its database. */
export interface OwnProcesses {
  gateway?: number;
  emulators: number;
  /** Name of the benchmark database: backends serving it count as "postgres", other backends as "other". */
  database: string;
}

type Group = 'gateway' | 'emulators' | 'loadGenerator' | 'postgres' | 'other';

/** Which group a process belongs to: a descendant of one of ours belongs to it (tsx's esbuild, say). */
function classify(table: Map<number, ProcessEntry>, pid: number, own: OwnProcesses): Group | undefined {
  const entry = table.get(pid);
  if (!entry || entry.kernel) return undefined;
  if (entry.title !== undefined) return entry.title.includes(` ${own.database} `) ? 'postgres' : 'other';
  for (let current: number | undefined = pid, depth = 0; current !== undefined && current > 1 && depth < 64; depth += 1) {
    if (current === own.gateway) return 'gateway';
    if (current === own.emulators) return 'emulators';
    if (current === process.pid) return 'loadGenerator';
    current = table.get(current)?.ppid;
  }
  return 'other';
}

export interface CpuSnapshot {
  at: number;
  table: Map<number, ProcessEntry>;
  machine: { busy: number; steal: number; total: number };
}

/** CPU used per group between two snapshots, as a percentage of one core. */
export interface CpuUsage {
  gatewayPct: number;
  emulatorsPct: number;
  loadGeneratorPct: number;
  postgresPct: number;
  /** CPU used by every other process on the machine (another benchmark, say), percent of one core. */
  otherPct: number;
  /** Whole machine, percentage of all cores. */
  machinePct: number;
  /** Time the hypervisor ran something else while this VM wanted the CPU, percent of all cores. */
  stealPct: number;
  /** Gateway CPU milliseconds spent per completed request. */
  gatewayCpuMsPerRequest?: number;
}

export function cpuSnapshot(): CpuSnapshot {
  return { at: performance.now(), table: processTable(), machine: machineJiffies() };
}

export function cpuUsage(before: CpuSnapshot, after: CpuSnapshot, own: OwnProcesses, completed?: number): CpuUsage {
  const wall = after.at - before.at;
  const used: Record<Group, number> = { gateway: 0, emulators: 0, loadGenerator: 0, postgres: 0, other: 0 };
  for (const [pid, entry] of after.table) {
    const group = classify(after.table, pid, own);
    if (!group) continue;
    // A process that started in between counts with all of its time.
    used[group] += Math.max(0, entry.cpuMs - (before.table.get(pid)?.cpuMs ?? 0));
  }
  const pct = (ms: number) => (100 * ms) / wall;
  const span = Math.max(1, after.machine.total - before.machine.total);
  return {
    gatewayPct: pct(used.gateway),
    emulatorsPct: pct(used.emulators),
    loadGeneratorPct: pct(used.loadGenerator),
    postgresPct: pct(used.postgres),
    otherPct: pct(used.other),
    machinePct: (100 * (after.machine.busy - before.machine.busy)) / span,
    stealPct: (100 * (after.machine.steal - before.machine.steal)) / span,
    ...(completed && used.gateway > 0 ? { gatewayCpuMsPerRequest: used.gateway / completed } : {}),
  };
}

/**
 * Waits until the rest of the machine is quiet: processes outside `own` use at most
 * `maxOtherPct` (percent of one core) over a one-second sample. Gives up after `timeoutMs` and
 * returns the last reading, so a busy machine is reported rather than waited on forever.
 */
export async function waitForQuietMachine(options: { own: OwnProcesses; maxOtherPct: number; timeoutMs: number; onWait?: (otherPct: number) => void }): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    const before = cpuSnapshot();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { otherPct } = cpuUsage(before, cpuSnapshot(), options.own);
    if (otherPct <= options.maxOtherPct || Date.now() > deadline) return otherPct;
    if (attempt % 10 === 0) options.onWait?.(otherPct);
  }
}

/**
 * What `bin/unifile.js` runs: the compiled dist/ when dist/cli.js exists, else src/ through tsx.
 * `stale` lists src files newer than their compiled counterpart (a build older than the code).
 */
export function gatewayBuild(): { mode: 'dist' | 'tsx'; stale: string[] } {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) return { mode: 'tsx', stale: [] };
  const stale: string[] = [];
  const walk = (directory: string) => {
    for (const entry of readdirSync(join(REPO_ROOT, 'src', directory), { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        const compiled = join(REPO_ROOT, 'dist', path.replace(/\.ts$/, '.js'));
        if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(join(REPO_ROOT, 'src', path)).mtimeMs) stale.push(`src/${path}`);
      }
    }
  };
  walk('');
  return { mode: 'dist', stale };
}
