import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process's resident set size now (VmRSS of /proc/<pid>/status, https://man7.org/linux/man-pages/man5/proc_pid_status.5.html), bytes. */
function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/** What an upstream has sent so far, as the test's own upstream counts it. */
export interface UpstreamProgress {
  bytes: number;
  finished: boolean;
}

/**
 * With the client's socket just paused: waits until what was in flight has settled into the socket
 * buffers (the upstream sent nothing for 300 ms; at most 20 s — a gateway that does not hold the
 * upstream back never settles, and the caller's checks then fail), then samples the gateway's RSS
 * for 3 s. Returns the RSS when settled, its peak over the 3 s, and what the upstream had sent when settled.
 */
export async function rssWhileReaderPaused(pid: number, upstream: UpstreamProgress): Promise<{ baseline: number; peak: number; sentAtPause: number }> {
  for (let last = -1, deadline = Date.now() + 20_000; upstream.bytes !== last && !upstream.finished && Date.now() < deadline; ) {
    last = upstream.bytes;
    await sleep(300);
  }
  const baseline = rssBytes(pid);
  const sentAtPause = upstream.bytes;
  let peak = baseline;
  for (let i = 0; i < 30; i += 1) {
    await sleep(100);
    peak = Math.max(peak, rssBytes(pid));
  }
  return { baseline, peak, sentAtPause };
}
