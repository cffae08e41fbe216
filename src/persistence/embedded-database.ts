/**
 * How the embedded PGlite database is started so that it fits in a small process.
 *
 * Where the memory went (measured, see BENCHMARKS.md "Embedded database memory"):
 * - `shared_buffers` defaults to 128MB, and PGlite's shared memory lives inside the WebAssembly
 *   heap, which is zero-filled at start: all 128 MiB became resident at once. A WebAssembly
 *   memory never shrinks, so whatever the backend touches stays resident. The gateway's data is
 *   small (keys, file mappings), so a small buffer pool and small per-query memory suffice.
 * - A first start on an empty data directory runs initdb through a second, temporary PGlite
 *   instance; in PGlite 0.5 its WebAssembly memory and the data-directory dump stay reachable
 *   after it closes (~450 MiB resident for good). So initdb runs in a short-lived child process
 *   that exits before the gateway serves, and the gateway only ever opens an existing directory.
 *
 * Options: https://pglite.dev/docs/api (startParams, initialMemory) and the GUCs of
 * https://www.postgresql.org/docs/current/runtime-config-resource.html
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { childNodeEnvironment } from '../config/child-environment.ts';

/** Postgres settings for the embedded backend, on top of PGlite's own start parameters. */
export const EMBEDDED_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
  work_mem: '2MB',
  maintenance_work_mem: '8MB',
  temp_buffers: '1MB',
};

const run = promisify(execFile);

/**
 * Run by `node --input-type=module -e` with the PGlite module URL, the data directory and the
 * settings as JSON: creates the cluster and exits (peak ~770 MiB with the small settings,
 * ~890 MiB without: the initdb instance plus the first start). Plain JavaScript, so it runs the same from dist/ and from the sources.
 */
const INITDB_SCRIPT = `
const [moduleUrl, dataDir, settings] = process.argv.slice(1);
const { PGlite } = await import(moduleUrl);
const db = await PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, ...JSON.parse(settings)] });
await db.close();
`;

/** Opens (and on first use creates) the embedded database in `dataDir` ("memory://" keeps it in memory). */
export async function openEmbedded(dataDir: string): Promise<PGlite> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) {
    mkdirSync(dataDir, { recursive: true });
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initdbInChildProcess(dataDir);
  }
  return PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, ...settingParams()] });
}

function settingParams(): string[] {
  return Object.entries(EMBEDDED_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}

async function initdbInChildProcess(dataDir: string): Promise<void> {
  const moduleUrl = import.meta.resolve('@electric-sql/pglite');
  try {
    await run(process.execPath, ['--input-type=module', '-e', INITDB_SCRIPT, moduleUrl, dataDir, JSON.stringify(settingParams())], {
      env: childNodeEnvironment(),
      maxBuffer: 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`creating the embedded database in ${dataDir} failed${stderr ? `: ${stderr.slice(-2000)}` : ''}`, { cause: error });
  }
}
