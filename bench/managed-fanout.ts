/**
 * Managed upload fan-out: 1 GiB uploaded with `target_model_names` to one deployment
 * (one OpenAI account) vs to three (two OpenAI accounts + one Vertex deployment on the Google
 * emulator's GCS). Reports wall time of each, the gateway's CPU-seconds for 3 vs 1 (target ≤ 1.3×:
 * on 2 cores the wall time is bound by the emulators), the gateway's peak RSS (target ≤ 128 MiB),
 * CPU per process, and checks every copy's sha256.
 *
 *   node --import tsx bench/managed-fanout.ts [--runs 1] [--size-mb 1024] [--emulators shared|split] [--runtime bin|tsx]
 *     [--warmup-mb 128] [--orders sdk,curl] [--fanouts one,three] [--gateway-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]
 *
 * Before anything is measured the gateway uploads a `--warmup-mb` file once in every measured
 * combination (unmeasured), so that no row pays for JIT compilation and first-use setup (pools,
 * prepared statements) that the others do not. `--orders` / `--fanouts` run a subset (for
 * profiling: `--gateway-node-args` passes node flags to the gateway); a subset is printed, not
 * written to BENCHMARKS.md.
 * `--emulators shared` (default): the three emulators in one child process (one core between
 * them); `split`: one process each. Each layout/runtime gets its own BENCHMARKS.md section.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { lastUploadedPart, OPENAI2_KEY, OPENAI_KEY, startEmulatorProcess, VERTEX_PROJECT, type EmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY, startGateway, type GatewayProcess, type GatewayRuntime } from './support/gateway-process.ts';
import { uploadMultipart, type FieldOrder } from './support/http-client.ts';
import { commandText, flag, measurePhase, median, spread, type PhaseStats } from './support/measure.ts';
import { cpuSeconds, memoryStatus } from './support/proc-stats.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';
import { ensureTestFile, warmPageCache, type TestFile } from './support/test-file.ts';

const RUNS = flag('runs', 1);
const SIZE_MB = flag('size-mb', 1024);
const LAYOUT = flag('emulators', 'shared') as 'shared' | 'split';
const RUNTIME = flag('runtime', 'bin') as GatewayRuntime;
const WARMUP_MB = flag('warmup-mb', 128);
/**
 * Seconds the gateway idles after any upload before a measured one, which then starts with a full
 * garbage collection: every row starts from the heap an idle gateway settles at (V8's memory reducer
 * shrinks it after a while, but not on a schedule), not from what the previous upload grew.
 */
const SETTLE_S = flag('settle-s', 10);
/** The memory probe's sampling interval: each sample costs the gateway CPU, and a 3-deployment row lasts longer. */
const PROBE_MS = flag('probe-ms', 100);
const ORDERS = flag('orders', 'sdk,curl').split(',') as FieldOrder[];
const FANOUTS = flag('fanouts', 'one,three').split(',') as Array<'one' | 'three'>;
const GATEWAY_NODE_ARGS = flag('gateway-node-args', '').split(' ').filter(Boolean);
/** `--perf DIR`: `perf record -g` the gateway during each measured upload (DIR/<order>-<fanout>-<run>.data). */
const PERF_DIR = flag('perf', '');
/** With `--perf`: `--perf-events a,b,…` counts those events (`perf stat`, DIR/<name>.txt) instead of recording. */
const PERF_EVENTS = flag('perf-events', '');
const SUBSET = ORDERS.length < 2 || FANOUTS.length < 2;
const BUCKET = 'unifile-bench/managed';
const TARGETS = { one: 'bench-single', three: 'gpt-4o-mini-openai,gemini-2.0-flash' } as const;

/** Where each emulator lives: one process for all, or one process each. */
type Emulators = Record<'openai' | 'openai2' | 'google', EmulatorProcess>;

async function startEmulators(): Promise<Emulators> {
  if (LAYOUT === 'shared') {
    const all = await startEmulatorProcess(['openai', 'openai2', 'google']);
    return { openai: all, openai2: all, google: all };
  }
  const [openai, openai2, google] = await Promise.all((['openai', 'openai2', 'google'] as const).map((name) => startEmulatorProcess([name])));
  return { openai: openai!, openai2: openai2!, google: google! };
}

function gatewayConfig(emulators: Emulators): Record<string, unknown> {
  const openai = (name: 'openai' | 'openai2', key: string, model: string, id: string) => ({
    model_name: model,
    litellm_params: { model: 'openai/gpt-4o-mini', api_base: `${emulators[name].url(name)}/v1`, api_key: key },
    model_info: { id },
  });
  const google = emulators.google.url('google');
  return {
    model_list: [
      openai('openai', OPENAI_KEY, TARGETS.one, 'oai-solo'),
      openai('openai', OPENAI_KEY, 'gpt-4o-mini-openai', 'oai-1'),
      openai('openai2', OPENAI2_KEY, 'gpt-4o-mini-openai', 'oai-2'),
      {
        model_name: 'gemini-2.0-flash',
        litellm_params: {
          model: 'vertex_ai/gemini-2.0-flash',
          vertex_project: VERTEX_PROJECT,
          vertex_location: 'us-central1',
          vertex_credentials: JSON.stringify(emulators.google.serviceAccount),
          bucket_name: BUCKET,
          api_base: google,
          gcs_api_base: google,
        },
        model_info: { id: 'vertex-1' },
      },
    ],
    general_settings: { max_upload_size_mb: Math.max(2048, SIZE_MB * 2) },
  };
}

interface Sample {
  seconds: number;
  stats: PhaseStats;
  /** Slowest upstream files.upload call (its log line), seconds. */
  slowestUpstream: number;
  intact: boolean;
  /** The gateway's CPU-seconds per second while it idled before this upload (timers, the memory probe); undefined if it idled < 3 s. */
  idleRate: number | undefined;
}
const samples = new Map<string, Sample[]>();
/** When the last upload (warm-up or measured) ended. */
let lastUploadEnd = 0;

/**
 * Waits until the gateway has idled SETTLE_S seconds since the last upload; returns its heap then
 * and its CPU-seconds per second during the wait (what it burns whatever it does: a row that lasts
 * longer pays more of it).
 */
async function settle(gateway: GatewayProcess): Promise<{ text: string; idleRate: number | undefined }> {
  const wait = lastUploadEnd + SETTLE_S * 1000 - Date.now();
  const cpuBefore = cpuSeconds(gateway.pid);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const idleRate = wait >= 3000 ? (cpuSeconds(gateway.pid) - cpuBefore) / (wait / 1000) : undefined;
  const now = (await gateway.probe?.read({ collect: true }))?.now;
  const rate = idleRate === undefined ? '' : `, idle CPU ${fixed(idleRate * 1000, 1)} ms/s`;
  return { text: now ? `heapTotal ${fixed(now.heapTotal)} MiB, RSS ${fixed(now.rss)} MiB${rate}` : rate, idleRate };
}

async function resetAll(emulators: Emulators): Promise<void> {
  for (const name of ['openai', 'openai2', 'google'] as const) await emulators[name].reset(name);
}

/** sha256 of every copy the emulators stored for this upload. */
async function copiesIntact(emulators: Emulators, fanout: 'one' | 'three', file: TestFile): Promise<boolean> {
  const names: Array<'openai' | 'openai2'> = fanout === 'one' ? ['openai'] : ['openai', 'openai2'];
  for (const name of names) {
    const part = lastUploadedPart(await emulators[name].calls(name));
    if (part.sha256 !== file.sha256 || part.bytes !== file.bytes) return false;
  }
  if (fanout === 'one') return true;
  const objects = await emulators.google.gcsObjects();
  return objects.length === 1 && objects[0]!.sha256 === file.sha256 && objects[0]!.size === file.bytes;
}

/** Starts `perf record` on the gateway; the returned function stops it and waits for the data file. */
async function startPerf(pid: number, name: string): Promise<() => Promise<void>> {
  const how = PERF_EVENTS ? ['stat', '-e', PERF_EVENTS, '-o', join(PERF_DIR, `${name}.txt`)] : ['record', '-g', '-F', '999', '-o', join(PERF_DIR, `${name}.data`)];
  const child = spawn('perf', [...how, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise((resolve) => setTimeout(resolve, 500)); // attached
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  };
}

/** One managed upload of the test file to the deployments of `fanout`, in the given field order. */
function managedUpload(gateway: GatewayProcess, file: TestFile, fanout: 'one' | 'three', order: FieldOrder, filename: string) {
  return uploadMultipart({
    url: `${gateway.url}/v1/files`,
    key: MASTER_KEY,
    filePath: file.path,
    fileBytes: file.bytes,
    filename,
    fields: [['purpose', 'user_data'], ['target_model_names', TARGETS[fanout]]],
    order,
  });
}

async function runOnce(fanout: 'one' | 'three', order: FieldOrder, file: TestFile, emulators: Emulators, gateway: GatewayProcess, run: number): Promise<void> {
  await resetAll(emulators);
  await warmPageCache(file);
  const emulatorPids = Object.fromEntries([...new Set(Object.values(emulators).map((process) => process.pid))].map((pid, index) => [`emulator${index}`, pid]));
  const logFrom = gateway.process.lines.length;
  const settled = await settle(gateway);
  process.stderr.write(`  settled: ${settled.text}\n`);
  const stopPerf = PERF_DIR ? await startPerf(gateway.pid, `${order}-${fanout}-${run}`) : undefined;
  const { result, stats } = await measurePhase(gateway, emulatorPids, () =>
    managedUpload(gateway, file, fanout, order, 'bench-1gib.bin'),
  );
  lastUploadEnd = Date.now();
  await stopPerf?.();
  process.stderr.write(`  gateway CPU ${fixed(stats.cpu.gateway!, 2)} s, GCs (scavenges / mark-compacts (ms)): ${gcText(stats)}\n`);
  if (GATEWAY_NODE_ARGS.includes('--trace-gc')) {
    const lines = gateway.process.lines.slice(logFrom);
    const count = (pattern: RegExp) => lines.filter((line) => pattern.test(line)).length;
    process.stderr.write(`  gateway GCs: ${count(/Scavenge/)} scavenges, ${count(/Mark-Compact|Mark-sweep/)} mark-compacts\n`);
    // With --trace-incremental-marking: why marking started, counted by reason.
    const reasons = new Map<string, number>();
    for (const line of lines) {
      const reason = /\[IncrementalMarking\] Start \(([^)]*)\)/.exec(line)?.[1];
      if (reason) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    if (reasons.size > 0) process.stderr.write(`  marking started by: ${[...reasons].map(([reason, n]) => `${reason} ×${n}`).join(', ')}\n`);
  }
  if (result.status !== 200 || !(JSON.parse(result.body) as { id: string }).id.startsWith('file-uf_')) {
    throw new Error(`managed upload (${fanout}): ${result.status} ${result.body}`);
  }
  const uploads = gateway.upstreamCalls(logFrom).filter((call) => call.operation === 'files.upload');
  if (uploads.length !== (fanout === 'one' ? 1 : 3)) throw new Error(`expected ${fanout} upstream uploads, saw ${uploads.length}`);
  const key = `${fanout} ${order}`;
  samples.set(key, [
    ...(samples.get(key) ?? []),
    {
      seconds: result.seconds,
      stats,
      slowestUpstream: Math.max(...uploads.map((call) => call.durationMs)) / 1000,
      intact: await copiesIntact(emulators, fanout, file),
      idleRate: settled.idleRate,
    },
  ]);
  await resetAll(emulators);
}

/** One unmeasured upload of `file` per measured combination: JIT and first-use costs paid before any row. */
async function warmUp(file: TestFile, emulators: Emulators, gateway: GatewayProcess): Promise<void> {
  for (const order of ORDERS) {
    for (const fanout of FANOUTS) {
      process.stderr.write(`warm-up: ${order} order, ${fanout} deployment(s), ${fixed(file.bytes / 2 ** 20)} MiB …\n`);
      await resetAll(emulators);
      const result = await managedUpload(gateway, file, fanout, order, 'bench-warmup.bin');
      lastUploadEnd = Date.now();
      if (result.status !== 200) throw new Error(`warm-up upload (${fanout}, ${order}): ${result.status} ${result.body}`);
      if (!(await copiesIntact(emulators, fanout, file))) throw new Error(`warm-up upload (${fanout}, ${order}): a copy differs`);
    }
  }
  await resetAll(emulators);
}

/** `scavenges / mark-compacts (ms)` of one measured upload. */
function gcText(stats: PhaseStats): string {
  const gcs = stats.gcs;
  return gcs ? `${gcs.minor} / ${gcs.major} (${fixed(gcs.minorMs + gcs.majorMs, 0)})` : '?';
}

function report(idleMb: number, file: TestFile, runtime: string): string {
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  for (const order of ORDERS) {
    const wall: Record<string, number> = {};
    const gatewayCpu: Record<string, number> = {};
    /** Gateway CPU-seconds minus its idle rate × the upload's wall time (what the upload itself cost). */
    const aboveIdle: Record<string, number> = {};
    const floor: Record<string, number> = {};
    let peak = 0;
    for (const fanout of FANOUTS) {
      const list = samples.get(`${fanout} ${order}`) ?? [];
      const of = (pick: (sample: Sample) => number) => median(list.map(pick));
      const seconds = of((sample) => sample.seconds);
      const upstream = of((sample) => sample.slowestUpstream);
      const emulatorCpu = of((sample) => Object.entries(sample.stats.cpu).reduce((sum, [name, value]) => sum + (name.startsWith('emulator') ? value : 0), 0));
      const peakMb = Math.max(...list.map((sample) => sample.stats.peakMb));
      const heap = (pick: (sample: Sample) => number | undefined) => fixed(Math.max(...list.map((sample) => pick(sample) ?? NaN)));
      wall[fanout] = seconds;
      gatewayCpu[fanout] = of((sample) => sample.stats.cpu.gateway!);
      aboveIdle[fanout] = of((sample) => sample.stats.cpu.gateway! - (sample.idleRate ?? NaN) * sample.seconds);
      floor[fanout] = (of((sample) => sample.stats.cpu.gateway!) + emulatorCpu + of((sample) => sample.stats.cpu.client!)) / cpus().length;
      peak = Math.max(peak, peakMb);
      rows.push([
        `${order === 'sdk' ? 'SDK (file → fields)' : 'curl (fields → file)'}`,
        fanout === 'one' ? `1 (${TARGETS.one})` : '3 (gpt-4o-mini-openai ×2, gemini-2.0-flash)',
        spread(list.map((sample) => sample.seconds), 2),
        fixed(file.bytes / 1e6 / seconds),
        `${fixed(seconds - upstream, 2)} + ${fixed(upstream, 2)}`,
        `${fixed(peakMb)} (${heap((sample) => sample.stats.heapPeak?.heapTotal)} / ${heap((sample) => sample.stats.heapPeak?.arrayBuffers)})`,
        `${fixed(of((sample) => sample.stats.cpu.gateway!), 2)} / ${fixed(emulatorCpu)} / ${fixed(of((sample) => sample.stats.cpu.client!))}`,
        list.map((sample) => gcText(sample.stats)).join('; '),
        list.every((sample) => sample.intact) ? 'yes' : '**NO**',
      ]);
    }
    if (SUBSET) continue;
    const ratio = wall.three! / wall.one!;
    const cpuRatio = gatewayCpu.three! / gatewayCpu.one!;
    const idleRates = FANOUTS.flatMap((fanout) => (samples.get(`${fanout} ${order}`) ?? []).map((sample) => sample.idleRate ?? NaN));
    notes.push(
      `- ${order} order: 3 deployments cost the gateway **${fixed(cpuRatio, 2)}×** the CPU-seconds of 1 (${fixed(gatewayCpu.three!, 2)} vs ${fixed(gatewayCpu.one!, 2)} s; target ≤ 1.3× → ${cpuRatio <= 1.3 ? 'met' : 'missed'}); ` +
        `gateway peak RSS ${fixed(peak)} MiB (target ≤ 128 → ${peak <= 128 ? 'met' : 'missed'}); wall time ${fixed(ratio, 2)}× that of 1. ` +
        `CPU floor (all CPU-seconds ÷ ${cpus().length} cores): ${fixed(floor.one!, 1)} s vs ${fixed(floor.three!, 1)} s, i.e. ${fixed(floor.three! / floor.one!, 2)}× on this machine whatever the gateway does. ` +
        `Idle, the gateway burned ${fixed(median(idleRates) * 1000, 1)} ms/s (median of the ${idleRates.length} settle periods; timers and the memory probe): ` +
        `above that, 3 deployments cost ${fixed(aboveIdle.three! / aboveIdle.one!, 2)}× (${fixed(aboveIdle.three!, 2)} vs ${fixed(aboveIdle.one!, 2)} s; not the target's measure, shown because the 3-deployment row lasts longer).`,
    );
  }
  return [
    `Payload: ${file.bytes} random bytes (${fixed(file.bytes / 2 ** 30, 2)} GiB), POST /v1/files with purpose=user_data and target_model_names; ${RUNS} run(s) per row: medians, wall time with (min–max); peak = max.`,
    (WARMUP_MB > 0
      ? `Warm-up: before the measured rows, one unmeasured ${WARMUP_MB} MiB upload in each measured combination (JIT compilation and first-use costs are paid by no row). `
      : 'No warm-up (`--warmup-mb 0`): the first row also pays for JIT compilation and first-use costs. ') +
      `Every measured upload starts after the gateway idled ${SETTLE_S} s and collected its garbage (gateway run with --expose-gc; the bench calls gc() through the memory probe), so no row inherits the heap an earlier upload grew; ` +
      `the memory probe samples every ${PROBE_MS} ms. Runs alternate the order of the rows (run 1: ${FANOUTS.join(' then ')}, run 2 the reverse, …).`,
    `Emulators: ${LAYOUT === 'shared' ? 'all three in one child process' : 'one child process each'}. Gateway: ${runtime} on Postgres, idle RSS ${fixed(idleMb)} MiB.`,
    '',
    table(['field order', 'deployments', 'wall s', 'MB/s', 'gateway s: spool + slowest upstream', 'gateway peak RSS MiB (V8 heapTotal / arrayBuffers)', 'CPU s: gateway / emulators / client', 'gateway GCs: scavenges / mark-compacts (their main-thread ms)', 'every copy intact'], rows),
    '',
    ...notes,
    '',
    'Managed uploads spool the file part to a temp file first (src/core/spooled-file.ts), then send it to every deployment',
    'concurrently from one read of the spooled copy (src/core/shared-body.ts). "Slowest upstream" = the longest `upstream call` log line for',
    'files.upload. The emulators hash every byte twice (sha256 of the body and of the file part) and write it to disk, so three',
    'deployments triple the emulator CPU: on 2 cores that, not the gateway, sets most of the 3-deployment time.',
    'Per extra deployment the gateway does one more socket write per 1 MiB chunk (the same Buffer, no copy in user space): the kernel',
    'copying the bytes into that socket is most of what a copy costs. Mark-compacts: without `--heap-growing-percent` (src/main.ts sets 50)',
    'an upload after an idle spell ran 50–110 of them per GiB (1–3 CPU-seconds), in whichever rows followed a memory-reducing collection.',
    'Profile a row: `--orders curl --fanouts three --gateway-node-args "--cpu-prof --cpu-prof-dir=DIR"`, or `--perf DIR` (perf record).',
  ].join('\n');
}

async function main(): Promise<void> {
  await checkQuietMachine();
  const file = await ensureTestFile(SIZE_MB * 1024 * 1024);
  const emulators = await startEmulators();
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await startGateway({ config: gatewayConfig(emulators), runtime: RUNTIME, logLevel: 'info', nodeArgs: GATEWAY_NODE_ARGS, probeIntervalMs: PROBE_MS, exposeGc: true });
    const idleMb = memoryStatus(gateway.pid).rssMb;
    process.stderr.write(`gateway pid ${gateway.pid}, idle RSS ${fixed(idleMb)} MiB; emulator pids ${[...new Set(Object.values(emulators).map((e) => e.pid))].join(', ')}\n`);
    if (WARMUP_MB > 0) await warmUp(await ensureTestFile(WARMUP_MB * 1024 * 1024), emulators, gateway);
    for (let run = 1; run <= RUNS; run += 1) {
      for (const order of ORDERS) {
        // Every other run measures the rows in the other order: neither always follows the other.
        for (const fanout of run % 2 === 1 ? FANOUTS : [...FANOUTS].reverse()) {
          process.stderr.write(`run ${run}/${RUNS}: ${order} order, ${fanout} deployment(s) …\n`);
          await runOnce(fanout, order, file, emulators, gateway, run);
        }
      }
    }
    if (SUBSET) {
      process.stdout.write(`${report(idleMb, file, gateway.runtime)}\n`);
      return;
    }
    const variant = [LAYOUT === 'split' ? 'split-emulators' : '', RUNTIME === 'tsx' ? 'tsx' : ''].filter(Boolean);
    await publish({
      key: ['managed-fanout', ...variant].join('-'),
      title: `Managed upload fan-out, ${SIZE_MB === 1024 ? '1 GiB' : `${SIZE_MB} MiB`}: 1 vs 3 deployments${variant.length ? ` (${variant.join(', ')})` : ''}`,
      command: commandText('bench/managed-fanout.ts'),
      body: report(idleMb, file, gateway.runtime),
    });
  } finally {
    await gateway?.stop();
    await Promise.all([...new Set(Object.values(emulators))].map((process) => process.stop()));
  }
}

await main();
