// Preloaded into the gateway by the benchmarks (`node --import ./bench/support/memory-probe.mjs
// bin/unifile.js …`, plain JS so it needs no loader). Samples process.memoryUsage() every 25 ms (or
// every BENCH_MEMORY_PROBE_MS: each sample costs the gateway some CPU, a long phase many) and,
// on SIGUSR2, writes the current values and the maxima since the previous SIGUSR2 to the file named
// by BENCH_MEMORY_PROBE, so a benchmark can split a phase's peak RSS into V8 heap and buffers.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const target = process.env.BENCH_MEMORY_PROBE;
if (target) {
  let peak = {};
  let sequence = 0;
  // Garbage collections since the previous SIGUSR2: count and milliseconds (main-thread pause) by kind.
  const emptyGc = () => ({ minor: 0, major: 0, minorMs: 0, majorMs: 0 });
  let gcs = emptyGc();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 'major' : entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : undefined;
      if (!kind) continue;
      gcs[kind] += 1;
      gcs[`${kind}Ms`] += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const sample = () => {
    for (const [name, value] of Object.entries(process.memoryUsage())) peak[name] = Math.max(peak[name] ?? 0, value);
  };
  setInterval(sample, Number(process.env.BENCH_MEMORY_PROBE_MS) || 25).unref();
  process.on('SIGUSR2', () => {
    // `<file>.gc` present (and node run with --expose-gc): collect everything first, so that a phase
    // starts from the heap an idle gateway settles at, not from what the previous phase grew.
    if (existsSync(`${target}.gc`)) {
      rmSync(`${target}.gc`);
      globalThis.gc?.();
    }
    sample();
    sequence += 1;
    writeFileSync(target, JSON.stringify({ sequence, now: process.memoryUsage(), peak, gcs }));
    peak = {};
    gcs = emptyGc();
  });
}
