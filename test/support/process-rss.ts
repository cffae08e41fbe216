import { readFileSync } from 'node:fs';

/** A process's resident set size now (VmRSS of /proc/<pid>/status, https://man7.org/linux/man-pages/man5/proc_pid_status.5.html), bytes. */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}
