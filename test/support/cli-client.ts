/** Runs the real `bin/unifile.js` (compiled dist/) as a client command: piped, or on a pseudo-terminal via `script`. */
import { spawn, spawnSync } from 'node:child_process';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/unifile.js ARGS` with stdout and stderr piped (so not terminals), and only `env` besides PATH. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['bin/unifile.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The same on a pseudo-terminal: util-linux `script -qfc CMD /dev/null` gives the command a tty
 * as stdin, stdout and stderr and copies everything it writes to our stdout. `script` returns
 * the command's exit code (`-e`).
 */
export async function runCliOnTerminal(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  if (spawnSync('script', ['--version']).error) {
    throw new Error("util-linux 'script' is missing: install it (Debian: apt-get install bsdutils) to run the terminal tests");
  }
  const command = [process.execPath, 'bin/unifile.js', ...args].map(quote).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, TERM: 'xterm', COLUMNS: '120', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, output };
}
