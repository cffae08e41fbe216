/**
 * Chat completions benchmark: the latency the gateway adds to a non-streaming chat completion
 * at a fixed request rate, and the most requests per second it serves.
 *
 *   node --import tsx bench/chat-latency.ts [--rate 1000] [--duration 15] [--warmup 3]
 *        [--connections 50] [--profile auto|on|off] [--no-write] [--json FILE]   (--help: all options)
 *
 * Processes, all on loopback: the emulators (`node bin/unifile.js emulate`), the gateway
 * (`node bin/unifile.js --config …`, UNIFILE_LOG_LEVEL=warn) on a fresh Postgres database
 * (created on --postgres, dropped at the end), and this process as the load generator. When the
 * dist/ build is older than src/, both run from the sources through tsx instead (--gateway).
 * Before each measurement it waits for other processes to go quiet, and repeats a measurement
 * that they disturbed (--retries).
 *
 * 1. Fixed rate (open loop, wrk2-style, chat-support/fixed-rate.ts): --rate req/s for
 *    --duration s per scenario: (a) direct to the emulator, (a·f) direct with the provider
 *    file id, (b) through the gateway, (c) through the gateway with a managed file, and the
 *    stream:true pair (a·s)/(b·s). Added latency = gateway − direct, per percentile.
 * 2. Max throughput: autocannon, unthrottled, --connections, for (a), (b), (c).
 * 3. When a target is missed (or --profile on): the gateway again under `node --cpu-prof`,
 *    loaded by autocannon for (b), (c) and (b·s), and its hot spots listed.
 *
 * Every answer of the fixed-rate runs is checked (status, echo of the prompt, the file copy's id
 * for (c)); autocannon runs check every 25th answer. Writes its section of BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAutocannon, type AutocannonRun } from './chat-support/autocannon-run.ts';
import { writeSection } from './chat-support/benchmarks-md.ts';
import { summarizeCpuProfile, type ProfileSummary } from './chat-support/cpu-profile.ts';
import { createPool, poolResults, runFixedRate, type ChatScenario, type FixedRateResult } from './chat-support/fixed-rate.ts';
import {
  cpuSnapshot,
  cpuUsage,
  gatewayBuild,
  privateBuild,
  REPO_ROOT,
  startEmulators,
  startGateway,
  waitForQuietMachine,
  type CpuUsage,
  type EmulatorsProcess,
  type GatewayProcess,
  type CliEntry,
  type OwnProcesses,
} from './chat-support/processes.ts';
import {
  createBenchDatabase,
  createUserKey,
  MASTER_KEY,
  needsFile,
  resetEmulator,
  scenario,
  SCENARIO_LABELS,
  uploadManagedFile,
  writeGatewayConfig,
  type BenchDatabase,
  type ManagedFile,
  type ScenarioId,
} from './chat-support/setup.ts';
import { log, startBenchRun } from './chat-support/bench-run.ts';

const TARGETS = { addedP50Ms: 1, addedP99Ms: 5, gatewayRps: 4000 };

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    'rate-connections': { type: 'string', default: '64' },
    postgres: { type: 'string', default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    profile: { type: 'string', default: 'auto' },
    'profile-duration': { type: 'string', default: '10' },
    phases: { type: 'string', default: 'fixed,compare,max,profile' },
    scenarios: { type: 'string', default: 'a,b,a_f,c,a_s,b_s' },
    'skip-autocannon-rate': { type: 'boolean', default: false },
    'quiet-wait': { type: 'string', default: '600' },
    retries: { type: 'string', default: '2' },
    gateway: { type: 'string', default: 'auto' },
    key: { type: 'string', default: 'virtual' },
    database: { type: 'string', default: 'postgres' },
    rounds: { type: 'string', default: '1' },
    'no-write': { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'node --import tsx bench/chat-latency.ts [--rate 1000] [--duration 15] [--warmup 3] [--connections 50] [--rate-connections 64]\n' +
      '  [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--profile auto|on|off] [--profile-duration 10]\n' +
      '  [--phases fixed,compare,max,profile] [--scenarios a,b,a_f,c,a_s,b_s] [--skip-autocannon-rate] [--quiet-wait 600] [--retries 2]\n' +
      '  [--gateway auto|bin|src|build] [--key virtual|master] [--database postgres|pglite] [--rounds 1] [--no-write] [--json FILE]\n' +
      '  --key: the gateway scenarios use a virtual key of a user (default) or the master key\n' +
      '  --database: the gateway on a fresh Postgres database (default) or on embedded PGlite in a temp data_dir\n' +
      '  --rounds: the fixed-rate scenarios are run this many times (interleaved); tables pool all rounds\n' +
      '  --gateway: bin = node bin/unifile.js (runs dist/ when built); src = node --import tsx src/cli.ts;\n' +
      '             build = a private tsc build of src/ (tsconfig.build.json) in a temp dir; auto = bin, or build when dist/ is older than src/\n',
  );
  process.exit(0);
}
const RATE = Number(args.rate);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const RATE_CONNECTIONS = Number(args['rate-connections']);
const PROFILE_S = Number(args['profile-duration']);
const QUIET_WAIT_S = Number(args['quiet-wait']);
/** A measurement disturbed by other processes is repeated up to this many times. */
const RETRIES = Number(args.retries);
const ROUNDS = Number(args.rounds);
/** Other processes above this share of one core during a measurement make the numbers suspect. */
const OTHER_CPU_LIMIT_PCT = 15;
if (![RATE, DURATION_S, CONNECTIONS, RATE_CONNECTIONS, PROFILE_S, ROUNDS].every((value) => Number.isFinite(value) && value > 0) || !(WARMUP_S >= 0)) {
  throw new Error('--rate, --duration, --connections, --rate-connections and --profile-duration must be positive numbers');
}
if (!['auto', 'on', 'off'].includes(args.profile!)) throw new Error('--profile is auto, on or off');
if (!['auto', 'bin', 'src', 'build'].includes(args.gateway!)) throw new Error('--gateway is auto, bin, src or build');
if (!['virtual', 'master'].includes(args.key!)) throw new Error('--key is virtual or master');
if (!['postgres', 'pglite'].includes(args.database!)) throw new Error('--database is postgres or pglite');
const EMBEDDED = args.database === 'pglite';
const PHASES = new Set(args.phases!.split(',').map((phase) => phase.trim()));
if (args['skip-autocannon-rate']) PHASES.delete('compare');
const SCENARIOS = new Set(args.scenarios!.split(',').map((id) => id.trim()));
for (const id of SCENARIOS) if (!(id in SCENARIO_LABELS)) throw new Error(`unknown scenario '${id}'`);
const wanted = <T extends string>(ids: readonly T[]) => ids.filter((id) => SCENARIOS.has(id));
for (const phase of PHASES) if (!['fixed', 'compare', 'max', 'profile'].includes(phase)) throw new Error(`unknown phase '${phase}'`);


interface FixedRateRow {
  /** All rounds pooled. */
  result: FixedRateResult;
  /** Mean over the rounds. */
  cpu: CpuUsage;
  rounds: Array<{ result: FixedRateResult; cpu: CpuUsage }>;
}

function poolRows(rounds: Array<{ result: FixedRateResult; cpu: CpuUsage }>): FixedRateRow {
  const mean = (pick: (cpu: CpuUsage) => number | undefined) => {
    const values = rounds.map(({ cpu }) => pick(cpu)).filter((value): value is number => value !== undefined);
    return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : Number.NaN;
  };
  const perRequest = mean((cpu) => cpu.gatewayCpuMsPerRequest);
  return {
    result: poolResults(rounds.map(({ result }) => result)),
    cpu: {
      gatewayPct: mean((cpu) => cpu.gatewayPct),
      emulatorsPct: mean((cpu) => cpu.emulatorsPct),
      loadGeneratorPct: mean((cpu) => cpu.loadGeneratorPct),
      postgresPct: mean((cpu) => cpu.postgresPct),
      otherPct: mean((cpu) => cpu.otherPct),
      machinePct: mean((cpu) => cpu.machinePct),
      stealPct: mean((cpu) => cpu.stealPct),
      ...(Number.isFinite(perRequest) ? { gatewayCpuMsPerRequest: perRequest } : {}),
    },
    rounds,
  };
}
interface ThroughputRow {
  run: AutocannonRun;
  cpu: CpuUsage;
}
interface ProfileRow {
  scenario: ScenarioId;
  requestsPerSecond: number;
  summary: ProfileSummary;
  file: string;
}

interface Context {
  entry: CliEntry;
  emulators: EmulatorsProcess;
  emulatorOrigin: string;
  gateway: GatewayProcess;
  database: BenchDatabase;
  userKey: string;
  file?: ManagedFile;
}

/** Resets the emulator (its call log grows with every request) and, when needed, uploads a fresh managed file. */
async function prepare(context: Context, id: ScenarioId): Promise<ChatScenario> {
  if (QUIET_WAIT_S > 0) {
    const other = await waitForQuietMachine({
      own: own(context),
      maxOtherPct: OTHER_CPU_LIMIT_PCT,
      timeoutMs: QUIET_WAIT_S * 1000,
      onWait: (otherPct) => log(`waiting for a quiet machine: other processes use ${otherPct.toFixed(0)} % of a core`),
    });
    if (other > OTHER_CPU_LIMIT_PCT) log(`machine still busy (${other.toFixed(0)} % of a core used by others); measuring anyway`);
  }
  await resetEmulator(context.emulatorOrigin);
  context.file = needsFile(id) ? await uploadManagedFile(context.gateway.url, context.userKey, context.database, EMBEDDED ? context.emulatorOrigin : undefined) : undefined;
  const built = scenario(id, { emulatorOrigin: context.emulatorOrigin, gatewayOrigin: context.gateway.url, userKey: context.userKey, file: context.file });
  await verifyOnce(built);
  return built;
}

/** One request before measuring: a wrong setup fails here, not as a table of errors. */
async function verifyOnce(target: ChatScenario): Promise<void> {
  const response = await fetch(`${target.origin}${target.path}`, { method: 'POST', headers: target.headers, body: target.body });
  const text = await response.text();
  const problem = response.status === 200 ? target.check(response.status, text) : `HTTP ${response.status}: ${text.slice(0, 500)}`;
  if (problem) throw new Error(`${target.label}: ${problem}`);
}

function own(context: Context): OwnProcesses {
  return { gateway: context.gateway.pid, emulators: context.emulators.pid, database: context.database.name };
}

/** Runs `measure` again (up to RETRIES times) while other processes disturbed it. */
async function undisturbed<T extends { cpu: CpuUsage }>(what: string, measure: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    const row = await measure();
    if (row.cpu.otherPct <= OTHER_CPU_LIMIT_PCT || attempt >= RETRIES) return row;
    log(`${what}: other processes used ${row.cpu.otherPct.toFixed(0)} % of a core meanwhile; measuring again`);
  }
}

async function fixedRate(context: Context, id: ScenarioId): Promise<{ result: FixedRateResult; cpu: CpuUsage }> {
  return undisturbed(`fixed ${id}`, () => fixedRateOnce(context, id));
}

async function fixedRateOnce(context: Context, id: ScenarioId): Promise<{ result: FixedRateResult; cpu: CpuUsage }> {
  const target = await prepare(context, id);
  const pool = createPool(target.origin, RATE_CONNECTIONS);
  try {
    if (WARMUP_S > 0) await runFixedRate({ scenario: target, pool, rate: RATE, durationMs: WARMUP_S * 1000 });
    const before = cpuSnapshot();
    const result = await runFixedRate({ scenario: target, pool, rate: RATE, durationMs: DURATION_S * 1000 });
    const cpu = cpuUsage(before, cpuSnapshot(), own(context), id.startsWith('a') ? undefined : result.completed);
    log(
      `fixed ${id}: ${result.completed}/${result.sent} done, p50 ${ms(result.service.p50)} p90 ${ms(result.service.p90)} p99 ${ms(result.service.p99)} ms` +
        `, non-2xx ${result.non2xx}, errors ${result.errors}, check failures ${result.checkFailures}${result.firstFailure ? ` (${result.firstFailure})` : ''}`,
    );
    return { result, cpu };
  } finally {
    await pool.close();
  }
}

async function throughput(context: Context, id: ScenarioId, overallRate?: number): Promise<ThroughputRow> {
  return undisturbed(`${overallRate ? 'autocannon overallRate' : 'throughput'} ${id}`, () => throughputOnce(context, id, overallRate));
}

async function throughputOnce(context: Context, id: ScenarioId, overallRate?: number): Promise<ThroughputRow> {
  const target = await prepare(context, id);
  const connections = overallRate ? 10 : CONNECTIONS;
  const durationS = overallRate ? Math.min(DURATION_S, 10) : DURATION_S;
  if (WARMUP_S > 0) await runAutocannon({ scenario: target, connections, durationS: WARMUP_S, overallRate });
  const before = cpuSnapshot();
  const run = await runAutocannon({ scenario: target, connections, durationS, overallRate });
  const cpu = cpuUsage(before, cpuSnapshot(), own(context), id.startsWith('a') ? undefined : run.completed);
  log(
    `${overallRate ? `autocannon overallRate=${overallRate}` : 'throughput'} ${id}: ${run.requestsPerSecond.toFixed(0)} req/s, non-2xx ${run.non2xx}, errors ${run.errors}, ` +
      `checks ${run.checked - run.checkFailures}/${run.checked}${run.firstFailure ? ` (${run.firstFailure})` : ''}`,
  );
  return { run, cpu };
}

async function profileGateway(context: Context, configPath: string, directory: string, id: ScenarioId): Promise<ProfileRow> {
  // One directory per run: tsx's loader runs in its own thread, which writes its own profile
  // (a fixed --cpu-prof-name would let the two overwrite each other); the main thread's is the largest.
  const profileDirectory = join(directory, id);
  mkdirSync(profileDirectory);
  const spawnedAt = performance.now();
  const gateway = await startGateway({ configPath, entry: context.entry, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDirectory] });
  const profiled: Context = { ...context, gateway };
  try {
    const target = await prepare(profiled, id);
    await runAutocannon({ scenario: target, connections: CONNECTIONS, durationS: Math.max(WARMUP_S, 2) });
    const from = performance.now() - spawnedAt;
    const run = await runAutocannon({ scenario: target, connections: CONNECTIONS, durationS: PROFILE_S });
    const to = performance.now() - spawnedAt;
    await gateway.stop();
    const file = readdirSync(profileDirectory)
      .map((entry) => join(profileDirectory, entry))
      .sort((x, y) => statSync(y).size - statSync(x).size)[0];
    if (!file) throw new Error(`no CPU profile written in ${profileDirectory}`);
    const distRoot = typeof context.entry === 'object' ? join(context.entry.build, 'dist') : undefined;
    const summary = summarizeCpuProfile(file, REPO_ROOT, { fromMs: from, toMs: to, ...(distRoot ? { distRoot } : {}) });
    log(`profile ${id}: ${run.requestsPerSecond.toFixed(0)} req/s under --cpu-prof, ${summary.busyMs.toFixed(0)} ms busy of ${summary.wallMs.toFixed(0)} ms`);
    return { scenario: id, requestsPerSecond: run.requestsPerSecond, summary, file };
  } finally {
    await gateway.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

function describeEntry(entry: CliEntry, build: ReturnType<typeof gatewayBuild>): string {
  const stale = build.stale.length > 0 ? `dist/ is older than ${build.stale.join(', ')}` : '';
  if (typeof entry === 'object') {
    return `a private tsc build of the current src/ (tsconfig.build.json, into a temp dir; same as \`npm run build\`)${stale ? `, because ${stale}` : ''}; emulators from the same build`;
  }
  if (entry === 'src') return `src/ through tsx (\`node --import tsx src/cli.ts\`, what bin/unifile.js runs without a build)${stale ? `; ${stale}` : ''}`;
  if (build.mode === 'tsx') return '`node bin/unifile.js`, which runs src/ through tsx (no dist/ build present)';
  return `\`node bin/unifile.js\`, which runs the dist/ build${stale ? `, **older than its sources**: ${stale}` : ', up to date with src/'}`;
}

/** `commit <short sha>`, plus "+ uncommitted changes in src/" when the work tree differs. */
function git(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
    return `commit ${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}
function signed(value: number): string {
  return `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))}`;
}
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const pct = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} %` : '–');
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

function cpuCell(cpu: CpuUsage): string {
  return `${pct(cpu.gatewayPct)} / ${pct(cpu.emulatorsPct)} / ${pct(cpu.loadGeneratorPct)} / ${pct(cpu.postgresPct)} / ${pct(cpu.otherPct)} / ${pct(cpu.machinePct)} / ${pct(cpu.stealPct)}`;
}

interface Verdict {
  text: string;
  met: boolean;
}

function render(input: {
  fixed: Map<ScenarioId, FixedRateRow>;
  acRate: Map<ScenarioId, ThroughputRow>;
  max: Map<ScenarioId, ThroughputRow>;
  profiles: ProfileRow[];
  database: BenchDatabase;
  command: string;
  build: ReturnType<typeof gatewayBuild>;
  entry: CliEntry;
}): { markdown: string; verdicts: Verdict[] } {
  const { fixed, acRate, max, profiles } = input;
  const lines: string[] = [];
  const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
  lines.push(
    `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `- Machine: ${availableParallelism()} cores (nproc), ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}; Postgres ${input.database.serverVersion}`,
    `- Command: \`${input.command}\``,
    `- Gateway code (${git()}): ${describeEntry(input.entry, input.build)}`,
    `- Processes (all on this machine, loopback): emulators \`unifile emulate\`; gateway \`unifile --config <generated> --port <free>\` with ` +
      (EMBEDDED
        ? '`UNIFILE_LOG_LEVEL=warn`, `general_settings.data_dir` = a fresh embedded PGlite database in a temp folder; this script as load generator. '
        : '`UNIFILE_LOG_LEVEL=warn`, `general_settings.database_url` = a fresh database `unifile_bench_chat_<random>` (dropped afterwards); this script as load generator. ') +
      `Config: one model \`gpt-4o-mini-openai\` → the OpenAI emulator; gateway requests with ${args.key === 'master' ? 'the master key' : 'one user key from `POST /user/new`'}; one managed file uploaded with \`target_model_names\` ` +
      '(re-uploaded whenever the emulator is reset, which happens before every scenario to empty its call log).',
    '',
  );

  // Fixed rate.
  if (fixed.size > 0) lines.push(
    `### 1. Fixed rate: ${int(RATE)} req/s, ${DURATION_S} s per scenario${ROUNDS > 1 ? ` × ${ROUNDS} rounds (interleaved, pooled)` : ''} (after ${WARMUP_S} s warm-up)`,
    '',
    'Open-loop generator (bench/chat-support/fixed-rate.ts, wrk2-style: request *i* is due at start + *i*/rate regardless of earlier answers), ' +
      `undici pool of up to ${RATE_CONNECTIONS} keep-alive connections. Latency = request handed to the pool → last byte of the body, exact (no histogram buckets), ms. ` +
      '"from due" measures from the moment the request was scheduled instead (coordinated-omission-free; adds the generator\'s own timer lateness, shown as "sender lag p99"). ' +
      'Every answer is checked: status 200, the echo of the prompt, and for file scenarios the provider copy id in place of the unified id.',
    '',
  );
  const perRound = (row: FixedRateRow, pick: (result: FixedRateResult) => number) => row.rounds.map(({ result }) => ms(pick(result))).join(', ');
  const fixedRows = [...fixed.values()].map((row) => [row, row.result, row.cpu] as const).map(([row, result, cpu]) => [
    SCENARIO_LABELS[result.scenario as ScenarioId],
    int(result.achievedRate),
    `${int(result.completed)} / ${int(result.sent)}`,
    `${result.non2xx} / ${result.errors} / ${result.checkFailures}`,
    ms(result.service.p50),
    ms(result.service.p90),
    ms(result.service.p99),
    ms(result.service.p999),
    ms(result.service.max),
    `${ms(result.fromIntended.p50)} / ${ms(result.fromIntended.p99)}`,
    ms(result.senderLag.p99),
    result.scenario.startsWith('a') ? '–' : pct(cpu.gatewayPct),
    `${pct(cpu.otherPct)} / ${pct(cpu.stealPct)}`,
    ...(ROUNDS > 1 ? [perRound(row, (one) => one.service.p99)] : []),
  ]);
  if (fixed.size > 0) lines.push(
    table(
      [
        'scenario',
        'req/s',
        'completed / sent',
        'non-2xx / errors / bad answers',
        'p50',
        'p90',
        'p99',
        'p99.9',
        'max',
        'from due p50 / p99',
        'sender lag p99',
        'gateway CPU',
        'other processes / steal',
        ...(ROUNDS > 1 ? ['p99 of each round'] : []),
      ],
      fixedRows,
    ),
    '',
  );

  const verdicts: Verdict[] = [];
  const addedRows: string[][] = [];
  const added = (label: string, gatewayId: ScenarioId, directId: ScenarioId, judged: boolean) => {
    const gatewayRow = fixed.get(gatewayId);
    const directRow = fixed.get(directId);
    if (!gatewayRow || !directRow) return;
    const gateway = gatewayRow.result;
    const direct = directRow.result;
    const roundsAdded = gatewayRow.rounds.map((round, index) => {
      const other = directRow.rounds[index];
      return other ? `${signed(round.result.service.p50 - other.result.service.p50)} / ${signed(round.result.service.p99 - other.result.service.p99)}` : '–';
    });
    const p50 = gateway.service.p50 - direct.service.p50;
    const p90 = gateway.service.p90 - direct.service.p90;
    const p99 = gateway.service.p99 - direct.service.p99;
    const due99 = gateway.fromIntended.p99 - direct.fromIntended.p99;
    const clean = gateway.non2xx + gateway.errors + gateway.checkFailures === 0;
    const disturbed = gatewayRow.cpu.otherPct > OTHER_CPU_LIMIT_PCT || directRow.cpu.otherPct > OTHER_CPU_LIMIT_PCT;
    const met = p50 <= TARGETS.addedP50Ms && p99 <= TARGETS.addedP99Ms && clean && !disturbed;
    const outcome = disturbed ? '**inconclusive** (other processes busy)' : met ? 'met' : '**missed**';
    addedRows.push([
      label,
      signed(p50),
      signed(p90),
      signed(p99),
      signed(due99),
      ...(ROUNDS > 1 ? [roundsAdded.join('; ')] : []),
      judged ? outcome : 'not a target',
    ]);
    if (judged) {
      verdicts.push({
        met,
        text: `${label}: added p50 ${signed(p50)} ms (target ≤ ${TARGETS.addedP50Ms}), p99 ${signed(p99)} ms (target ≤ ${TARGETS.addedP99Ms})${clean ? '' : ', with failed requests'} → ${outcome}`,
      });
    }
  };
  added('(b) − (a): gateway, no file', 'b', 'a', true);
  added('(c) − (a·f): gateway, managed file', 'c', 'a_f', true);
  added('(c) − (a): managed file vs plain direct', 'c', 'a', false);
  added('(b·s) − (a·s): stream, whole SSE response', 'b_s', 'a_s', false);
  const streamGateway = fixed.get('b_s')?.result;
  const streamDirect = fixed.get('a_s')?.result;
  if (addedRows.length > 0) lines.push(
    `Added by the gateway (gateway − direct, same percentile, ms${ROUNDS > 1 ? '; pooled over the rounds, then p50 / p99 of each round on its own' : ''}):`,
    '',
    table(['comparison', 'p50', 'p90', 'p99', 'p99 from due', ...(ROUNDS > 1 ? ['each round: p50 / p99'] : []), 'target (≤ 1 ms p50, ≤ 5 ms p99)'], addedRows),
    '',
  );
  if (streamGateway && streamDirect) {
    lines.push(
      `Streams: time to response headers p50/p99 ${ms(streamDirect.headers.p50)}/${ms(streamDirect.headers.p99)} ms direct, ` +
        `${ms(streamGateway.headers.p50)}/${ms(streamGateway.headers.p99)} ms through the gateway; the table above is to the end of \`data: [DONE]\`.`,
      '',
    );
  }

  // autocannon overallRate, for comparison.
  if (acRate.size > 0) {
    lines.push(
      `For comparison, autocannon with \`overallRate: ${RATE}\` (10 connections, whole-millisecond histogram; its default coordinated-omission correction on):`,
      '',
      table(
        ['scenario', 'req/s', 'non-2xx / errors', 'p50', 'p90', 'p99', 'max'],
        [...acRate.values()].map(({ run }) => [
          SCENARIO_LABELS[run.scenario as ScenarioId],
          int(run.requestsPerSecond),
          `${run.non2xx} / ${run.errors + run.timeouts}`,
          String(run.latencyMs.p50),
          String(run.latencyMs.p90),
          String(run.latencyMs.p99),
          String(run.latencyMs.max),
        ]),
      ),
      '',
      "autocannon's `overallRate` is not a paced rate: each connection sends its share of the second back to back and then idles until the next 1-second tick " +
        '(node_modules/autocannon/lib/httpClient.js), so the load is a burst at the top of every second; its latency histogram floors to whole milliseconds. ' +
        'Hence the open-loop generator above for the latency targets.',
      '',
    );
  }

  // Throughput.
  if (max.size > 0) lines.push(
    `### 2. Max throughput: autocannon, unthrottled, ${CONNECTIONS} connections, ${DURATION_S} s per scenario (after ${WARMUP_S} s warm-up)`,
    '',
    table(
      ['scenario', 'req/s', 'completed', 'non-2xx / errors / timeouts', 'answers checked (bad)', 'latency p50 / p99 (whole ms)', 'CPU: gateway / emulators / load gen / postgres / other / machine / steal', 'gateway CPU ms per request'],
      [...max.values()].map(({ run, cpu }) => [
        SCENARIO_LABELS[run.scenario as ScenarioId],
        `**${int(run.requestsPerSecond)}**`,
        int(run.completed),
        `${run.non2xx} / ${run.errors} / ${run.timeouts}`,
        `${int(run.checked)} (${run.checkFailures})`,
        `${run.latencyMs.p50} / ${run.latencyMs.p99}`,
        cpuCell(cpu),
        cpu.gatewayCpuMsPerRequest === undefined ? '–' : cpu.gatewayCpuMsPerRequest.toFixed(3),
      ]),
    ),
    '',
    'CPU columns are percent of one core over the measured run (machine and steal: percent of all cores; other: processes outside this benchmark; steal: time the hypervisor gave the CPUs of this VM to someone else). On this machine the emulator, the load generator and Postgres share ' +
      'the cores with the gateway, so gateway req/s is bounded by the box, not only by the gateway; "gateway CPU ms per request" is the gateway-only cost ' +
      '(1000 / that = req/s one core could serve if the gateway had it to itself).',
    '',
  );
  for (const id of ['b', 'c'] as const) {
    const row = max.get(id);
    if (!row) continue;
    const clean = row.run.non2xx + row.run.errors + row.run.timeouts + row.run.checkFailures === 0;
    const disturbed = row.cpu.otherPct > OTHER_CPU_LIMIT_PCT;
    const met = row.run.requestsPerSecond >= TARGETS.gatewayRps && clean && !disturbed;
    const perCore = row.cpu.gatewayCpuMsPerRequest ? `; gateway CPU ${row.cpu.gatewayCpuMsPerRequest.toFixed(3)} ms/request ≈ ${int(1000 / row.cpu.gatewayCpuMsPerRequest)} req/s per core` : '';
    verdicts.push({
      met,
      text: `${SCENARIO_LABELS[id]}: ${int(row.run.requestsPerSecond)} req/s (target ≥ ${int(TARGETS.gatewayRps)})${clean ? '' : ', with failed requests'}${perCore} → ${disturbed ? '**inconclusive** (other processes busy)' : met ? 'met' : '**missed**'}`,
    });
  }

  const busy = [
    ...[...fixed.values()].map(({ result, cpu }) => ({ what: `fixed rate ${SCENARIO_LABELS[result.scenario as ScenarioId]}`, cpu })),
    ...[...acRate.values(), ...max.values()].map(({ run, cpu }) => ({ what: `${run.overallRate ? 'autocannon overallRate' : 'throughput'} ${SCENARIO_LABELS[run.scenario as ScenarioId]}`, cpu })),
  ].filter(({ cpu }) => cpu.otherPct > OTHER_CPU_LIMIT_PCT);
  if (busy.length > 0) {
    lines.push(
      `**Caution:** other processes on the machine used more than ${OTHER_CPU_LIMIT_PCT} % of a core during: ` +
        busy.map(({ what, cpu }) => `${what} (${pct(cpu.otherPct)})`).join('; ') + '. Those rows are disturbed; run again on a quiet machine.',
      '',
    );
  }
  lines.push('### Targets', '', ...verdicts.map((verdict) => `- ${verdict.text}`), '');

  if (profiles.length > 0) {
    lines.push(
      '### 3. Where the gateway spends its CPU (`node --cpu-prof`)',
      '',
      `A separate gateway process started with \`--cpu-prof\`, loaded by autocannon (${CONNECTIONS} connections) for ${PROFILE_S} s after a warm-up; only samples from the measured window count. ` +
        'Project frames are placed in src/*.ts (from dist/ by function name or line text, from tsx by its source maps; see bench/chat-support/cpu-profile.ts). "% busy" = share of the non-idle samples. ' +
        'Inclusive time of an async function covers only the synchronous stretches V8 attributes to it (after an `await` the caller is not on the stack).',
      '',
    );
    for (const profile of profiles) {
      const { summary } = profile;
      lines.push(
        `**${SCENARIO_LABELS[profile.scenario]}** — ${int(profile.requestsPerSecond)} req/s while profiled; busy ${pct((100 * summary.busyMs) / summary.wallMs)} of the window.`,
        '',
        'Self time by area: ' + summary.byArea.slice(0, 10).map((area) => `${area.area} ${area.percent.toFixed(1)} %`).join(', ') + '.',
        '',
        table(
          ['top self time', '% busy', 'where'],
          summary.topSelf.slice(0, 12).map((spot) => [`\`${spot.name}\``, spot.percent.toFixed(1), `\`${spot.location}\``]),
        ),
        '',
        table(
          ['V8/Node runtime time (writev, streams, timers…), by the first package or project frame that called it', '% busy', 'where'],
          summary.runtimeByCaller.slice(0, 8).map((spot) => [`\`${spot.name}\``, spot.percent.toFixed(1), `\`${spot.location}\``]),
        ),
        '',
        table(
          ['project function (inclusive)', '% busy', 'where'],
          summary.topInclusive.slice(0, 12).map((spot) => [`\`${spot.name}\``, spot.percent.toFixed(1), `\`${spot.location}\``]),
        ),
        '',
      );
    }
  }
  return { markdown: lines.join('\n'), verdicts };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { command, directory, cleanups, cleanup } = startBenchRun('unifile-bench-chat-');
  try {
    const build = gatewayBuild();
    let entry: CliEntry = args.gateway === 'src' ? 'src' : 'bin';
    if (args.gateway === 'build' || (args.gateway === 'auto' && build.mode === 'dist' && build.stale.length > 0)) {
      try {
        entry = privateBuild(join(directory, 'build'));
      } catch (error) {
        log(`private build failed (${(error as Error).message.split('\n')[0]}); running the sources through tsx`);
        entry = 'src';
      }
    }
    log(`gateway code: ${describeEntry(entry, build)}`);
    const database = await createBenchDatabase(args.postgres!);
    cleanups.push(() => database.drop());
    log(`database ${database.name} (Postgres ${database.serverVersion})`);
    const emulators = await startEmulators(entry);
    cleanups.push(() => emulators.stop());
    const emulatorOrigin = new URL(emulators.urls.openai!).origin;
    const configPath = writeGatewayConfig(directory, { openaiApiBase: emulators.urls.openai!, databaseUrl: database.url, ...(EMBEDDED ? { dataDir: join(directory, 'pglite-data') } : {}) });
    if (EMBEDDED) log(`gateway database: embedded PGlite in ${join(directory, 'pglite-data')} (the Postgres database above stays unused)`);
    let gateway = await startGateway({ configPath, entry });
    cleanups.push(() => gateway.stop());
    const userKey = args.key === 'master' ? MASTER_KEY : await createUserKey(gateway.url);
    const context: Context = { entry, emulators, emulatorOrigin, gateway, database, userKey };
    log(`emulators pid ${emulators.pid} at ${emulatorOrigin}, gateway pid ${gateway.pid} at ${gateway.url}`);

    const fixed = new Map<ScenarioId, FixedRateRow>();
    if (PHASES.has('fixed')) {
      const rounds = new Map<ScenarioId, Array<{ result: FixedRateResult; cpu: CpuUsage }>>();
      for (let round = 1; round <= ROUNDS; round += 1) {
        if (ROUNDS > 1) log(`fixed-rate round ${round} of ${ROUNDS}`);
        for (const id of wanted(['a', 'b', 'a_f', 'c', 'a_s', 'b_s'] as const)) {
          const list = rounds.get(id) ?? [];
          list.push(await fixedRate(context, id));
          rounds.set(id, list);
        }
      }
      for (const [id, list] of rounds) fixed.set(id, poolRows(list));
    }
    const acRate = new Map<ScenarioId, ThroughputRow>();
    if (PHASES.has('compare')) for (const id of wanted(['a', 'b'] as const)) acRate.set(id, await throughput(context, id, RATE));
    const max = new Map<ScenarioId, ThroughputRow>();
    if (PHASES.has('max')) for (const id of wanted(['a', 'b', 'c'] as const)) max.set(id, await throughput(context, id));

    let rendered = render({ fixed, acRate, max, profiles: [], database, command, build, entry });
    const profiles: ProfileRow[] = [];
    const wantProfile = args.profile === 'on' || (args.profile === 'auto' && rendered.verdicts.some((verdict) => !verdict.met));
    if (PHASES.has('profile') && wantProfile) {
      await gateway.stop();
      const profileDirectory = mkdtempSync(join(tmpdir(), 'unifile-bench-chat-prof-'));
      for (const id of wanted(['b', 'c', 'b_s'] as const)) profiles.push(await profileGateway(context, configPath, profileDirectory, id));
      log(`profiles kept in ${profileDirectory}`);
      gateway = await startGateway({ configPath, entry }); // so the cleanup list stays uniform
      rendered = render({ fixed, acRate, max, profiles, database, command, build, entry });
    }

    process.stdout.write(`\n## Chat completions: added latency and throughput\n\n${rendered.markdown}\n`);
    if (args.json) {
      const withoutSamples = (key: string, value: unknown) => (key === 'samples' ? undefined : value);
      writeFileSync(args.json, JSON.stringify({ fixed: Object.fromEntries(fixed), autocannonRate: Object.fromEntries(acRate), max: Object.fromEntries(max), profiles }, withoutSamples, 2));
    }
    if (!args['no-write']) {
      writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), rendered.markdown);
      log('BENCHMARKS.md section written');
    }
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`chat-latency failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
