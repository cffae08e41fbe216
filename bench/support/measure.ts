/** Running one measured phase against the gateway process: its peak RSS, CPU time and duration. */
import type { GcCounts, MemoryProbe, MemoryUsageMb } from './memory-probe.ts';
import { cpuSeconds, memoryStatus, resetPeak, RssSampler } from './proc-stats.ts';

export interface PhaseStats {
  /** VmHWM during the phase (reset at its start), MiB. */
  peakMb: number;
  /** Highest 100 ms VmRSS sample, MiB (a cross-check of peakMb). */
  sampledPeakMb: number;
  /** RSS right after the phase, MiB. */
  rssAfterMb: number;
  /** memoryUsage() maxima inside the gateway during the phase (when it runs the probe). */
  heapPeak: MemoryUsageMb | undefined;
  /** The gateway's garbage collections during the phase (when it runs the probe). */
  gcs: GcCounts | undefined;
  /** CPU seconds (user + system) during the phase: gateway, each of `others`, and this client. */
  cpu: Record<string, number>;
}

/**
 * Runs `work` while watching the gateway (memory + CPU) and, for CPU only, the `others`: a pid, or a
 * function that reads CPU seconds so far (e.g. a process tree's, proc-stats.ts treeCpuSeconds).
 */
export async function measurePhase<T>(
  gateway: { pid: number; probe?: MemoryProbe | undefined },
  others: Record<string, number | (() => number)>,
  work: () => Promise<T>,
): Promise<{ result: T; stats: PhaseStats }> {
  const watched: Record<string, number | (() => number)> = { gateway: gateway.pid, ...others };
  const cpuOf = (source: number | (() => number)) => (typeof source === 'number' ? cpuSeconds(source) : source());
  const cpuBefore = Object.fromEntries(Object.entries(watched).map(([name, source]) => [name, cpuOf(source)]));
  const clientBefore = process.cpuUsage();
  await gateway.probe?.read(); // opens a new maxima window
  resetPeak(gateway.pid);
  const sampler = new RssSampler(gateway.pid);
  const result = await work();
  const { maxSampledMb } = sampler.stop();
  const memory = memoryStatus(gateway.pid);
  const reading = await gateway.probe?.read();
  const heapPeak = reading?.peak;
  const cpu = Object.fromEntries(Object.entries(watched).map(([name, source]) => [name, cpuOf(source) - cpuBefore[name]!]));
  const client = process.cpuUsage(clientBefore);
  cpu.client = (client.user + client.system) / 1e6;
  return { result, stats: { peakMb: memory.peakMb, sampledPeakMb: maxSampledMb, rssAfterMb: memory.rssMb, heapPeak, gcs: reading?.gcs, cpu } };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `median (min–max)`, or just the value for a single run. */
export function spread(values: number[], digits = 1): string {
  const text = median(values).toFixed(digits);
  if (values.length < 2) return text;
  return `${text} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

/** Parses `--name value` flags with defaults (numbers stay numbers). */
export function flag(name: string, fallback: number): number;
export function flag(name: string, fallback: string): string;
export function flag(name: string, fallback: number | string): number | string {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0 || index + 1 >= process.argv.length) return fallback;
  const value = process.argv[index + 1]!;
  return typeof fallback === 'number' ? Number(value) : value;
}

/** The command line as typed, for the report. */
export function commandText(script: string): string {
  return ['node --import tsx', script, ...process.argv.slice(2)].join(' ');
}
