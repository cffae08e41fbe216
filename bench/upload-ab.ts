/**
 * Before/after pairs for the 1 GiB passthrough upload in one field order: gateways built from
 * different trees (or started with different node flags) run side by side on one emulator, and
 * each round uploads straight to the emulator and then through one gateway, variant after
 * variant, in alternating order (ABBA…). Prints, per upload, the gateway/direct ratio, the
 * gateway's CPU-seconds, minor page faults and peak RSS (VmHWM, reset per upload). On a loaded
 * machine the ratios are noise; the CPU-seconds of alternating pairs are what to compare.
 * Writes nothing to BENCHMARKS.md.
 *
 *   node --import tsx bench/upload-ab.ts --variants 'before=/tmp/main-copy|;after=.|' [--order curl|sdk|download] [--rounds 4]
 *
 * `--order download`: the file is uploaded once straight to the emulator; each round then downloads
 * it direct and through each gateway (`GET /openai/v1/files/{id}/content`), and each row adds the
 * emulator's and the client's (this process's) CPU-seconds for the gateway download and the direct one.
 * A variant `floor=@floor|` is no gateway but bench/support/floor-proxy.mjs (bare node:http, the
 * answer piped back) in front of the same emulator: the least a Node proxy costs, in the same sitting
 * (BENCH_FLOOR_PROXY=path: another copy of that script).
 *
 * A variant is `name=tree|node flags`: `tree` is a directory holding bin/unifile.js, dist/ (built),
 * migrations/ and node_modules (a copy of another commit's build will do); its shebang's flags come
 * first, then the variant's (a later value of the same flag wins), e.g. `s16=.|--max-semi-space-size=16`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { binNodeFlags } from './support/bin-node-flags.ts';
import { freePort, waitForHttp } from './support/child-process.ts';
import { lastUploadedPart, OPENAI_KEY, startEmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY } from './support/gateway-process.ts';
import { download, uploadMultipart, type FieldOrder } from './support/http-client.ts';
import { flag, median } from './support/measure.ts';
import { createBenchDatabase, type BenchDatabase } from './support/postgres.ts';
import { cpuSeconds, memoryStatus, resetPeak } from './support/proc-stats.ts';
import { checkQuietMachine } from './support/report.ts';
import { ensureTestFile, warmPageCache } from './support/test-file.ts';

const ORDER = flag('order', 'curl') as FieldOrder | 'download';
const ROUNDS = flag('rounds', 4);
/** A file name prefix: each gateway's stdout goes to `<prefix>.<variant>` (e.g. with --trace-gc). */
const STDOUT = flag('stdout', '');

interface Row {
  ratio: number;
  cpu: number;
  faults: number;
  peakMb: number;
  /** Downloads: the emulator's and the client's CPU-seconds, through the gateway and direct. */
  others?: { emulator: number; client: number; directEmulator: number; directClient: number };
}

interface Variant {
  name: string;
  tree: string;
  flags: string[];
  /** bench/support/floor-proxy.mjs instead of a gateway (downloads only). */
  floor: boolean;
  child?: ChildProcess;
  url?: string;
  database?: BenchDatabase;
  directory?: string;
  rows: Row[];
}

const variants: Variant[] = flag('variants', 'current=.|')
  .split(';')
  .filter(Boolean)
  .map((spec) => {
    const at = spec.indexOf('=');
    const [tree = '.', flags = ''] = spec.slice(at + 1).split('|');
    return { name: spec.slice(0, at), tree: resolve(tree), floor: tree === '@floor', flags: flags.split(/\s+/).filter(Boolean), rows: [] };
  });

const minorFaults = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]);

await checkQuietMachine();
const file = await ensureTestFile(1024 * 1024 * 1024);
const emulators = await startEmulatorProcess(['openai']);
try {
  for (const variant of variants) {
    if (variant.floor) {
      await startFloor(variant);
      continue;
    }
    variant.directory = await mkdtemp(join(tmpdir(), 'unifile-bench-ab-'));
    variant.database = await createBenchDatabase();
    const config = join(variant.directory, 'config.yaml');
    await writeFile(
      config,
      stringify({
        files_settings: [{ custom_llm_provider: 'openai', api_base: `${emulators.url('openai')}/v1`, api_key: OPENAI_KEY }],
        general_settings: { max_upload_size_mb: 2048, master_key: MASTER_KEY, database_url: variant.database.url },
      }),
    );
    const port = await freePort();
    const args = [...binNodeFlags(variant.tree), ...variant.flags, 'bin/unifile.js', '--config', config, '--port', String(port), '--host', '127.0.0.1'];
    const stdout = STDOUT ? openSync(`${STDOUT}.${variant.name}`, 'w') : 'ignore';
    const child = spawn(process.execPath, args, { cwd: variant.tree, env: { ...process.env, UNIFILE_LOG_LEVEL: 'warn' }, stdio: ['ignore', stdout, 'inherit'] });
    variant.child = child;
    variant.url = `http://127.0.0.1:${port}`;
    const exited = new Promise<never>((_, reject) => child.once('exit', () => reject(new Error(`${variant.name}: the gateway exited`))));
    exited.catch(() => undefined);
    await Promise.race([waitForHttp(`${variant.url}/health/readiness`, 120_000), exited]);
    process.stderr.write(`${variant.name}: pid ${child.pid}, node ${args.slice(0, -7).join(' ')}, idle RSS ${memoryStatus(child.pid!).rssMb.toFixed(1)} MiB\n`);
  }
  if (ORDER === 'download') await downloadRounds();
  else await uploadRounds();
  for (const { name, rows } of variants) {
    const list = (pick: (row: Row) => number, digits: number) => rows.map((row) => pick(row).toFixed(digits)).join(' ');
    const others = rows[0]?.others
      ? `, emulator CPU-s median ${median(rows.map((row) => row.others!.emulator)).toFixed(2)} (direct ${median(rows.map((row) => row.others!.directEmulator)).toFixed(2)}), ` +
        `client ${median(rows.map((row) => row.others!.client)).toFixed(2)} (direct ${median(rows.map((row) => row.others!.directClient)).toFixed(2)})`
      : '';
    console.log(
      `${name} (${ORDER}): gateway/direct median ${(median(rows.map((row) => row.ratio)) * 100).toFixed(0)} % [${list((row) => row.ratio * 100, 0)}], ` +
        `gateway CPU-s median ${median(rows.map((row) => row.cpu)).toFixed(2)} [${list((row) => row.cpu, 2)}]${others}, peak RSS max ${Math.max(...rows.map((row) => row.peakMb)).toFixed(1)} MiB`,
    );
  }
} finally {
  for (const variant of variants) {
    const child = variant.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exit = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exit;
    }
    await variant.database?.drop();
    if (variant.directory) await rm(variant.directory, { recursive: true, force: true });
  }
  await emulators.stop();
}

async function downloadRounds(): Promise<void> {
  await warmPageCache(file);
  const upload = { filePath: file.path, fileBytes: file.bytes, filename: 'bench-1gib.bin', fields: [['purpose', 'user_data']] as Array<[string, string]>, order: 'curl' as const };
  const uploaded = await uploadMultipart({ ...upload, url: `${emulators.url('openai')}/v1/files`, key: OPENAI_KEY });
  if (uploaded.status !== 200) throw new Error(`direct upload: ${uploaded.status} ${uploaded.body}`);
  const id = encodeURIComponent((JSON.parse(uploaded.body) as { id: string }).id);
  const cpus = (pid: number) => [cpuSeconds(pid), cpuSeconds(emulators.pid), cpuSeconds(process.pid)];
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
      const pid = variant.child!.pid!;
      const beforeDirect = cpus(pid);
      const direct = await download(`${emulators.url('openai')}/v1/files/${id}/content`, OPENAI_KEY);
      const afterDirect = cpus(pid);
      resetPeak(pid);
      const faults = minorFaults(pid);
      const through = variant.floor
        ? await download(`${variant.url}/v1/files/${id}/content`, OPENAI_KEY)
        : await download(`${variant.url}/openai/v1/files/${id}/content`, MASTER_KEY);
      const after = cpus(pid);
      if (through.status !== 200 || through.sha256 !== file.sha256 || direct.sha256 !== file.sha256) throw new Error(`${variant.name}: ${through.status}, bytes differ`);
      const row: Row = {
        ratio: through.mbPerSecond / direct.mbPerSecond,
        cpu: after[0]! - afterDirect[0]!,
        faults: minorFaults(pid) - faults,
        peakMb: memoryStatus(pid).peakMb,
        others: {
          emulator: after[1]! - afterDirect[1]!,
          client: after[2]! - afterDirect[2]!,
          directEmulator: afterDirect[1]! - beforeDirect[1]!,
          directClient: afterDirect[2]! - beforeDirect[2]!,
        },
      };
      variant.rows.push(row);
      process.stderr.write(
        `${variant.name} round ${round}: direct ${direct.mbPerSecond.toFixed(0)} MB/s, gateway ${through.mbPerSecond.toFixed(0)} MB/s = ${(row.ratio * 100).toFixed(0)} %, ` +
          `CPU s gateway ${row.cpu.toFixed(2)} / emulator ${row.others!.emulator.toFixed(2)} / client ${row.others!.client.toFixed(2)} ` +
          `(direct: emulator ${row.others!.directEmulator.toFixed(2)} / client ${row.others!.directClient.toFixed(2)}), ${row.faults} minor faults, peak RSS ${row.peakMb.toFixed(1)} MiB, load ${loadavg()[0]!.toFixed(1)}\n`,
      );
    }
  }
}

async function startFloor(variant: Variant): Promise<void> {
  const port = await freePort();
  const script = process.env.BENCH_FLOOR_PROXY ?? resolve(import.meta.dirname, 'support/floor-proxy.mjs');
  // `--stream` (where the script has it) passes the answer's content-length on, as the gateway does.
  const mode = readFileSync(script, 'utf8').includes("'--stream'") ? ['--stream'] : [];
  const child = spawn(process.execPath, [...variant.flags, script, String(port), emulators.url('openai'), ...mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  variant.child = child;
  variant.url = `http://127.0.0.1:${port}`;
  await new Promise<void>((done, fail) => {
    child.stdout!.once('data', () => done());
    child.once('exit', () => fail(new Error('the floor proxy exited')));
  });
  process.stderr.write(`${variant.name}: floor proxy pid ${child.pid} on port ${port}\n`);
}

async function uploadRounds(): Promise<void> {
  const upload = { filePath: file.path, fileBytes: file.bytes, filename: 'bench-1gib.bin', fields: [['purpose', 'user_data']] as Array<[string, string]>, order: ORDER as FieldOrder };
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
      const pid = variant.child!.pid!;
      await emulators.reset('openai');
      await warmPageCache(file);
      const direct = await uploadMultipart({ ...upload, url: `${emulators.url('openai')}/v1/files`, key: OPENAI_KEY });
      await emulators.reset('openai');
      await warmPageCache(file);
      resetPeak(pid);
      const [faults, cpu] = [minorFaults(pid), cpuSeconds(pid)];
      const through = await uploadMultipart({ ...upload, url: `${variant.url}/openai/v1/files`, key: MASTER_KEY });
      const row = { ratio: through.mbPerSecond / direct.mbPerSecond, cpu: cpuSeconds(pid) - cpu, faults: minorFaults(pid) - faults, peakMb: memoryStatus(pid).peakMb };
      const part = lastUploadedPart(await emulators.calls('openai'));
      if (through.status !== 200 || part.sha256 !== file.sha256) throw new Error(`${variant.name}: ${through.status} ${through.body}`);
      variant.rows.push(row);
      process.stderr.write(
        `${variant.name} round ${round}: direct ${direct.mbPerSecond.toFixed(0)} MB/s, gateway ${through.mbPerSecond.toFixed(0)} MB/s = ${(row.ratio * 100).toFixed(0)} %, ` +
          `gateway CPU ${row.cpu.toFixed(2)} s, ${row.faults} minor faults, peak RSS ${row.peakMb.toFixed(1)} MiB, load ${loadavg()[0]!.toFixed(1)}\n`,
      );
    }
  }
}
