/** Markdown output: tables, the machine description, and one replaceable section per benchmark in BENCHMARKS.md. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './child-process.ts';
import { ForeignCpuMonitor } from './proc-stats.ts';

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (nproc), ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}`;
}

/** Busy and total jiffies of all CPUs, from the first line of /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = values[3]! + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

let monitor: { foreign: ForeignCpuMonitor; started: number } | undefined;
let calibration: number[] = [];

/**
 * Single-core speed right now: sha256 over 256 MiB in memory, MB/s. This VM's cores run at
 * visibly different speeds from one quiet hour to the next (identical runs differ up to 2×), so
 * every section records it at the start and the end, to compare runs with.
 */
function cpuCalibration(): number {
  const block = Buffer.alloc(16 * 1024 * 1024, 7);
  const started = performance.now();
  const hash = createHash('sha256');
  for (let index = 0; index < 16; index += 1) hash.update(block);
  hash.digest();
  return (16 * block.length) / 1e6 / ((performance.now() - started) / 1000);
}

/**
 * Waits (up to BENCH_QUIET_WAIT_S seconds, default 600) for the machine to be quiet — under 10 %
 * busy over 2 s — then starts counting the CPU other processes use during the run; publish()
 * reports it, because on a small machine other work skews every number here.
 */
export async function checkQuietMachine(): Promise<void> {
  const deadline = Date.now() + Number(process.env.BENCH_QUIET_WAIT_S ?? 600) * 1000;
  for (;;) {
    const before = cpuTimes();
    await sleep(2000);
    const after = cpuTimes();
    const busy = (after.busy - before.busy) / (after.total - before.total);
    if (busy <= 0.1) break;
    if (Date.now() > deadline) {
      process.stderr.write(`warning: the machine is still ${fixed(busy * 100, 0)} % busy; starting anyway\n`);
      break;
    }
    process.stderr.write(`the machine is ${fixed(busy * 100, 0)} % busy with other work; waiting for it to calm down …\n`);
    await sleep(8000);
  }
  calibration = [cpuCalibration()];
  monitor = { foreign: new ForeignCpuMonitor(), started: performance.now() };
}

function foreignNote(): string[] {
  if (!monitor) return [];
  const seconds = monitor.foreign.stop();
  const share = seconds / ((performance.now() - monitor.started) / 1000);
  const text = `Other processes used ${fixed(seconds)} CPU-seconds during the run (${fixed(share * 100, 0)} % of one core on average)`;
  const speed = [...calibration, cpuCalibration()].map((value) => fixed(value, 0)).join(' MB/s at the start, ');
  return [
    share > 0.1 ? `- **Warning:** ${text}: the numbers are skewed.` : `- Quiet machine: ${text}.`,
    `- CPU speed check (sha256 of 256 MiB on one core): ${speed} MB/s at the end.`,
  ];
}

export const fixed = (value: number, digits = 1): string => value.toFixed(digits);

export interface Section {
  /** Stable key, e.g. `upload-1gib`: a rerun replaces the section with this key. */
  key: string;
  title: string;
  /** The exact command that produced it. */
  command: string;
  body: string;
  /** false: print the section only, leave BENCHMARKS.md as it is. */
  write?: boolean;
}

/** Prints the section and writes it into BENCHMARKS.md, replacing an older one with the same key. */
export async function publish(section: Section): Promise<void> {
  const start = `<!-- bench:${section.key}:start -->`;
  const end = `<!-- bench:${section.key}:end -->`;
  const text = [
    start,
    `## ${section.title}`,
    '',
    `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `- Machine: ${machine()}`,
    `- Command: \`${section.command}\``,
    ...foreignNote(),
    '',
    section.body.trim(),
    end,
  ].join('\n');
  process.stdout.write(`\n${text}\n`);
  if (section.write === false) return;
  const path = join(REPO_ROOT, 'BENCHMARKS.md');
  let current = await readFile(path, 'utf8').catch(() => '');
  if (!current) current = '# Benchmarks\n\nRecorded by the scripts in `bench/` (see bench/README.md); each section is replaced when its script runs again.\n';
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + text + current.slice(to + end.length) : `${current.trimEnd()}\n\n${text}\n`;
  await writeFile(path, next);
  process.stdout.write(`\n(section '${section.key}' written to BENCHMARKS.md)\n`);
}
