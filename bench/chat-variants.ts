/**
 * Chat completions, every variant issue 10's targets name, against the floor, in ONE run:
 *
 *   node --import tsx bench/chat-variants.ts [--connections 50,10] [--databases pglite,postgres]
 *        [--variants floor,floorfile,master,virtual,file] [--modes json,stream] [--duration 6] [--warmup 3]
 *        [--rounds 1] [--baseline DIR] [--no-write] [--json FILE]          (--help: all options)
 *
 * Targets, all on loopback and all calling the same upstream (the OpenAI emulator of
 * `unifile emulate`): the floor (support/floor-proxy.mjs, a bare node:http keep-alive proxy), and
 * the gateway (`node bin/unifile.js`, one process per database: embedded PGlite and a fresh
 * Postgres database) with the master key, with a user's virtual key, and with a virtual key and a
 * managed file reference in the message — each non-streaming (`json`) and `stream: true`.
 * The load generator is wrk (1 thread, chat-support/wrk-chat.lua), which checks every answer:
 * status 200, the echoed prompt, the provider copy's id for a file reference, `data: [DONE]` at the
 * end of a stream; one answer per measurement is also checked in full (setup.ts's checks: the
 * echo, the copy's id and size, the unified id never reaching the provider).
 *
 * CPU per request is read from /proc for each process (gateway, floor, emulator, the Postgres
 * backends of each gateway's database, wrk), over each measurement. Ratios (req/s and CPU per
 * request) are to the floor in the same mode and to the gateway's master-key plain request on
 * the same database; compare them within one run. `--baseline DIR` also runs the gateway of
 * another checkout (its dist/, e.g. /work/main) and measures each of its targets right before or
 * after the same target of this tree (order alternating by round), for before/after pairs.
 *
 * Before each measurement the emulator is reset (its call log grows with every request) and, for
 * a file reference, a fresh managed file is uploaded. Writes its section of BENCHMARKS.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSection } from './chat-support/benchmarks-md.ts';
import type { ChatScenario } from './chat-support/fixed-rate.ts';
import {
  cpuSnapshot,
  gatewayBuild,
  privateBuild,
  REPO_ROOT,
  startEmulators,
  startGateway,
  waitForQuietMachine,
  type CliEntry,
  type CpuSnapshot,
  type GatewayProcess,
} from './chat-support/processes.ts';
import {
  createBenchDatabase,
  createUserKey,
  MASTER_KEY,
  resetEmulator,
  scenario,
  uploadManagedFile,
  writeGatewayConfig,
  type BenchDatabase,
  type ScenarioId,
} from './chat-support/setup.ts';
import { log, startBenchRun } from './chat-support/bench-run.ts';
import { startFloor } from './support/floor-process.ts';

const TARGETS = { floorRatio: 0.8, cpuUsPerRequest: 350, variantTolerance: 0.1 };
const SECTION = { name: 'chat-variants', heading: '## Chat completions: every variant against the floor (issue 10)' };

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '50,10' },
    databases: { type: 'string', default: 'pglite,postgres' },
    variants: { type: 'string', default: 'floor,floorfile,master,virtual,file' },
    modes: { type: 'string', default: 'json,stream' },
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    baseline: { type: 'string' },
    gateway: { type: 'string', default: 'auto' },
    postgres: { type: 'string', default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    'quiet-wait': { type: 'string', default: process.env.BENCH_QUIET_WAIT_S ?? '0' },
    'no-write': { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'node --import tsx bench/chat-variants.ts [--connections 50,10] [--databases pglite,postgres] [--variants floor,floorfile,master,virtual,file]\n' +
      '  [--modes json,stream] [--duration 6] [--warmup 3] [--rounds 1] [--baseline DIR] [--gateway auto|bin|build]\n' +
      '  [--postgres URL] [--quiet-wait S (default $BENCH_QUIET_WAIT_S or 0)] [--no-write] [--json FILE]\n' +
      '  --duration/--warmup: seconds per measurement / per target before its first measurement\n' +
      '  --rounds: every measurement this many times, the order of the targets reversed every other round; rows pool the rounds\n' +
      '  --baseline DIR: also run DIR/dist/cli.js (a built checkout) as a gateway, each of its targets next to the same target of this tree\n' +
      '  --gateway: bin = node bin/unifile.js (dist/); build = a private tsc build of src/; auto = bin, or build when dist/ is older than src/\n' +
      '  ~5 min with the defaults (32 measurements); e.g. --databases pglite --modes stream --connections 50 for a quick look\n',
  );
  process.exit(0);
}
const list = (text: string) => text.split(',').map((item) => item.trim()).filter(Boolean);
const CONNECTIONS = list(args.connections!).map(Number);
const DATABASES = list(args.databases!) as Database[];
const VARIANTS = list(args.variants!) as Variant[];
const MODES = list(args.modes!) as Mode[];
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const QUIET_WAIT_S = Number(args['quiet-wait']);
if (!CONNECTIONS.every((value) => Number.isInteger(value) && value > 0)) throw new Error('--connections: positive integers');
for (const database of DATABASES) if (!['pglite', 'postgres'].includes(database)) throw new Error(`unknown database '${database}'`);
for (const variant of VARIANTS) if (!['floor', 'floorfile', 'master', 'virtual', 'file'].includes(variant)) throw new Error(`unknown variant '${variant}'`);
for (const mode of MODES) if (!['json', 'stream'].includes(mode)) throw new Error(`unknown mode '${mode}'`);
if (!(DURATION_S > 0 && WARMUP_S >= 0 && Number.isInteger(ROUNDS) && ROUNDS > 0 && QUIET_WAIT_S >= 0)) throw new Error('--duration > 0, --warmup >= 0, --rounds >= 1');
if (!['auto', 'bin', 'build'].includes(args.gateway!)) throw new Error('--gateway is auto, bin or build');

type Database = 'pglite' | 'postgres';
type Variant = 'floor' | 'floorfile' | 'master' | 'virtual' | 'file';
const isFloor = (variant: Variant) => variant === 'floor' || variant === 'floorfile';
type Mode = 'json' | 'stream';
type Build = 'current' | 'baseline';

const WRK_SCRIPT = join(REPO_ROOT, 'bench', 'chat-support', 'wrk-chat.lua');

// ---------------------------------------------------------------------------------------------
// Processes

interface GatewayInstance {
  build: Build;
  database: Database;
  process: GatewayProcess;
  /** The Postgres database (its backends are counted), or undefined on PGlite. */
  postgres?: BenchDatabase;
  /** A scratch Postgres database the setup needs even on PGlite (uploadManagedFile's signature). */
  scratch: BenchDatabase;
  virtualKey: string;
}

interface Target {
  id: string;
  label: string;
  variant: Variant;
  mode: Mode;
  build: Build;
  database?: Database;
  gateway?: GatewayInstance;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: every process's CPU time by who started it (from /proc, chat-support/processes.ts)

interface Owners {
  /** Root pid → group name; a process belongs to the group of its nearest listed ancestor. */
  roots: Map<number, string>;
  /** Postgres database name → group name (its backends, told apart by their process titles). */
  databases: Map<string, string>;
}

function cpuByGroup(before: CpuSnapshot, after: CpuSnapshot, owners: Owners): Map<string, number> {
  const used = new Map<string, number>();
  for (const [pid, entry] of after.table) {
    if (entry.kernel) continue;
    let group = 'other';
    if (entry.title !== undefined) {
      for (const [name, owner] of owners.databases) if (entry.title.includes(` ${name} `)) group = owner;
    } else {
      for (let current: number | undefined = pid, depth = 0; current !== undefined && current > 1 && depth < 64; depth += 1) {
        const owner = owners.roots.get(current);
        if (owner) {
          group = owner;
          break;
        }
        current = after.table.get(current)?.ppid;
      }
    }
    const delta = Math.max(0, entry.cpuMs - (before.table.get(pid)?.cpuMs ?? 0));
    used.set(group, (used.get(group) ?? 0) + delta);
  }
  return used;
}

// ---------------------------------------------------------------------------------------------
// wrk

interface WrkResult {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  checked: number;
  bad: number;
  first_bad: string;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
}

/** Runs wrk against a scenario; resolves with its WRK_JSON line. */
function runWrk(target: ChatScenario, expect: string[], connections: number, seconds: number): Promise<WrkResult> {
  const body = JSON.parse(target.body) as Record<string, unknown>;
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', WRK_SCRIPT, `${target.origin}${target.path}`], {
    env: {
      ...process.env,
      WRK_BODY: JSON.stringify(body),
      WRK_AUTH: target.headers.authorization!.replace(/^Bearer /, ''),
      WRK_EXPECT: expect.join('\n'),
      WRK_STREAM: target.stream ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (out += text));
  return new Promise((done, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((text) => text.startsWith('WRK_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk exited ${code}: ${out.slice(-1000)}`));
      done(JSON.parse(line.slice(9)) as WrkResult);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface Row {
  target: Target;
  connections: number;
  rounds: number;
  requests: number;
  seconds: number;
  /** CPU ms by group, summed over the rounds. */
  cpuMs: Map<string, number>;
  checked: number;
  bad: number;
  errors: number;
  firstBad?: string;
  /** Mean over the rounds, µs. */
  p50: number;
  p99: number;
}

interface Context {
  emulatorOrigin: string;
  emulatorPid: number;
  floor?: { pid: number; url: string };
  /** The gateway that uploads the floor's managed file. */
  uploader?: GatewayInstance;
  owners: Owners;
}

function scenarioId(target: Target): ScenarioId {
  if (target.variant === 'floor') return target.mode === 'stream' ? 'a_s' : 'a';
  if (target.variant === 'floorfile') return target.mode === 'stream' ? 'a_f_s' : 'a_f';
  if (target.variant === 'file') return target.mode === 'stream' ? 'c_s' : 'c';
  return target.mode === 'stream' ? 'b_s' : 'b';
}

/** Resets the emulator, uploads a managed file when needed, and checks one answer in full. */
async function prepare(context: Context, target: Target): Promise<{ built: ChatScenario; expect: string[] }> {
  await resetEmulator(context.emulatorOrigin);
  const gateway = target.gateway;
  // The floor's file is a managed upload through a gateway too: the same file, the same copy on the emulator.
  const uploader = target.variant === 'floorfile' ? context.uploader : gateway;
  const file =
    (target.variant === 'file' || target.variant === 'floorfile') && uploader
      ? await uploadManagedFile(uploader.process.url, uploader.virtualKey, uploader.postgres ?? uploader.scratch, uploader.postgres ? undefined : context.emulatorOrigin)
      : undefined;
  const userKey = target.variant === 'master' ? MASTER_KEY : (gateway?.virtualKey ?? '');
  const base = scenario(scenarioId(target), { emulatorOrigin: context.emulatorOrigin, gatewayOrigin: gateway?.process.url ?? '', userKey, ...(file ? { file } : {}) });
  const built: ChatScenario = isFloor(target.variant) ? { ...base, origin: context.floor!.url } : base;
  const response = await fetch(`${built.origin}${built.path}`, { method: 'POST', headers: built.headers, body: built.body });
  const text = await response.text();
  const problem = response.status === 200 ? built.check(response.status, text) : `HTTP ${response.status}: ${text.slice(0, 500)}`;
  if (problem) throw new Error(`${target.label}: ${problem}`);
  const expect = [target.mode === 'stream' ? '"chat.completion.chunk"' : '"chat.completion"', 'quarterly'];
  if (file) expect.push(file.providerFileId);
  return { built, expect };
}

async function measure(context: Context, target: Target, connections: number, seconds: number): Promise<{ wrk: WrkResult; cpuMs: Map<string, number> }> {
  const { built, expect } = await prepare(context, target);
  if (QUIET_WAIT_S > 0) {
    const other = await waitForQuietMachine({
      own: { emulators: context.emulatorPid, database: '-' },
      maxOtherPct: 15,
      timeoutMs: QUIET_WAIT_S * 1000,
      onWait: (pct) => log(`waiting for a quiet machine: other processes use ${pct.toFixed(0)} % of a core`),
    });
    if (other > 15) log(`machine busy (${other.toFixed(0)} % of a core used by others); measuring anyway`);
  }
  const before = cpuSnapshot();
  const wrk = await runWrk(built, expect, connections, seconds);
  // wrk has exited and been reaped by now: its CPU time is in this process's cutime/cstime
  // (group 'bench', idle otherwise while wrk runs).
  const cpuMs = cpuByGroup(before, cpuSnapshot(), context.owners);
  return { wrk, cpuMs };
}

// ---------------------------------------------------------------------------------------------
// Report

const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
const ms = (us: number) => (us / 1000).toFixed(2);

function rate(row: Row): number {
  return row.requests / row.seconds;
}
function usPerRequest(row: Row, group: string): number {
  return row.requests > 0 ? ((row.cpuMs.get(group) ?? 0) * 1000) / row.requests : Number.NaN;
}
function groupOf(target: Target): string {
  return isFloor(target.variant) ? 'floor' : `gateway:${target.build}:${target.database}`;
}
function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

interface Verdict {
  met: boolean;
  text: string;
}

function render(rows: Row[], meta: { command: string; commit: string; load: string; loadAfter: string; entry: string; baseline?: string }): { markdown: string; verdicts: Verdict[] } {
  const lines: string[] = [];
  const node = process.version;
  const wrkVersion = (() => {
    try {
      return execFileSync('wrk', ['-v'], { encoding: 'utf8' }).split('\n')[0]!.split(' ')[1] ?? '?';
    } catch (error) {
      return ((error as { stdout?: string }).stdout ?? '').split('\n')[0]?.split(' ')[1] ?? '?';
    }
  })();
  lines.push(
    `\`${meta.command}\` — commit ${meta.commit}${meta.baseline ? `, baseline ${meta.baseline}` : ''}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ` +
      `${cpus().length} cores, load average ${meta.load} before, ${meta.loadAfter} after; node ${node}, wrk ${wrkVersion} (1 thread); gateway: ${meta.entry}.`,
    '',
    `Every target calls the same upstream, the OpenAI emulator (\`unifile emulate\`), so the floor and the gateway pay the same upstream; ` +
      `the floor is \`bench/support/floor-proxy.mjs\` (node:http server + http.request keep-alive agent, body read whole, answer piped). ` +
      `${DURATION_S} s per measurement after ${WARMUP_S} s of warm-up per target${ROUNDS > 1 ? `, ${ROUNDS} rounds pooled (order reversed every other round)` : ''}; ` +
      'targets interleaved within each connection count. CPU µs per request from /proc: the gateway process (PGlite runs inside it), the Postgres backends of its database, the emulator. ' +
      '"× floor" compares with the floor in the same mode (JSON or stream), for a managed file with the floor sending the provider\'s file id (the emulator\'s answer then names the file: longer, more stream events); "× master" with the same gateway\'s master-key plain request in the same mode. Every answer is checked by wrk (status, echo, file copy id, `[DONE]`).',
    '',
  );
  const verdicts: Verdict[] = [];
  for (const connections of CONNECTIONS) {
    const here = rows.filter((row) => row.connections === connections);
    if (here.length === 0) continue;
    // A file reference is compared with the floor sending the provider's file id (the same, longer answer) when it was measured.
    const floorOf = (mode: Mode, variant?: Variant) =>
      (variant === 'file' ? here.find((row) => row.target.variant === 'floorfile' && row.target.mode === mode) : undefined) ??
      here.find((row) => row.target.variant === 'floor' && row.target.mode === mode);
    const masterOf = (target: Target) =>
      here.find((row) => row.target.variant === 'master' && row.target.mode === target.mode && row.target.database === target.database && row.target.build === target.build);
    const body = here.map((row) => {
      const { target } = row;
      const floor = floorOf(target.mode, target.variant);
      const master = isFloor(target.variant) ? undefined : masterOf(target);
      const group = groupOf(target);
      const cpu = usPerRequest(row, group);
      const floorCpu = floor ? usPerRequest(floor, 'floor') : Number.NaN;
      const masterCpu = master ? usPerRequest(master, groupOf(master.target)) : Number.NaN;
      const pg = target.gateway?.postgres ? usPerRequest(row, `postgres:${target.gateway.postgres.name}`) : Number.NaN;
      const failures = row.errors + row.bad;
      return [
        target.label,
        `**${int(rate(row))}**`,
        floor && !isFloor(target.variant) ? ratio(rate(row) / rate(floor)) : '–',
        master && target.variant !== 'master' ? ratio(rate(row) / rate(master)) : '–',
        `**${int(cpu)}**`,
        floor && !isFloor(target.variant) ? ratio(cpu / floorCpu) : '–',
        floor && !isFloor(target.variant) ? int(cpu - floorCpu) : '–',
        master && target.variant !== 'master' ? ratio(cpu / masterCpu) : '–',
        Number.isFinite(pg) ? int(pg) : '–',
        int(usPerRequest(row, 'emulator')),
        int(usPerRequest(row, 'bench')),
        `${ms(row.p50)} / ${ms(row.p99)}`,
        `${int(row.checked)}${failures ? ` (**${row.bad} bad, ${row.errors} errors**${row.firstBad ? `: ${row.firstBad.slice(0, 80)}` : ''})` : ''}`,
        `${int((100 * (row.cpuMs.get('other') ?? 0)) / (row.seconds * 1000))} %`,
      ];
    });
    lines.push(
      `### ${connections} connections`,
      '',
      table(
        ['target', 'req/s', '× floor', '× master', 'gateway CPU µs/req', 'CPU × floor', 'CPU above the floor µs/req', 'CPU × master', 'Postgres µs/req', 'emulator µs/req', 'wrk µs/req', 'p50 / p99 ms', 'answers checked', 'other processes (% of a core)'],
        body,
      ),
      '',
    );
    for (const row of here) {
      const { target } = row;
      if (isFloor(target.variant) || target.build !== 'current') continue;
      const floor = floorOf(target.mode, target.variant);
      const cpu = usPerRequest(row, groupOf(target));
      const clean = row.errors + row.bad === 0;
      const parts: string[] = [];
      let met = clean;
      if (floor) {
        const r = rate(row) / rate(floor);
        met &&= r >= TARGETS.floorRatio;
        parts.push(`${ratio(r)} ${floor.target.variant === 'floorfile' ? 'floor with the file id' : 'floor'} (≥ ${TARGETS.floorRatio})`);
      }
      met &&= cpu <= TARGETS.cpuUsPerRequest;
      parts.push(`${int(cpu)} µs/req (≤ ${TARGETS.cpuUsPerRequest})`);
      const master = target.variant === 'master' ? undefined : masterOf(target);
      if (master) {
        const r = rate(row) / rate(master);
        const c = cpu / usPerRequest(master, groupOf(master.target));
        met &&= r >= 1 - TARGETS.variantTolerance && c <= 1 + TARGETS.variantTolerance;
        parts.push(`${ratio(r)} master req/s, ${ratio(c)} master CPU (within 10 %)`);
      }
      verdicts.push({ met, text: `${connections} conns, ${target.label}: ${parts.join(', ')}${clean ? '' : ', with failed answers'} → ${met ? 'met' : '**missed**'}` });
    }
  }
  if (meta.baseline) {
    const pairs = rows.filter((row) => row.target.build === 'current' && !isFloor(row.target.variant));
    const pairRows = pairs.flatMap((row) => {
      const twin = rows.find((other) => other.target.build === 'baseline' && other.connections === row.connections && other.target.variant === row.target.variant && other.target.mode === row.target.mode && other.target.database === row.target.database);
      if (!twin) return [];
      const cpu = usPerRequest(row, groupOf(row.target));
      const cpuBase = usPerRequest(twin, groupOf(twin.target));
      return [[`${row.connections}`, row.target.label, int(cpuBase), int(cpu), ratio(cpu / cpuBase), int(rate(twin)), int(rate(row)), ratio(rate(row) / rate(twin))]];
    });
    lines.push('### This tree vs the baseline (each pair measured back to back)', '', table(['conns', 'target', 'baseline µs/req', 'this µs/req', 'CPU ratio', 'baseline req/s', 'this req/s', 'req/s ratio'], pairRows), '');
  }
  if (verdicts.length > 0) lines.push('### Targets (this tree)', '', ...verdicts.map((verdict) => `- ${verdict.text}`), '');
  return { markdown: lines.join('\n'), verdicts };
}

// ---------------------------------------------------------------------------------------------

function labelOf(variant: Variant, mode: Mode, database?: Database, build: Build = 'current'): string {
  const what = { floor: 'floor (node:http proxy)', floorfile: 'floor + provider file id', master: 'master key', virtual: 'virtual key', file: 'virtual key + managed file' }[variant];
  const where = database ? (database === 'pglite' ? ', embedded' : ', Postgres') : '';
  return `${what}${mode === 'stream' ? ', stream' : ''}${where}${build === 'baseline' ? ' (baseline)' : ''}`;
}

async function main(): Promise<void> {
  const { command, directory, cleanups, cleanup } = startBenchRun('unifile-bench-variants-');
  try {
    const load = loadavg().map((value) => value.toFixed(2)).join(' ');
    const build = gatewayBuild();
    let entry: CliEntry = 'bin';
    if (args.gateway === 'build' || (args.gateway === 'auto' && (build.mode !== 'dist' || build.stale.length > 0))) entry = privateBuild(join(directory, 'build'));
    const entryText = entry === 'bin' ? 'node bin/unifile.js (dist/)' : 'a private tsc build of src/';
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() + (execFileSync('git', ['status', '--porcelain', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() ? ' (+ uncommitted src changes)' : '');
    const baselineDir = args.baseline ? resolve(args.baseline) : undefined;
    const baselineCommit = baselineDir ? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: baselineDir, encoding: 'utf8' }).trim() : undefined;
    log(`gateway: ${entryText}${baselineDir ? `; baseline ${baselineDir} at ${baselineCommit}` : ''}`);

    const emulators = await startEmulators(entry);
    cleanups.push(() => emulators.stop());
    const emulatorOrigin = new URL(emulators.urls.openai!).origin;
    const owners: Owners = { roots: new Map([[emulators.pid, 'emulator'], [process.pid, 'bench']]), databases: new Map() };
    const context: Context = { emulatorOrigin, emulatorPid: emulators.pid, owners };
    if (VARIANTS.some(isFloor)) {
      const floor = await startFloor('node', emulatorOrigin, { stream: false });
      cleanups.push(() => floor.stop());
      owners.roots.set(floor.pid, 'floor');
      context.floor = floor;
    }

    const gatewayVariants = VARIANTS.filter((variant) => !isFloor(variant));
    const builds: Array<{ build: Build; entry: CliEntry }> = [...(baselineDir ? [{ build: 'baseline' as const, entry: { build: baselineDir } }] : []), { build: 'current', entry }];
    const gateways: GatewayInstance[] = [];
    if (gatewayVariants.length > 0 || VARIANTS.includes('floorfile')) {
      for (const { build: which, entry: gatewayEntry } of builds) {
        for (const database of DATABASES) {
          const scratch = await createBenchDatabase(args.postgres!);
          cleanups.push(() => scratch.drop());
          const configDirectory = join(directory, `${which}-${database}`);
          mkdirSync(configDirectory, { recursive: true });
          const configPath = writeGatewayConfig(configDirectory, { openaiApiBase: emulators.urls.openai!, databaseUrl: scratch.url, ...(database === 'pglite' ? { dataDir: join(configDirectory, 'pglite-data') } : {}) });
          const gatewayProcess = await startGateway({ configPath, entry: gatewayEntry });
          cleanups.push(() => gatewayProcess.stop());
          const virtualKey = await createUserKey(gatewayProcess.url);
          owners.roots.set(gatewayProcess.pid, `gateway:${which}:${database}`);
          if (database === 'postgres') owners.databases.set(scratch.name, `postgres:${scratch.name}`);
          gateways.push({ build: which, database, process: gatewayProcess, ...(database === 'postgres' ? { postgres: scratch } : {}), scratch, virtualKey });
          log(`gateway ${which} on ${database}: pid ${gatewayProcess.pid} at ${gatewayProcess.url}`);
        }
      }
    }

    const targets: Target[] = [];
    context.uploader = gateways.find((one) => one.build === 'current');
    for (const variant of ['floor', 'floorfile'] as const) {
      for (const mode of MODES) if (VARIANTS.includes(variant)) targets.push({ id: `${variant}-${mode}`, label: labelOf(variant, mode), variant, mode, build: 'current' });
    }
    for (const database of DATABASES) {
      for (const variant of gatewayVariants) {
        for (const mode of MODES) {
          for (const { build: which } of builds) {
            const gateway = gateways.find((one) => one.build === which && one.database === database)!;
            targets.push({ id: `${which}-${database}-${variant}-${mode}`, label: labelOf(variant, mode, database, which), variant, mode, build: which, database, gateway });
          }
        }
      }
    }
    log(`${targets.length} targets × ${CONNECTIONS.length} connection counts × ${ROUNDS} round(s), ${DURATION_S} s each`);

    const rows = new Map<string, Row>();
    const warmed = new Set<string>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const connections of CONNECTIONS) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order) {
          if (!warmed.has(target.id) && WARMUP_S > 0) {
            await measure(context, target, Math.max(...CONNECTIONS), WARMUP_S);
            warmed.add(target.id);
          }
          const { wrk, cpuMs } = await measure(context, target, connections, DURATION_S);
          const key = `${target.id}@${connections}`;
          const row: Row = rows.get(key) ?? { target, connections, rounds: 0, requests: 0, seconds: 0, cpuMs: new Map(), checked: 0, bad: 0, errors: 0, p50: 0, p99: 0 };
          row.rounds += 1;
          row.requests += wrk.requests;
          row.seconds += wrk.duration_us / 1e6;
          for (const [group, value] of cpuMs) row.cpuMs.set(group, (row.cpuMs.get(group) ?? 0) + value);
          row.checked += wrk.checked;
          row.bad += wrk.bad;
          row.errors += wrk.connect + wrk.read + wrk.write + wrk.timeout;
          if (wrk.first_bad && !row.firstBad) row.firstBad = wrk.first_bad;
          row.p50 += (wrk.p50_us - row.p50) / row.rounds;
          row.p99 += (wrk.p99_us - row.p99) / row.rounds;
          rows.set(key, row);
          const cpu = ((cpuMs.get(groupOf(target)) ?? 0) * 1000) / Math.max(1, wrk.requests);
          log(`${connections} conns ${target.label}: ${int(wrk.requests / (wrk.duration_us / 1e6))} req/s, ${int(cpu)} µs/req${wrk.bad || wrk.status ? `, ${wrk.bad} bad answers` : ''}`);
        }
      }
    }

    const loadAfter = loadavg().map((value) => value.toFixed(2)).join(' ');
    const rendered = render([...rows.values()], { command, commit, load, loadAfter, entry: entryText, ...(baselineDir ? { baseline: `${baselineDir} at ${baselineCommit}` } : {}) });
    process.stdout.write(`\n${SECTION.heading}\n\n${rendered.markdown}\n`);
    if (args.json) {
      writeFileSync(
        args.json,
        JSON.stringify(
          [...rows.values()].map((row) => ({ ...row, target: { ...row.target, gateway: undefined }, cpuMs: Object.fromEntries(row.cpuMs) })),
          null,
          2,
        ),
      );
    }
    if (!args['no-write']) {
      writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), rendered.markdown, SECTION);
      log('BENCHMARKS.md section written');
    }
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`chat-variants failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
