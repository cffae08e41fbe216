/**
 * 1 GiB upload: straight to the OpenAI emulator vs through the gateway's passthrough
 * (`/openai/v1/files`), in the openai SDK's field order (file, then purpose) and in curl's
 * (purpose, then file); then the content downloaded both ways. Reports MB/s (10^6 bytes),
 * the gateway/direct ratio, the gateway's RSS (idle and per-phase peak), the CPU time of every
 * process, and checks the bytes that arrived against the local file's sha256.
 *
 *   node --import tsx bench/upload-1gib.ts [--runs 1] [--size-mb 1024] [--database postgres|pglite] [--runtime bin|tsx] [--phases all|download]
 *
 * `--phases download` uploads the file once, straight to the emulator, and then only downloads its
 * content, `--runs` times each way, direct and gateway alternating (the first path alternates too);
 * the upload rows are then left out and the report is printed only, not written into BENCHMARKS.md.
 *
 * `--runtime tsx` runs the gateway from its TypeScript sources through tsx instead of
 * `bin/unifile.js` (see support/gateway-process.ts); it gets its own BENCHMARKS.md section.
 */
import { cpus } from 'node:os';
import { lastUploadedPart, OPENAI_KEY, startEmulatorProcess, type EmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY, startGateway, type GatewayProcess, type GatewayRuntime } from './support/gateway-process.ts';
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
const samples = new Map<string, Sample[]>();
const record = (phase: Phase, path: 'direct' | 'gateway', sample: Sample) => {
  const key = `${phase} ${path}`;
  samples.set(key, [...(samples.get(key) ?? []), sample]);
};

async function runOnce(order: FieldOrder, file: TestFile, emulators: EmulatorProcess, gateway: GatewayProcess): Promise<void> {
  const openai = emulators.url('openai');
  const phase: Phase = `upload ${order}`;
  const upload = { filePath: file.path, fileBytes: file.bytes, filename: 'bench-1gib.bin', fields: [['purpose', 'user_data']] as Array<[string, string]>, order };
  const measure = <T>(work: () => Promise<T>) => measurePhase(gateway, { emulator: emulators.pid }, work);

  await emulators.reset('openai');
  await warmPageCache(file);
  const direct = await measure(() => uploadMultipart({ ...upload, url: `${openai}/v1/files`, key: OPENAI_KEY }));
  if (direct.result.status !== 200) throw new Error(`direct upload: ${direct.result.status} ${direct.result.body}`);
  const directPart = lastUploadedPart(await emulators.calls('openai'));
  record(phase, 'direct', { ...direct.result, intact: directPart.sha256 === file.sha256, stats: direct.stats });

  await emulators.reset('openai'); // frees the emulator's copy before the next GiB lands
  await warmPageCache(file);
  const logFrom = gateway.process.lines.length;
  const viaGateway = await measure(() => uploadMultipart({ ...upload, url: `${gateway.url}/openai/v1/files`, key: MASTER_KEY }));
  if (viaGateway.result.status !== 200) throw new Error(`gateway upload: ${viaGateway.result.status} ${viaGateway.result.body}`);
  const gatewayPart = lastUploadedPart(await emulators.calls('openai'));
  const upstream = gateway.upstreamCalls(logFrom).find((call) => call.operation === 'files.upload');
  record(phase, 'gateway', {
    ...viaGateway.result,
    intact: gatewayPart.sha256 === file.sha256 && gatewayPart.bytes === file.bytes,
    stats: viaGateway.stats,
    upstreamSeconds: upstream ? upstream.durationMs / 1000 : undefined,
  });

  const id = encodeURIComponent((JSON.parse(viaGateway.result.body) as { id: string }).id);
  const directDownload = await measure(() => download(`${openai}/v1/files/${id}/content`, OPENAI_KEY));
  record('download', 'direct', { ...directDownload.result, intact: directDownload.result.sha256 === file.sha256, stats: directDownload.stats });
  const gatewayDownload = await measure(() => download(`${gateway.url}/openai/v1/files/${id}/content`, MASTER_KEY));
  if (gatewayDownload.result.status !== 200) throw new Error(`gateway download: ${gatewayDownload.result.status}`);
  record('download', 'gateway', { ...gatewayDownload.result, intact: gatewayDownload.result.sha256 === file.sha256, stats: gatewayDownload.stats });
  await emulators.reset('openai');
}

/** Downloads the content of `id` (already at the emulator) once each way; `gatewayFirst` swaps the order. */
async function downloadOnce(id: string, file: TestFile, emulators: EmulatorProcess, gateway: GatewayProcess, gatewayFirst: boolean): Promise<void> {
  const measure = <T>(work: () => Promise<T>) => measurePhase(gateway, { emulator: emulators.pid }, work);
  const paths = gatewayFirst ? (['gateway', 'direct'] as const) : (['direct', 'gateway'] as const);
  for (const path of paths) {
    const url = path === 'direct' ? `${emulators.url('openai')}/v1/files/${id}/content` : `${gateway.url}/openai/v1/files/${id}/content`;
    const measured = await measure(() => download(url, path === 'direct' ? OPENAI_KEY : MASTER_KEY));
    if (measured.result.status !== 200) throw new Error(`${path} download: ${measured.result.status}`);
    record('download', path, { ...measured.result, intact: measured.result.sha256 === file.sha256 && measured.result.bytes === file.bytes, stats: measured.stats });
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

function report(idle: string, file: TestFile, runtime: string): string {
  const labels: Record<Phase, string> = {
    'upload sdk': 'upload, SDK order (file → purpose)',
    'upload curl': 'upload, curl order (purpose → file)',
    download: 'download content',
  };
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  for (const phase of (PHASES === 'download' ? ['download'] : Object.keys(labels)) as Phase[]) {
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
  ].join('\n');
}

async function main(): Promise<void> {
  await checkQuietMachine();
  const file = await ensureTestFile(SIZE_MB * 1024 * 1024);
  const emulators = await startEmulatorProcess(['openai']);
  let gateway: GatewayProcess | undefined;
  try {
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
        await downloadOnce(id, file, emulators, gateway, run % 2 === 0);
      }
      await publish({
        key: 'upload-1gib-download',
        title: `Download ${SIZE_MB === 1024 ? '1 GiB' : `${SIZE_MB} MiB`}: direct vs gateway passthrough`,
        command: commandText('bench/upload-1gib.ts'),
        body: report(idle, file, gateway.runtime),
        write: false,
      });
      return;
    }
    for (let run = 1; run <= RUNS; run += 1) {
      for (const order of ['sdk', 'curl'] as const) {
        process.stderr.write(`run ${run}/${RUNS}, ${order} order …\n`);
        await runOnce(order, file, emulators, gateway);
      }
    }
    await publish({
      key: RUNTIME === 'bin' ? 'upload-1gib' : 'upload-1gib-tsx',
      title: `Upload ${SIZE_MB === 1024 ? '1 GiB' : `${SIZE_MB} MiB`}: direct vs gateway passthrough${RUNTIME === 'bin' ? '' : ' (gateway run through tsx)'}`,
      command: commandText('bench/upload-1gib.ts'),
      body: report(idle, file, gateway.runtime),
    });
  } finally {
    await gateway?.stop();
    await emulators.stop();
  }
}

await main();
