/**
 * What a chat benchmark's main() sets up first: the command line it prints in its report, a
 * scratch directory, and the clean-up steps (processes, databases) run in reverse order at the
 * end or on Ctrl-C.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './processes.ts';

/** One line of progress on stderr, with the time. */
export const log = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

export interface BenchRun {
  /** This benchmark's command line, as the report prints it. */
  command: string;
  directory: string;
  /** Steps run by cleanup(), last added first. */
  cleanups: Array<() => Promise<unknown>>;
  cleanup(): Promise<void>;
}

export function startBenchRun(directoryPrefix: string): BenchRun {
  const command = `node ${process.execArgv.join(' ')} ${relative(REPO_ROOT, process.argv[1]!)} ${process.argv.slice(2).join(' ')}`.trim();
  const directory = mkdtempSync(join(tmpdir(), directoryPrefix));
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
    rmSync(directory, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    log('interrupted, cleaning up');
    void cleanup().then(() => process.exit(130));
  });
  return { command, directory, cleanups, cleanup };
}
