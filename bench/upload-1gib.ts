/**
 * 1 GiB upload: straight to the OpenAI emulator vs through the gateway's passthrough
 * (`/openai/v1/files`), in the openai SDK's field order (file, then purpose) and in curl's
 * (purpose, then file); then the content downloaded both ways. Reports MB/s (10^6 bytes),
 * the gateway/direct ratio, the gateway's RSS (idle and per-phase peak), the CPU time of every
 * process, and checks the bytes that arrived against the local file's sha256.
 *
 * In the same run the same bytes also go through floors (support/floor-process.ts): `floor`, a bare
 * node:http streaming proxy (request piped upstream over a keep-alive agent, answer piped back: the
 * least any Node gateway pays), and `socat`, a TCP relay in C (the kernel's own copies; only when
 * socat is installed). A second table puts direct / floors / gateway side by side per phase:
 * throughput ÷ direct, gateway ÷ floor, the CPU-seconds of the proxy, the emulator and the client.
 * On this 2-core VM three processes share the cores, so any proxy costs throughput: the floor says
 * how much of the gap to direct is the machine's and how much is the gateway's own.
 *
 *   node --import tsx bench/upload-1gib.ts [--runs 1] [--size-mb 1024] [--database postgres|pglite] [--runtime bin|tsx] [--phases all|download] [--floors node,socat|node|none]
 *
 * Each run sends every upload (and download) once per path; odd runs go direct → floor → socat →
 * gateway, even runs the other way round, so no path always comes first.
 *
 * `--phases download` uploads the file once, straight to the emulator, and then only downloads its
 * content, `--runs` times each way (direct, floors, gateway; the order reversed every other run);
 * the upload rows are then left out and the report is printed only, not written into BENCHMARKS.md.
 *
 * `--runtime tsx` runs the gateway from its TypeScript sources through tsx instead of
 * `bin/unifile.js` (see support/gateway-process.ts); it gets its own BENCHMARKS.md section.
 */
import { cpus } from 'node:os';
import { lastUploadedPart, OPENAI_KEY, startEmulatorProcess, type EmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY, startGateway, type GatewayProcess, type GatewayRuntime } from './support/gateway-process.ts';
import { startFloor, socatInstalled, type FloorKind, type FloorProcess } from './support/floor-process.ts';
import { download, uploadMultipart, type FieldOrder } from './support/http-client.ts';
import { commandText, flag, measurePhase, median, spread, type PhaseStats } from './support/measure.ts';
import { memoryStatus } from './support/proc-stats.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';
import { ensureTestFile, warmPageCache, type TestFile } from './support/test-file.ts';

const RUNS = flag('runs', 1);
const SIZE_MB = flag('size-mb', 1024);
const DATABASE = flag('database', 'postgres') as 'postgres' | 'pglite';
const RUNTIME = flag('runtime', 'bin') as GatewayRuntime;
const PHASES = flag('phases', 'all') as 'all' | 'download';
if (PHASES !== 'all' && PHASES !== 'download') throw new Error(`--phases: all or download, not ${PHASES}`);
const FLOOR_KINDS = flag('floors', 'node,socat').split(',').filter((kind) => kind && kind !== 'none') as FloorKind[];
for (const kind of FLOOR_KINDS) if (kind !== 'node' && kind !== 'socat') throw new Error(`--floors: node, socat or none, not ${kind}`);
/** Issue 10's targets: gateway/direct throughput per phase, and the gateway's peak RSS. */
const RSS_TARGET_MB = 128;
const THROUGHPUT_TARGETS: Record<Phase, number> = { 'upload sdk': 0.8, 'upload curl': 0.9, download: 0.9 };

interface Sample {
  mbPerSecond: number;
  seconds: number;
  intact: boolean;
  stats: PhaseStats;
  /** Time the gateway spent in its upstream `files.upload` call (from its log line), seconds. */
  upstreamSeconds?: number;
}

type Phase = 'upload sdk' | 'upload curl' | 'download';
/** `floor`: the node:http floor; `socat`: the C relay (support/floor-process.ts). */
type Path = 'direct' | 'floor' | 'socat' | 'gateway';
const samples = new Map<string, Sample[]>();
const record = (phase: Phase, path: Path, sample: Sample) => {
  const key = `${phase} ${path}`;
  samples.set(key, [...(samples.get(key) ?? []), sample]);
};

interface Rig {
  file: TestFile;
  emulators: EmulatorProcess;
  gateway: GatewayProcess;
  floors: FloorProcess[];
}

const FLOOR_PATH: Record<FloorKind, Path> = { node: 'floor', socat: 'socat' };

/** The paths of a run in its order: direct, floors, gateway; reversed when `reverse`. */
function pathsOf(rig: Rig, reverse: boolean): Path[] {
  const paths: Path[] = ['direct', ...rig.floors.map((floor) => FLOOR_PATH[floor.kind]), 'gateway'];
  return reverse ? paths.reverse() : paths;
}

/** Root URL (requests go to `${root}/v1/files…`) and key of a path. */
function endpoint(rig: Rig, path: Path): { root: string; key: string } {
  if (path === 'gateway') return { root: `${rig.gateway.url}/openai`, key: MASTER_KEY };
  if (path === 'direct') return { root: rig.emulators.url('openai'), key: OPENAI_KEY };
  const floor = rig.floors.find((candidate) => FLOOR_PATH[candidate.kind] === path)!;
  return { root: floor.url, key: OPENAI_KEY };
}

/** measurePhase with the emulator's and every floor's CPU (a floor's: its process tree's). */
function measure<T>(rig: Rig, work: () => Promise<T>) {
  const floors = Object.fromEntries(rig.floors.map((floor) => [FLOOR_PATH[floor.kind], floor.cpuSeconds]));
  return measurePhase(rig.gateway, { emulator: rig.emulators.pid, ...floors }, work);
}

/** One upload per path in `paths`' order, then the last one's content downloaded the same way. */
async function runOnce(order: FieldOrder, rig: Rig, paths: Path[]): Promise<void> {
  const { file, emulators, gateway } = rig;
  const phase: Phase = `upload ${order}`;
  const upload = { filePath: file.path, fileBytes: file.bytes, filename: 'bench-1gib.bin', fields: [['purpose', 'user_data']] as Array<[string, string]>, order };
  let id = '';
  for (const path of paths) {
    await emulators.reset('openai'); // frees the emulator's copy before the next GiB lands
    await warmPageCache(file);
    const { root, key } = endpoint(rig, path);
    const logFrom = gateway.process.lines.length;
    const measured = await measure(rig, () => uploadMultipart({ ...upload, url: `${root}/v1/files`, key }));
    if (measured.result.status !== 200) throw new Error(`${path} upload: ${measured.result.status} ${measured.result.body}`);
    const part = lastUploadedPart(await emulators.calls('openai'));
    const upstream = path === 'gateway' ? gateway.upstreamCalls(logFrom).find((call) => call.operation === 'files.upload') : undefined;
    record(phase, path, {
      ...measured.result,
      intact: part.sha256 === file.sha256 && part.bytes === file.bytes,
      stats: measured.stats,
      upstreamSeconds: upstream ? upstream.durationMs / 1000 : undefined,
    });
    id = encodeURIComponent((JSON.parse(measured.result.body) as { id: string }).id);
  }
  await downloadOnce(id, rig, paths);
  await emulators.reset('openai');
}

/** Downloads the content of `id` (already at the emulator) once per path, in `paths`' order. */
async function downloadOnce(id: string, rig: Rig, paths: Path[]): Promise<void> {
  for (const path of paths) {
    const { root, key } = endpoint(rig, path);
    const measured = await measure(rig, () => download(`${root}/v1/files/${id}/content`, key));
    if (measured.result.status !== 200) throw new Error(`${path} download: ${measured.result.status}`);
    record('download', path, { ...measured.result, intact: measured.result.sha256 === rig.file.sha256 && measured.result.bytes === rig.file.bytes, stats: measured.stats });
  }
}

/** Medians over the runs (peaks: the maximum). */
function summarize(key: string) {
  const list = samples.get(key) ?? [];
  const of = (pick: (sample: Sample) => number | undefined) => median(list.map((sample) => pick(sample) ?? NaN));
  return {
    mbPerSecond: of((sample) => sample.mbPerSecond),
    /** `median (min–max)` when there was more than one run. */
    mbPerSecondText: spread(list.map((sample) => sample.mbPerSecond)),
    seconds: of((sample) => sample.seconds),
    peakMb: Math.max(...list.map((sample) => sample.stats.peakMb)),
    heapTotalMb: Math.max(...list.map((sample) => sample.stats.heapPeak?.heapTotal ?? NaN)),
    arrayBuffersMb: Math.max(...list.map((sample) => sample.stats.heapPeak?.arrayBuffers ?? NaN)),
    cpu: (name: string) => of((sample) => sample.stats.cpu[name]),
    upstreamSeconds: of((sample) => sample.upstreamSeconds),
    intact: list.length > 0 && list.every((sample) => sample.intact),
  };
}

const LABELS: Record<Phase, string> = {
  'upload sdk': 'upload, SDK order (file → purpose)',
  'upload curl': 'upload, curl order (purpose → file)',
  download: 'download content',
};
const phasesMeasured = () => (PHASES === 'download' ? ['download'] : Object.keys(LABELS)) as Phase[];
const percent = (ratio: number) => `${fixed(ratio * 100, 0)} %`;
/** Throughput of `path` ÷ that of `reference` in the same run, as percentages: `median (min–max)`. */
function pairs(phase: Phase, path: Path, reference: Path): string {
  const over = samples.get(`${phase} ${reference}`) ?? [];
  const ratios = (samples.get(`${phase} ${path}`) ?? []).map((sample, index) => (sample.mbPerSecond / over[index]!.mbPerSecond) * 100);
  return `${spread(ratios, 0)} %`;
}
/** Percentage points, rounded (no `-0`). */
const points = (ratio: number) => String(Math.round(ratio * 100) || 0);

/**
 * Direct, the floors and the gateway side by side per phase: throughput ÷ direct, the gateway ÷ each
 * floor, and the CPU-seconds of the proxy in the path (none direct), the emulator and the client.
 */
function floorReport(file: TestFile, floors: FloorKind[]): string {
  const names: Record<Path, string> = { direct: 'direct', floor: 'floor: node:http proxy', socat: 'floor: socat (C relay)', gateway: 'gateway' };
  const paths: Path[] = ['direct', ...floors.map((kind) => FLOOR_PATH[kind]), 'gateway'];
  const gib = file.bytes / 2 ** 30;
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  for (const phase of phasesMeasured()) {
    const of = (path: Path) => summarize(`${phase} ${path}`);
    const direct = of('direct');
    const gateway = of('gateway');
    const proxyCpu = (path: Path) => (path === 'direct' ? NaN : of(path).cpu(path));
    for (const path of paths) {
      const here = of(path);
      rows.push([
        path === 'direct' ? LABELS[phase] : '',
        names[path],
        here.mbPerSecondText,
        fixed(here.seconds),
        path === 'direct' ? '' : percent(here.mbPerSecond / direct.mbPerSecond),
        path === 'direct' || path === 'gateway' ? '' : percent(gateway.mbPerSecond / here.mbPerSecond),
        `${path === 'direct' ? '–' : fixed(proxyCpu(path))} / ${fixed(here.cpu('emulator'))} / ${fixed(here.cpu('client'))}`,
        here.intact ? 'yes' : '**NO**',
      ]);
    }
    const target = THROUGHPUT_TARGETS[phase];
    const gatewayRatio = gateway.mbPerSecond / direct.mbPerSecond;
    const perGib = (path: Path) => fixed(proxyCpu(path) / gib, 2);
    for (const kind of floors) {
      const floor = of(FLOOR_PATH[kind]);
      const floorRatio = floor.mbPerSecond / direct.mbPerSecond;
      notes.push(
        `- ${LABELS[phase]}, ${names[FLOOR_PATH[kind]]}: ${percent(floorRatio)} of direct = ${percent(floorRatio / target)} of the target ratio (≥ ${target * 100} %)` +
          ` → the target is ${floorRatio >= target ? 'within reach of' : '**beyond**'} this floor here; the gateway reaches ${percent(gateway.mbPerSecond / floor.mbPerSecond)} of it.` +
          ` Below direct: the gateway ${points(1 - gatewayRatio)} points, this floor ${points(1 - floorRatio)}.` +
          ` Proxy CPU-s per GiB: floor ${perGib(FLOOR_PATH[kind])}, gateway ${perGib('gateway')} (${fixed(proxyCpu('gateway') / proxyCpu(FLOOR_PATH[kind]), 2)}×).` +
          ` Per run (the paths measured back to back): floor ÷ direct ${pairs(phase, FLOOR_PATH[kind], 'direct')}, gateway ÷ floor ${pairs(phase, 'gateway', FLOOR_PATH[kind])}.`,
      );
    }
  }
  return [
    '### Floors: the same bytes through a bare proxy, in the same run',
    '',
    table(['phase', 'path', 'MB/s', 'seconds', '÷ direct', 'gateway ÷ this floor', 'CPU s: proxy / emulator / client', 'sha256 intact'], rows),
    '',
    ...notes,
    '',
    "floor: node:http proxy = bench/support/floor-proxy.mjs `--stream` (request piped into http.request over a keep-alive agent, answer piped back; no parsing).",
    'floor: socat = `socat -b 65536 TCP-LISTEN:…,fork TCP:…` (CPU of the listener and its per-connection children). Both in front of the same emulator,',
    'with the OpenAI key; multipart bytes and downloads pass through untouched (sha256 checked). Each run sends one upload/download per path, odd',
    'runs direct → floors → gateway, even runs the reverse.',
  ].join('\n');
}

function report(idle: string, file: TestFile, runtime: string, floors: FloorKind[], floorNote: string): string {
  const labels = LABELS;
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  for (const phase of phasesMeasured()) {
    const direct = summarize(`${phase} direct`);
    const gateway = summarize(`${phase} gateway`);
    const ratio = gateway.mbPerSecond / direct.mbPerSecond;
    const cpu = (path: typeof direct, withGateway: boolean) =>
      `${withGateway ? fixed(path.cpu('gateway')) : '–'} / ${fixed(path.cpu('emulator'))} / ${fixed(path.cpu('client'))}`;
    rows.push([labels[phase], 'direct', direct.mbPerSecondText, fixed(direct.seconds), '', '', cpu(direct, false), direct.intact ? 'yes' : '**NO**']);
    rows.push([
      '',
      'gateway',
      gateway.mbPerSecondText,
      fixed(gateway.seconds),
      `${fixed(ratio * 100, 0)} %`,
      `${fixed(gateway.peakMb)} (${fixed(gateway.heapTotalMb)} / ${fixed(gateway.arrayBuffersMb)})`,
      cpu(gateway, true),
      gateway.intact ? 'yes' : '**NO**',
    ]);
    const target = THROUGHPUT_TARGETS[phase];
    const met = ratio >= target && gateway.peakMb <= RSS_TARGET_MB;
    const split = Number.isNaN(gateway.upstreamSeconds)
      ? ''
      : `; of its ${fixed(gateway.seconds)} s, ${fixed(gateway.seconds - gateway.upstreamSeconds)} s before the upstream call started (spooling) and ${fixed(gateway.upstreamSeconds)} s in it`;
    // All processes' CPU spread perfectly over the cores: no run can be faster than this.
    const floor = (path: typeof direct) => (path.cpu('gateway') * (path === gateway ? 1 : 0) + path.cpu('emulator') + path.cpu('client')) / cpus().length;
    notes.push(
      `- ${labels[phase]}: ${fixed(ratio * 100, 0)} % of direct (target ≥ ${target * 100} %), peak RSS ${fixed(gateway.peakMb)} MiB (target ≤ ${RSS_TARGET_MB}) → **${met ? 'met' : 'missed'}**${split}` +
        `; CPU floor (all CPU-seconds ÷ ${cpus().length} cores) ${fixed(floor(direct))} s direct, ${fixed(floor(gateway))} s via the gateway.`,
    );
  }
  return [
    `Payload: ${file.bytes} random bytes (${fixed(file.bytes / 2 ** 30, 2)} GiB, read once before every upload so it comes from the page cache), sha256 checked against what the emulator received / the client downloaded.`,
    `${RUNS} run(s) per row: medians, with (min–max) over the runs; peaks are maxima. Gateway database: ${DATABASE}; gateway: ${runtime}.`,
    idle,
    '',
    table(['phase', 'path', 'MB/s', 'seconds', 'gateway / direct', 'gateway peak RSS MiB (V8 heapTotal / arrayBuffers)', 'CPU s: gateway / emulator / client', 'sha256 intact'], rows),
    '',
    ...notes,
    '',
    'MB = 10^6 bytes. RSS = VmHWM of the gateway pid, reset per phase via /proc/PID/clear_refs; heapTotal/arrayBuffers = maxima of',
    "process.memoryUsage() inside the gateway (bench/support/memory-probe.mjs). Upstream time = the gateway's `upstream call` log line.",
    ...(floors.length > 0 ? ['', floorReport(file, floors)] : []),
    ...(floorNote ? ['', floorNote] : []),
  ].join('\n');
}

async function main(): Promise<void> {
  await checkQuietMachine();
  const file = await ensureTestFile(SIZE_MB * 1024 * 1024);
  const emulators = await startEmulatorProcess(['openai']);
  let gateway: GatewayProcess | undefined;
  const floors: FloorProcess[] = [];
  let floorNote = '';
  try {
    for (const kind of FLOOR_KINDS) {
      if (kind === 'socat' && !socatInstalled()) {
        floorNote = 'socat is not installed: the C-level floor was skipped (Debian/Ubuntu: `apt-get install socat`).';
        process.stderr.write(`${floorNote}\n`);
        continue;
      }
      floors.push(await startFloor(kind, emulators.url('openai')));
    }
    gateway = await startGateway({
      database: DATABASE,
      runtime: RUNTIME,
      logLevel: 'info',
      config: {
        files_settings: [{ custom_llm_provider: 'openai', api_base: `${emulators.url('openai')}/v1`, api_key: OPENAI_KEY }],
        general_settings: { max_upload_size_mb: Math.max(2048, SIZE_MB * 2) },
      },
    });
    const memory = memoryStatus(gateway.pid);
    const heap = (await gateway.probe?.read())?.now;
    const idle =
      `Gateway at idle (after readiness, before any upload): RSS ${fixed(memory.rssMb)} MiB = ${fixed(memory.anonMb)} anonymous + ${fixed(memory.fileMb)} file-backed` +
      (heap ? `; V8 heap ${fixed(heap.heapUsed)} used of ${fixed(heap.heapTotal)} MiB, arrayBuffers ${fixed(heap.arrayBuffers)} MiB.` : '.');
    process.stderr.write(`gateway pid ${gateway.pid} on ${gateway.url}; ${idle}\nemulator pid ${emulators.pid}\n`);
    for (const floor of floors) process.stderr.write(`floor ${floor.kind} pid ${floor.pid} on ${floor.url}\n`);
    const rig: Rig = { file, emulators, gateway, floors };
    const measuredFloors = floors.map((floor) => floor.kind);
    if (PHASES === 'download') {
      await warmPageCache(file);
      const uploaded = await uploadMultipart({
        url: `${emulators.url('openai')}/v1/files`,
        key: OPENAI_KEY,
        filePath: file.path,
        fileBytes: file.bytes,
        filename: 'bench-1gib.bin',
        fields: [['purpose', 'user_data']],
        order: 'curl',
      });
      if (uploaded.status !== 200) throw new Error(`direct upload: ${uploaded.status} ${uploaded.body}`);
      const id = encodeURIComponent((JSON.parse(uploaded.body) as { id: string }).id);
      for (let run = 1; run <= RUNS; run += 1) {
        process.stderr.write(`run ${run}/${RUNS}, download …\n`);
        await downloadOnce(id, rig, pathsOf(rig, run % 2 === 0));
      }
      await publish({
        key: 'upload-1gib-download',
        title: `Download ${SIZE_MB === 1024 ? '1 GiB' : `${SIZE_MB} MiB`}: direct vs gateway passthrough`,
        command: commandText('bench/upload-1gib.ts'),
        body: report(idle, file, gateway.runtime, measuredFloors, floorNote),
        write: false,
      });
      return;
    }
    for (let run = 1; run <= RUNS; run += 1) {
      for (const order of ['sdk', 'curl'] as const) {
        process.stderr.write(`run ${run}/${RUNS}, ${order} order …\n`);
        await runOnce(order, rig, pathsOf(rig, run % 2 === 0));
      }
    }
    await publish({
      key: RUNTIME === 'bin' ? 'upload-1gib' : 'upload-1gib-tsx',
      title: `Upload ${SIZE_MB === 1024 ? '1 GiB' : `${SIZE_MB} MiB`}: direct vs gateway passthrough${RUNTIME === 'bin' ? '' : ' (gateway run through tsx)'}`,
      command: commandText('bench/upload-1gib.ts'),
      body: report(idle, file, gateway.runtime, measuredFloors, floorNote),
    });
  } finally {
    await gateway?.stop();
    for (const floor of floors) await floor.stop();
    await emulators.stop();
  }
}

await main();
