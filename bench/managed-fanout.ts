/**
 * Managed upload fan-out: 1 GiB uploaded with `target_model_names` to one deployment
 * (one OpenAI account) vs to three (two OpenAI accounts + one Vertex deployment on the Google
 * emulator's GCS). Reports wall time of each, the gateway's CPU-seconds for 3 vs 1 (target ≤ 1.3×:
 * on 2 cores the wall time is bound by the emulators), the gateway's peak RSS (target ≤ 128 MiB),
 * CPU per process, and checks every copy's sha256.
 *
 *   node --import tsx bench/managed-fanout.ts [--runs 1] [--size-mb 1024] [--emulators shared|split] [--runtime bin|tsx]
 *
 * `--emulators shared` (default): the three emulators in one child process (one core between
 * them); `split`: one process each. Each layout/runtime gets its own BENCHMARKS.md section.
 */
import { cpus } from 'node:os';
import { lastUploadedPart, OPENAI2_KEY, OPENAI_KEY, startEmulatorProcess, VERTEX_PROJECT, type EmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY, startGateway, type GatewayProcess, type GatewayRuntime } from './support/gateway-process.ts';
import { uploadMultipart, type FieldOrder } from './support/http-client.ts';
import { commandText, flag, measurePhase, median, spread, type PhaseStats } from './support/measure.ts';
import { memoryStatus } from './support/proc-stats.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';
import { ensureTestFile, warmPageCache, type TestFile } from './support/test-file.ts';

const RUNS = flag('runs', 1);
const SIZE_MB = flag('size-mb', 1024);
const LAYOUT = flag('emulators', 'shared') as 'shared' | 'split';
const RUNTIME = flag('runtime', 'bin') as GatewayRuntime;
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
}
const samples = new Map<string, Sample[]>();

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

async function runOnce(fanout: 'one' | 'three', order: FieldOrder, file: TestFile, emulators: Emulators, gateway: GatewayProcess): Promise<void> {
  await resetAll(emulators);
  await warmPageCache(file);
  const emulatorPids = Object.fromEntries([...new Set(Object.values(emulators).map((process) => process.pid))].map((pid, index) => [`emulator${index}`, pid]));
  const logFrom = gateway.process.lines.length;
  const { result, stats } = await measurePhase(gateway, emulatorPids, () =>
    uploadMultipart({
      url: `${gateway.url}/v1/files`,
      key: MASTER_KEY,
      filePath: file.path,
      fileBytes: file.bytes,
      filename: 'bench-1gib.bin',
      fields: [['purpose', 'user_data'], ['target_model_names', TARGETS[fanout]]],
      order,
    }),
  );
  if (result.status !== 200 || !(JSON.parse(result.body) as { id: string }).id.startsWith('file-uf_')) {
    throw new Error(`managed upload (${fanout}): ${result.status} ${result.body}`);
  }
  const uploads = gateway.upstreamCalls(logFrom).filter((call) => call.operation === 'files.upload');
  if (uploads.length !== (fanout === 'one' ? 1 : 3)) throw new Error(`expected ${fanout} upstream uploads, saw ${uploads.length}`);
  const key = `${fanout} ${order}`;
  samples.set(key, [
    ...(samples.get(key) ?? []),
    { seconds: result.seconds, stats, slowestUpstream: Math.max(...uploads.map((call) => call.durationMs)) / 1000, intact: await copiesIntact(emulators, fanout, file) },
  ]);
  await resetAll(emulators);
}

function report(idleMb: number, file: TestFile, runtime: string): string {
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  for (const order of ['sdk', 'curl'] as const) {
    const wall: Record<string, number> = {};
    const gatewayCpu: Record<string, number> = {};
    const floor: Record<string, number> = {};
    let peak = 0;
    for (const fanout of ['one', 'three'] as const) {
      const list = samples.get(`${fanout} ${order}`) ?? [];
      const of = (pick: (sample: Sample) => number) => median(list.map(pick));
      const seconds = of((sample) => sample.seconds);
      const upstream = of((sample) => sample.slowestUpstream);
      const emulatorCpu = of((sample) => Object.entries(sample.stats.cpu).reduce((sum, [name, value]) => sum + (name.startsWith('emulator') ? value : 0), 0));
      const peakMb = Math.max(...list.map((sample) => sample.stats.peakMb));
      const heap = (pick: (sample: Sample) => number | undefined) => fixed(Math.max(...list.map((sample) => pick(sample) ?? NaN)));
      wall[fanout] = seconds;
      gatewayCpu[fanout] = of((sample) => sample.stats.cpu.gateway!);
      floor[fanout] = (of((sample) => sample.stats.cpu.gateway!) + emulatorCpu + of((sample) => sample.stats.cpu.client!)) / cpus().length;
      peak = Math.max(peak, peakMb);
      rows.push([
        `${order === 'sdk' ? 'SDK (file → fields)' : 'curl (fields → file)'}`,
        fanout === 'one' ? `1 (${TARGETS.one})` : '3 (gpt-4o-mini-openai ×2, gemini-2.0-flash)',
        spread(list.map((sample) => sample.seconds), 2),
        fixed(file.bytes / 1e6 / seconds),
        `${fixed(seconds - upstream, 2)} + ${fixed(upstream, 2)}`,
        `${fixed(peakMb)} (${heap((sample) => sample.stats.heapPeak?.heapTotal)} / ${heap((sample) => sample.stats.heapPeak?.arrayBuffers)})`,
        `${fixed(of((sample) => sample.stats.cpu.gateway!))} / ${fixed(emulatorCpu)} / ${fixed(of((sample) => sample.stats.cpu.client!))}`,
        list.every((sample) => sample.intact) ? 'yes' : '**NO**',
      ]);
    }
    const ratio = wall.three! / wall.one!;
    const cpuRatio = gatewayCpu.three! / gatewayCpu.one!;
    notes.push(
      `- ${order} order: 3 deployments cost the gateway **${fixed(cpuRatio, 2)}×** the CPU-seconds of 1 (${fixed(gatewayCpu.three!, 2)} vs ${fixed(gatewayCpu.one!, 2)} s; target ≤ 1.3× → ${cpuRatio <= 1.3 ? 'met' : 'missed'}); ` +
        `gateway peak RSS ${fixed(peak)} MiB (target ≤ 128 → ${peak <= 128 ? 'met' : 'missed'}); wall time ${fixed(ratio, 2)}× that of 1. ` +
        `CPU floor (all CPU-seconds ÷ ${cpus().length} cores): ${fixed(floor.one!, 1)} s vs ${fixed(floor.three!, 1)} s, i.e. ${fixed(floor.three! / floor.one!, 2)}× on this machine whatever the gateway does.`,
    );
  }
  return [
    `Payload: ${file.bytes} random bytes (${fixed(file.bytes / 2 ** 30, 2)} GiB), POST /v1/files with purpose=user_data and target_model_names; ${RUNS} run(s) per row: medians, wall time with (min–max); peak = max.`,
    `Emulators: ${LAYOUT === 'shared' ? 'all three in one child process' : 'one child process each'}. Gateway: ${runtime} on Postgres, idle RSS ${fixed(idleMb)} MiB.`,
    '',
    table(['field order', 'deployments', 'wall s', 'MB/s', 'gateway s: spool + slowest upstream', 'gateway peak RSS MiB (V8 heapTotal / arrayBuffers)', 'CPU s: gateway / emulators / client', 'every copy intact'], rows),
    '',
    ...notes,
    '',
    'Managed uploads spool the file part to a temp file first (src/core/spooled-file.ts), then send it to every deployment',
    'concurrently from one read of the spooled copy (src/core/shared-body.ts). "Slowest upstream" = the longest `upstream call` log line for',
    'files.upload. The emulators hash every byte twice (sha256 of the body and of the file part) and write it to disk, so three',
    'deployments triple the emulator CPU: on 2 cores that, not the gateway, sets most of the 3-deployment time.',
  ].join('\n');
}

async function main(): Promise<void> {
  await checkQuietMachine();
  const file = await ensureTestFile(SIZE_MB * 1024 * 1024);
  const emulators = await startEmulators();
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await startGateway({ config: gatewayConfig(emulators), runtime: RUNTIME, logLevel: 'info' });
    const idleMb = memoryStatus(gateway.pid).rssMb;
    process.stderr.write(`gateway pid ${gateway.pid}, idle RSS ${fixed(idleMb)} MiB; emulator pids ${[...new Set(Object.values(emulators).map((e) => e.pid))].join(', ')}\n`);
    for (let run = 1; run <= RUNS; run += 1) {
      for (const order of ['sdk', 'curl'] as const) {
        for (const fanout of ['one', 'three'] as const) {
          process.stderr.write(`run ${run}/${RUNS}: ${order} order, ${fanout} deployment(s) …\n`);
          await runOnce(fanout, order, file, emulators, gateway);
        }
      }
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
