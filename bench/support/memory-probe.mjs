// Preloaded into the gateway by the benchmarks (`node --import ./bench/support/memory-probe.mjs
// bin/unifile.js …`, plain JS so it needs no loader). Samples process.memoryUsage() every 25 ms and,
// on SIGUSR2, writes the current values and the maxima since the previous SIGUSR2 to the file named
// by BENCH_MEMORY_PROBE, so a benchmark can split a phase's peak RSS into V8 heap and buffers.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const target = process.env.BENCH_MEMORY_PROBE;
if (target) {
  let peak = {};
  let sequence = 0;
  const sample = () => {
    for (const [name, value] of Object.entries(process.memoryUsage())) peak[name] = Math.max(peak[name] ?? 0, value);
    // Committed size of each V8 heap space (new_space, old_space, large_object_space, …).
    for (const space of getHeapSpaceStatistics()) {
      const name = `space:${space.space_name}`;
      peak[name] = Math.max(peak[name] ?? 0, space.space_size);
    }
  };
  setInterval(sample, 25).unref();
  process.on('SIGUSR2', () => {
    sample();
    sequence += 1;
    writeFileSync(target, JSON.stringify({ sequence, now: process.memoryUsage(), peak }));
    peak = {};
  });
}
