/**
 * What the benchmarks read about a child process from /proc (Linux only): resident memory,
 * its high-water mark, CPU time, and proof that a pid is the process listening on a port.
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

const MIB = 1024 * 1024;
const CLOCK_TICKS_PER_SECOND = 100; // `getconf CLK_TCK` on Linux x86-64

export interface MemoryStatus {
  /** VmRSS now, MiB. */
  rssMb: number;
  /** VmHWM: peak resident set since start or since the last resetPeak, MiB. */
  peakMb: number;
  /** RssAnon (heap, buffers, JIT code) and RssFile (the node binary and other mapped files), MiB. */
  anonMb: number;
  fileMb: number;
}

export function memoryStatus(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const mib = (field: string) => (kib(field) * 1024) / MIB;
  return { rssMb: mib('VmRSS'), peakMb: mib('VmHWM'), anonMb: mib('RssAnon'), fileMb: mib('RssFile') };
}

/** Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`), so a phase gets its own peak. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after its closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  return (user + system) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU seconds of a process and its descendants: its own user + system time, that of its children
 * that exited and were waited for (cutime + cstime), and recursively that of the live ones. Stays
 * consistent across a child's exit, as long as the parent reaps its children (socat does).
 */
export function treeCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let seconds = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
  for (const child of childPids(pid)) {
    try {
      seconds += treeCpuSeconds(child);
    } catch {
      // exited while we looked: its time is in cutime/cstime once reaped
    }
  }
  return seconds;
}

/**
 * Databases this benchmark created: their Postgres backends (`postgres: 15/main: user DB host…`)
 * work for us; backends of other databases are other people's work.
 */
const ownDatabases = new Set<string>();
export function claimDatabase(name: string): void {
  ownDatabases.add(name);
}

/** Whose a postgres process is, from its title: a backend of one of our databases, someone else's, or the server's own. */
function postgresOwner(pid: number): 'ours' | 'foreign' | 'server' {
  const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  // Backends: `postgres: 15/main: <user> <database> <host(port)|[local]> <state>`; autovacuum: `… autovacuum worker <database>`.
  const database = /^postgres: [^:]+: (?:\S+ (\S+) (?:\S+\(\d+\)|\[local\])|autovacuum worker (\S+))/.exec(title)?.slice(1).find(Boolean);
  if (!database) return 'server'; // postmaster, checkpointer, walwriter, autovacuum, …
  return ownDatabases.has(database) ? 'ours' : 'foreign';
}

/** CPU seconds used so far by each backend of our databases, by pid. */
export function cpuOfOwnPostgresBackends(): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      if (postgresOwner(Number(entry)) === 'ours') seconds.set(Number(entry), cpuSeconds(Number(entry)));
    } catch {
      // exited while we looked
    }
  }
  return seconds;
}

/** CPU used between two snapshots; processes started in between count from zero, ones that exited are lost. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

export function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
}

/** Inodes of the sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 10) continue;
      const localPort = parseInt(columns[1]!.split(':')[1]!, 16);
      if (localPort === port && columns[3] === '0A') inodes.add(columns[9]!); // 0A = LISTEN
    }
  }
  return inodes;
}

/** True when `pid` holds the listening socket of `port`: it is the process that serves it. */
export function isListeningOn(pid: number, port: number): boolean {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return false;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode && inodes.has(inode)) return true;
  }
  return false;
}

/** Direct children of a process (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Samples VmRSS every `intervalMs` while a phase runs: VmHWM gives the peak, the samples show
 * when it happened (e.g. during spooling or during the upstream send).
 */
export class RssSampler {
  readonly samples: Array<{ atMs: number; rssMb: number }> = [];
  readonly #timer: NodeJS.Timeout;
  readonly #started = performance.now();

  constructor(pid: number, intervalMs = 100) {
    this.#timer = setInterval(() => {
      try {
        this.samples.push({ atMs: performance.now() - this.#started, rssMb: memoryStatus(pid).rssMb });
      } catch {
        // process gone: the caller finds out on its own
      }
    }, intervalMs);
  }

  stop(): { maxSampledMb: number } {
    clearInterval(this.#timer);
    return { maxSampledMb: Math.max(0, ...this.samples.map((sample) => sample.rssMb)) };
  }
}

/**
 * CPU used by processes outside this benchmark (not this process or its descendants, nor backends
 * of our databases; the postgres server's own processes and kernel threads are left out as they
 * may be working for us), sampled every second. Other work on the machine
 * skews every number, so the reports say how much there was.
 */
export class ForeignCpuMonitor {
  readonly #last = new Map<number, number>();
  #total = 0;
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#sample(true);
    this.#timer = setInterval(() => this.#sample(false), 1000);
    this.#timer.unref();
  }

  #sample(first: boolean): void {
    const parents = new Map<number, number>();
    const cpu = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(Number(entry), Number(fields[1]));
        if (command !== 'postgres' || postgresOwner(Number(entry)) === 'foreign') {
          cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND);
        }
      } catch {
        // exited while we looked
      }
    }
    const ours = (pid: number): boolean => {
      for (let current = pid, hops = 0; current > 1 && hops < 64; current = parents.get(current) ?? 0, hops += 1) {
        if (current === process.pid) return true;
      }
      return false;
    };
    for (const [pid, seconds] of cpu) {
      // Kernel threads (children of kthreadd, pid 2) do our writeback too: not counted as foreign.
      if (ours(pid) || pid === 2 || parents.get(pid) === 2) continue;
      if (!first) this.#total += seconds - (this.#last.get(pid) ?? seconds);
      this.#last.set(pid, seconds);
    }
  }

  /** Foreign CPU seconds since construction. */
  stop(): number {
    clearInterval(this.#timer);
    this.#sample(false);
    return this.#total;
  }
}
