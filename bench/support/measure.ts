/** Running one measured phase against the gateway process: its peak RSS, CPU time and duration. */
import { cpuSeconds, memoryStatus, resetPeak, RssSampler } from './proc-stats.ts';

export interface PhaseStats {
  /** VmHWM during the phase (reset at its start), MiB. */
  peakMb: number;
  /** Highest 100 ms VmRSS sample, MiB (a cross-check of peakMb). */
  sampledPeakMb: number;
  /** RSS right after the phase, MiB. */
  rssAfterMb: number;
  /** CPU seconds per watched process (user + system) during the phase. */
  cpu: Record<string, number>;
}

/** Runs `work` while watching `pid` (memory + CPU) and, for CPU only, the `others`. */
export async function measurePhase<T>(pid: number, others: Record<string, number>, work: () => Promise<T>): Promise<{ result: T; stats: PhaseStats }> {
  const watched: Record<string, number> = { gateway: pid, ...others };
  const cpuBefore = Object.fromEntries(Object.entries(watched).map(([name, watchedPid]) => [name, cpuSeconds(watchedPid)]));
  resetPeak(pid);
  const sampler = new RssSampler(pid);
  const result = await work();
  const { maxSampledMb } = sampler.stop();
  const memory = memoryStatus(pid);
  const cpu = Object.fromEntries(Object.entries(watched).map(([name, watchedPid]) => [name, cpuSeconds(watchedPid) - cpuBefore[name]!]));
  return { result, stats: { peakMb: memory.peakMb, sampledPeakMb: maxSampledMb, rssAfterMb: memory.rssMb, cpu } };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
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
