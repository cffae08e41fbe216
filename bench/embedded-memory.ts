/**
 * Embedded database memory: the gateway CLI on its embedded PGlite database (a fresh data dir,
 * as on a first start), its resident memory idle, after a chat load through the gateway to the
 * OpenAI emulator, and after a 1 GiB upload — against the targets (≤ 300 MiB idle, ≤ 350 MiB
 * after both). The same run on server Postgres shows what the gateway holds without the
 * embedded database.
 *
 *   node --import tsx bench/embedded-memory.ts [--databases pglite,postgres] [--duration 10] [--size-mb 1024]
 *
 * Every process the gateway starts counts: a sampler sums the RSS of the gateway and all its
 * descendants every 50 ms from spawn to readiness (a first start creates the database in a
 * short-lived child process), and the idle/after figures are the sum over the gateway's process
 * tree (checked to be the gateway alone once it serves).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './support/child-process.ts';
import { lastUploadedPart, OPENAI_KEY, startEmulatorProcess, type EmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { uploadMultipart } from './support/http-client.ts';
import { commandText, flag, measurePhase, type PhaseStats } from './support/measure.ts';
import { childPids, memoryStatus } from './support/proc-stats.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';
import { ensureTestFile, warmPageCache } from './support/test-file.ts';

const DATABASES = flag('databases', 'pglite,postgres').split(',') as Array<'pglite' | 'postgres'>;
const DURATION_S = flag('duration', 10);
const SIZE_MB = flag('size-mb', 1024);
const IDLE_TARGET_MB = 300;
const LOADED_TARGET_MB = 350;
const SETTLE_MS = 3000;
const MODEL = 'gpt-4o-mini-openai';

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
}) => Promise<AutocannonResult>;

/** Every descendant of `pid` (children, their children, …). */
function descendants(pid: number): number[] {
  const direct = childPids(pid);
  return [...direct, ...direct.flatMap(descendants)];
}

/** RSS of the gateway and every process it started, MiB. */
function treeRssMb(pid: number): { totalMb: number; processes: number } {
  const pids = [pid, ...descendants(pid)];
  let totalMb = 0;
  for (const each of pids) {
    try {
      const rss = memoryStatus(each).rssMb;
      if (Number.isFinite(rss)) totalMb += rss; // a zombie has no VmRSS
    } catch {
      // exited between the listing and the read
    }
  }
  return { totalMb, processes: pids.length };
}

/**
 * Samples, every 50 ms, the summed RSS of this process's descendants other than the emulators'
 * tree — i.e. the gateway being started and whatever it spawns — until stopped.
 */
function startupSampler(excluded: number): { stop(): { peakTreeMb: number; maxProcesses: number } } {
  let peakTreeMb = 0;
  let maxProcesses = 0;
  const skip = new Set([excluded, ...descendants(excluded)]);
  const timer = setInterval(() => {
    for (const pid of childPids(process.pid)) {
      if (skip.has(pid)) continue;
      const tree = treeRssMb(pid);
      peakTreeMb = Math.max(peakTreeMb, tree.totalMb);
      maxProcesses = Math.max(maxProcesses, tree.processes);
    }
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return { peakTreeMb, maxProcesses };
    },
  };
}

interface ChatLoad {
  label: string;
  key: 'master' | 'virtual';
  stream: boolean;
  connections: number;
}

const CHAT_LOADS: ChatLoad[] = [
  { label: 'non-streaming, master key, 10 conn', key: 'master', stream: false, connections: 10 },
  { label: 'non-streaming, virtual key, 50 conn', key: 'virtual', stream: false, connections: 50 },
  { label: 'streaming, virtual key, 10 conn', key: 'virtual', stream: true, connections: 10 },
];

interface Row {
  phase: string;
  rssAfterMb: number;
  peakMb?: number;
  note: string;
}

interface DatabaseResult {
  database: 'pglite' | 'postgres';
  startupPeakTreeMb: number;
  startupProcesses: number;
  rows: Row[];
  idleMb: number;
  finalMb: number;
  peakMb: number;
}

async function settledRss(gateway: GatewayProcess): Promise<number> {
  await sleep(SETTLE_MS);
  const tree = treeRssMb(gateway.pid);
  if (tree.processes !== 1) throw new Error(`the gateway runs ${tree.processes - 1} child process(es) while serving; count them`);
  return tree.totalMb;
}

async function chatLoad(gateway: GatewayProcess, load: ChatLoad, virtualKey: string): Promise<{ stats: PhaseStats; result: AutocannonResult }> {
  const body = JSON.stringify({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: 'Say hello in one short sentence.' },
    ],
    max_tokens: 16,
    ...(load.stream ? { stream: true } : {}),
  });
  const { result, stats } = await measurePhase(gateway, {}, () =>
    autocannon({
      url: `${gateway.url}/v1/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${load.key === 'master' ? MASTER_KEY : virtualKey}` },
      body,
      connections: load.connections,
      duration: DURATION_S,
    }),
  );
  if (result.non2xx > 0 || result.errors > 0 || result['2xx'] === 0) {
    throw new Error(`chat load '${load.label}': ${result['2xx']} ok, ${result.non2xx} non-2xx, ${result.errors} errors`);
  }
  return { stats, result };
}

async function measureDatabase(database: 'pglite' | 'postgres', emulators: EmulatorProcess): Promise<DatabaseResult> {
  const sampler = startupSampler(emulators.pid);
  let gateway: GatewayProcess;
  let startup: { peakTreeMb: number; maxProcesses: number };
  try {
    gateway = await startGateway({
      database,
      probe: false,
      config: {
        model_list: [
          {
            model_name: MODEL,
            litellm_params: { model: 'openai/gpt-4o-mini', api_base: `${emulators.url('openai')}/v1`, api_key: OPENAI_KEY },
          },
        ],
        files_settings: [{ custom_llm_provider: 'openai', api_base: `${emulators.url('openai')}/v1`, api_key: OPENAI_KEY }],
        general_settings: { max_upload_size_mb: Math.max(2048, SIZE_MB * 2) },
      },
    });
  } finally {
    startup = sampler.stop();
  }
  const rows: Row[] = [];
  try {
    const startPeak = memoryStatus(gateway.pid).peakMb;
    const idleMb = await settledRss(gateway);
    const idle = memoryStatus(gateway.pid);
    rows.push({
      phase: 'idle (after readiness)',
      rssAfterMb: idleMb,
      peakMb: startPeak,
      note: `${fixed(idle.anonMb)} anonymous + ${fixed(idle.fileMb)} file-backed; start-up peak of all its processes ${fixed(startup.peakTreeMb)} MiB (${startup.maxProcesses} process(es) at most)`,
    });
    process.stderr.write(`${database}: gateway pid ${gateway.pid}, idle ${fixed(idleMb)} MiB\n`);
    const { key } = await gateway.newUser({ models: [MODEL] });
    let peakMb = startPeak;
    for (const load of CHAT_LOADS) {
      const { stats, result } = await chatLoad(gateway, load, key);
      const after = await settledRss(gateway);
      peakMb = Math.max(peakMb, stats.peakMb);
      rows.push({
        phase: `chat ${load.label}, ${DURATION_S} s`,
        rssAfterMb: after,
        peakMb: stats.peakMb,
        note: `${fixed(result.requests.average, 0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.requests.total} requests all 2xx; gateway CPU ${fixed(stats.cpu.gateway ?? 0)} s`,
      });
      process.stderr.write(`${database}: after ${load.label}: ${fixed(after)} MiB (peak ${fixed(stats.peakMb)})\n`);
    }
    const file = await ensureTestFile(SIZE_MB * 1024 * 1024);
    await emulators.reset('openai');
    await warmPageCache(file);
    const upload = await measurePhase(gateway, { emulator: emulators.pid }, () =>
      uploadMultipart({
        url: `${gateway.url}/openai/v1/files`,
        key: MASTER_KEY,
        filePath: file.path,
        fileBytes: file.bytes,
        filename: 'bench-embedded.bin',
        fields: [['purpose', 'user_data']],
        order: 'sdk',
      }),
    );
    if (upload.result.status !== 200) throw new Error(`upload: ${upload.result.status} ${upload.result.body}`);
    const part = lastUploadedPart(await emulators.calls('openai'));
    if (part.sha256 !== file.sha256) throw new Error('the uploaded bytes differ from the file');
    await emulators.reset('openai');
    const finalMb = await settledRss(gateway);
    peakMb = Math.max(peakMb, upload.stats.peakMb);
    rows.push({
      phase: `upload ${fixed(file.bytes / 2 ** 30, 2)} GiB passthrough (SDK field order)`,
      rssAfterMb: finalMb,
      peakMb: upload.stats.peakMb,
      note: `${fixed(upload.result.mbPerSecond)} MB/s, sha256 intact; gateway CPU ${fixed(upload.stats.cpu.gateway ?? 0)} s`,
    });
    process.stderr.write(`${database}: after the upload: ${fixed(finalMb)} MiB (peak ${fixed(upload.stats.peakMb)})\n`);
    return { database, startupPeakTreeMb: startup.peakTreeMb, startupProcesses: startup.maxProcesses, rows, idleMb, finalMb, peakMb };
  } finally {
    await gateway.stop();
  }
}

function gitCommit(): string {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', 'src', 'migrations'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  return dirty ? `${head} + uncommitted changes in src/` : head;
}

function pgliteVersion(): string {
  const path = `${REPO_ROOT}node_modules/@electric-sql/pglite/package.json`;
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function embeddedSettings(): string {
  const source = readFileSync(`${REPO_ROOT}src/persistence/embedded-database.ts`, 'utf8');
  const block = /EMBEDDED_SETTINGS[^{]*\{([^}]*)\}/.exec(source)?.[1] ?? '';
  return block.trim().replace(/\s+/g, ' ').replace(/,$/, '') || '(none)';
}

async function main(): Promise<void> {
  await checkQuietMachine();
  const emulators = await startEmulatorProcess(['openai']);
  const results: DatabaseResult[] = [];
  try {
    for (const database of DATABASES) results.push(await measureDatabase(database, emulators));
  } finally {
    await emulators.stop();
  }
  const lines: string[] = [];
  lines.push(
    `Commit ${gitCommit()}; PGlite ${pgliteVersion()}; embedded settings (src/persistence/embedded-database.ts): ${embeddedSettings()}.`,
    `Gateway: \`node bin/unifile.js\` → dist/cli.js, a fresh data dir / a fresh Postgres database, log level warn, no memory probe. ` +
      `RSS = VmRSS summed over the gateway and every process it started, read ${SETTLE_MS / 1000} s after each phase; ` +
      `peak = VmHWM of the gateway during the phase (reset at its start). Chat: autocannon, ${DURATION_S} s per load, to the OpenAI emulator (one process, shared by both databases).`,
    '',
  );
  for (const result of results) {
    lines.push(`### ${result.database === 'pglite' ? 'Embedded PGlite' : 'Server Postgres (reference)'}`, '');
    lines.push(table(['phase', 'RSS after, MiB', 'peak during, MiB', 'notes'], result.rows.map((row) => [row.phase, fixed(row.rssAfterMb), row.peakMb === undefined ? '' : fixed(row.peakMb), row.note])));
    lines.push('');
  }
  const pglite = results.find((result) => result.database === 'pglite');
  if (pglite) {
    const idleOk = pglite.idleMb <= IDLE_TARGET_MB;
    const loadedOk = pglite.finalMb <= LOADED_TARGET_MB;
    lines.push(
      `- Idle: ${fixed(pglite.idleMb)} MiB (target ≤ ${IDLE_TARGET_MB}) → **${idleOk ? 'met' : 'missed'}**.`,
      `- After the chat loads and the upload: ${fixed(pglite.finalMb)} MiB (target ≤ ${LOADED_TARGET_MB}) → **${loadedOk ? 'met' : 'missed'}**; highest peak during a phase ${fixed(pglite.peakMb)} MiB.`,
      `- First start (initdb in a short-lived child process): the gateway's process tree peaked at ${fixed(pglite.startupPeakTreeMb)} MiB before it served.`,
    );
    const postgres = results.find((result) => result.database === 'postgres');
    if (postgres) lines.push(`- The embedded database's share: ${fixed(pglite.idleMb - postgres.idleMb)} MiB idle, ${fixed(pglite.finalMb - postgres.finalMb)} MiB after the loads (PGlite minus Postgres, same run).`);
  }
  await publish({ key: 'embedded-memory', title: 'Embedded database memory: gateway RSS on PGlite', command: commandText('bench/embedded-memory.ts'), body: lines.join('\n') });
}

await main();
