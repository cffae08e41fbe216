/** The benchmark side of memory-probe.mjs: ask the gateway for its memoryUsage() maxima of a phase. */
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MemoryUsageMb {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Garbage collections in the window: scavenges (minor) and mark-compacts (major), with their main-thread ms. */
export interface GcCounts {
  minor: number;
  major: number;
  minorMs: number;
  majorMs: number;
}

export interface ProbeReading {
  now: MemoryUsageMb;
  /** Collections since the previous reading (undefined from a probe that predates the count). */
  gcs: GcCounts | undefined;
  /** Maxima since the previous reading (sampled every 25 ms, or BENCH_MEMORY_PROBE_MS). */
  peak: MemoryUsageMb;
}

const toMb = (usage: Record<string, number>): MemoryUsageMb => {
  const mb = (name: string) => (usage[name] ?? NaN) / 2 ** 20;
  return { rss: mb('rss'), heapTotal: mb('heapTotal'), heapUsed: mb('heapUsed'), external: mb('external'), arrayBuffers: mb('arrayBuffers') };
};

export class MemoryProbe {
  #sequence = 0;
  constructor(
    private readonly pid: number,
    /** The file the preloaded probe writes (BENCH_MEMORY_PROBE in the gateway's environment). */
    readonly path: string,
  ) {}

  /**
   * Signals the gateway and waits for its answer; also starts a new maxima window. `collect`: run a
   * full garbage collection first (the gateway must run with --expose-gc, GatewayOptions.exposeGc).
   */
  async read(options: { collect?: boolean } = {}): Promise<ProbeReading> {
    if (options.collect) await writeFile(`${this.path}.gc`, '');
    this.#sequence += 1;
    process.kill(this.pid, 'SIGUSR2');
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const parsed = await readFile(this.path, 'utf8')
        .then((text) => JSON.parse(text) as { sequence: number; now: Record<string, number>; peak: Record<string, number>; gcs?: GcCounts })
        .catch(() => undefined); // not written yet, or caught mid-write
      if (parsed) {
        if (parsed.sequence >= this.#sequence) {
          this.#sequence = parsed.sequence;
          return { now: toMb(parsed.now), peak: toMb(parsed.peak), gcs: parsed.gcs };
        }
      }
      await sleep(10);
    }
    throw new Error(`the memory probe in pid ${this.pid} did not answer`);
  }
}
