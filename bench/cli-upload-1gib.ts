/**
 * The files CLI with 1 GiB: `unifile files upload FILE --provider openai` and `unifile files
 * download ID -o PATH` through a real gateway process to the OpenAI emulator process. Records the
 * CLI process's own peak RSS (GNU time's maximum resident set size of the node process), its CPU
 * time, wall time and MB/s, the gateway's peak RSS, and checks the bytes that arrived (sha256 at
 * the emulator, sha256 of the downloaded file). Both commands run piped, i.e. in their quiet
 * one-JSON-line mode; a last upload runs on a pseudo-terminal (`script`) to show the progress bar
 * costs nothing extra in memory.
 *
 *   node --import tsx bench/cli-upload-1gib.ts [--size-mb 1024] [--runs 1]
 */
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './support/child-process.ts';
import { lastUploadedPart, OPENAI_KEY, startEmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY, startGateway } from './support/gateway-process.ts';
import { commandText, flag, median } from './support/measure.ts';
import { memoryStatus, resetPeak } from './support/proc-stats.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';
import { ensureTestFile, sha256OfFile, warmPageCache } from './support/test-file.ts';

const SIZE_MB = flag('size-mb', 1024);
const RUNS = flag('runs', 1);
const RSS_TARGET_MB = 128;

interface CliRun {
  stdout: string;
  /** GNU time: maximum resident set size (KiB → MiB), elapsed, user and system seconds. */
  peakMb: number;
  seconds: number;
  cpuSeconds: number;
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** `/usr/bin/time -f … node bin/unifile.js ARGS`, piped (or on a pty through `script` when `terminal`). */
async function runCli(args: string[], env: Record<string, string>, terminal = false): Promise<CliRun> {
  const marker = 'CLI-TIME';
  const timed = ['/usr/bin/time', '-f', `${marker} %M %e %U %S`, process.execPath, 'bin/unifile.js', ...args];
  const [command, ...rest] = terminal ? ['script', '-qefc', timed.map(quote).join(' '), '/dev/null'] : timed;
  const child = spawn(command!, rest, { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const all = `${stdout}\n${stderr}`;
  const match = new RegExp(`${marker} (\\d+) ([\\d.]+) ([\\d.]+) ([\\d.]+)`).exec(all);
  if (code !== 0 || !match) throw new Error(`unifile ${args.join(' ')} failed (${code}): ${all.slice(-2000)}`);
  return {
    stdout: stdout.replace(new RegExp(`${marker}.*\\n?`), ''),
    peakMb: Number(match[1]) / 1024,
    seconds: Number(match[2]),
    cpuSeconds: Number(match[3]) + Number(match[4]),
  };
}

async function main(): Promise<void> {
  await checkQuietMachine();
  const file = await ensureTestFile(SIZE_MB * 1024 * 1024);
  const emulators = await startEmulatorProcess(['openai']);
  const gateway = await startGateway({
    config: {
      files_settings: [{ custom_llm_provider: 'openai', api_base: `${emulators.url('openai')}/v1`, api_key: OPENAI_KEY }],
      general_settings: { max_upload_size_mb: Math.max(2048, SIZE_MB * 2) },
    },
  });
  const env = { UNIFILE_API_KEY: MASTER_KEY, UNIFILE_BASE_URL: gateway.url };
  const rows: Array<Array<string | number>> = [];
  const uploads: CliRun[] = [];
  const downloads: CliRun[] = [];
  let intact = true;
  let quietOk = true;
  let terminalUpload: CliRun | undefined;
  let floorMb = NaN;
  try {
    const target = join(tmpdir(), `unifile-cli-bench-download-${process.pid}.bin`);
    // The CLI's own floor: the same command with a 1 KiB file.
    const small = join(tmpdir(), `unifile-cli-bench-small-${process.pid}.bin`);
    await writeFile(small, Buffer.alloc(1024, 1));
    const baseline = await runCli(['files', 'upload', small, '--provider', 'openai'], env);
    await rm(small, { force: true });
    rows.push(['upload of 1 KiB (floor)', fixed(baseline.seconds), '', fixed(baseline.peakMb), fixed(baseline.cpuSeconds), '', '']);
    floorMb = baseline.peakMb;
    for (let run = 1; run <= RUNS; run += 1) {
      process.stderr.write(`run ${run}/${RUNS}: upload …\n`);
      await emulators.reset('openai');
      await warmPageCache(file);
      resetPeak(gateway.pid);
      const upload = await runCli(['files', 'upload', file.path, '--provider', 'openai', '--purpose', 'user_data'], env);
      const gatewayUploadPeak = memoryStatus(gateway.pid).peakMb;
      const lines = upload.stdout.split('\n').filter(Boolean);
      quietOk &&= lines.length === 1;
      const uploaded = JSON.parse(lines[0]!) as { id: string; bytes: number };
      const part = lastUploadedPart(await emulators.calls('openai'));
      intact &&= part.sha256 === file.sha256 && uploaded.bytes === file.bytes;
      uploads.push(upload);
      rows.push([`upload ${run}`, fixed(upload.seconds), fixed(file.bytes / 1e6 / upload.seconds), fixed(upload.peakMb), fixed(upload.cpuSeconds), fixed(gatewayUploadPeak), part.sha256 === file.sha256 ? 'yes' : '**NO**']);

      process.stderr.write(`run ${run}/${RUNS}: download …\n`);
      resetPeak(gateway.pid);
      const download = await runCli(['files', 'download', uploaded.id, '--provider', 'openai', '-o', target], env);
      const gatewayDownloadPeak = memoryStatus(gateway.pid).peakMb;
      quietOk &&= download.stdout.split('\n').filter(Boolean).length === 1;
      const downloadedSha = await sha256OfFile(target);
      intact &&= downloadedSha === file.sha256;
      downloads.push(download);
      rows.push([`download ${run}`, fixed(download.seconds), fixed(file.bytes / 1e6 / download.seconds), fixed(download.peakMb), fixed(download.cpuSeconds), fixed(gatewayDownloadPeak), downloadedSha === file.sha256 ? 'yes' : '**NO**']);
      await rm(target, { force: true });
    }
    process.stderr.write('upload on a pseudo-terminal (progress bar) …\n');
    await emulators.reset('openai');
    await warmPageCache(file);
    terminalUpload = await runCli(['files', 'upload', file.path, '--provider', 'openai'], env, true);
    const drewBar = /\r\S+ \S+ +\d+% \[[#-]+\]/.test(terminalUpload.stdout);
    rows.push(['upload on a pty (bar drawn: ' + (drewBar ? 'yes' : '**NO**') + ')', fixed(terminalUpload.seconds), fixed(file.bytes / 1e6 / terminalUpload.seconds), fixed(terminalUpload.peakMb), fixed(terminalUpload.cpuSeconds), '', lastUploadedPart(await emulators.calls('openai')).sha256 === file.sha256 ? 'yes' : '**NO**']);
    await emulators.reset('openai');
  } finally {
    await gateway.stop();
    await emulators.stop();
  }
  const peak = Math.max(...uploads.map((run) => run.peakMb), ...downloads.map((run) => run.peakMb), terminalUpload?.peakMb ?? 0);
  const body = [
    `Payload: ${file.bytes} random bytes (${fixed(file.bytes / 2 ** 30, 2)} GiB from the page cache), \`unifile files upload FILE --provider openai\` (a plain file, streamed by the gateway straight to the OpenAI emulator) and \`unifile files download ID --provider openai -o PATH\`, each a separate \`node bin/unifile.js\` process against the gateway process (Postgres) and the emulator process, ${RUNS} run(s).`,
    '',
    table(['run', 'seconds', 'MB/s', 'CLI peak RSS MiB', 'CLI CPU s', 'gateway peak RSS MiB', 'sha256 intact'], rows),
    '',
    `- CLI peak RSS over every run: **${fixed(peak)} MiB** (median upload ${fixed(median(uploads.map((run) => run.peakMb)))}, download ${fixed(median(downloads.map((run) => run.peakMb)))}); ${fixed(peak - floorMb)} MiB above the same command with a 1 KiB file (${fixed(floorMb)} MiB); target ≤ ${RSS_TARGET_MB} MiB → **${peak <= RSS_TARGET_MB ? 'met' : 'missed'}**.`,
    `- Quiet mode (stdout piped): exactly one JSON line on stdout per command: ${quietOk ? 'yes' : '**NO**'}; bytes intact everywhere: ${intact ? 'yes' : '**NO**'}.`,
    '- CLI peak RSS = GNU time `%M` (maximum resident set size of the node process); gateway peak = its VmHWM, reset before each command.',
  ].join('\n');
  await publish({ key: 'cli-upload-1gib', title: `CLI upload and download of ${SIZE_MB === 1024 ? '1 GiB' : `${SIZE_MB} MiB`}: memory of the \`unifile files\` process`, command: commandText('bench/cli-upload-1gib.ts'), body });
}

await main();
