// Preloaded into the gateway by the benchmarks (`node --import ./bench/support/memory-probe.mjs
// bin/unifile.js …`, plain JS so it needs no loader). Samples process.memoryUsage() every 25 ms and,
// on SIGUSR2, writes the current values and the maxima since the previous SIGUSR2 to the file named
// by BENCH_MEMORY_PROBE, so a benchmark can split a phase's peak RSS into V8 heap and buffers.
import { writeFileSync } from 'node:fs';

const target = process.env.BENCH_MEMORY_PROBE;
if (target) {
  let peak = {};
  let sequence = 0;
  const sample = () => {
    for (const [name, value] of Object.entries(process.memoryUsage())) peak[name] = Math.max(peak[name] ?? 0, value);
  };
  setInterval(sample, 25).unref();
  process.on('SIGUSR2', () => {
    sample();
    sequence += 1;
    writeFileSync(target, JSON.stringify({ sequence, now: process.memoryUsage(), peak }));
    peak = {};
  });
}
