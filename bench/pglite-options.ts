/**
 * Where the embedded database's memory goes: PGlite alone (no gateway) under each arrangement
 * and setting tried, each in its own fresh Node process on a fresh data dir. Per configuration:
 * RSS after PGlite.create, after the migrations, idle, and after a small load (20,000 managed-file
 * rows inserted, 2,000 page queries); VmHWM; and for the initdb-in-a-child arrangements the
 * child's own peak. Prints a markdown table (not written to BENCHMARKS.md; the gateway-level
 * figures come from embedded-memory.ts).
 *
 *   node --import tsx bench/pglite-options.ts            # every configuration (~1 min quiet)
 *   node --import tsx bench/pglite-options.ts --one '<json>'   (internal: one configuration)
 *
 * The process runs under tsx (it imports the migrations from src/), which alone takes ~120 MiB;
 * the "PGlite's share" column subtracts the RSS measured before PGlite was loaded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { runMigrations } from '../src/persistence/migrate.ts';
import { REPO_ROOT } from './support/child-process.ts';
import { table } from './support/report.ts';

interface Configuration {
  label: string;
  /** Create the cluster in a separate process first (as src/persistence/embedded-database.ts does). */
  initdbInChild: boolean;
  settings: string[];
}

const SMALL = ['shared_buffers=16MB', 'work_mem=2MB', 'maintenance_work_mem=8MB', 'temp_buffers=1MB'];
const CONFIGURATIONS: Configuration[] = [
  { label: 'PGlite defaults, initdb in-process (main before this work)', initdbInChild: false, settings: [] },
  { label: 'shared_buffers=16MB, initdb in-process', initdbInChild: false, settings: ['shared_buffers=16MB'] },
  { label: 'defaults, initdb in a child process', initdbInChild: true, settings: [] },
  { label: 'shared_buffers=16MB, initdb in a child', initdbInChild: true, settings: ['shared_buffers=16MB'] },
  { label: `${SMALL.join(', ')}, initdb in a child (shipped)`, initdbInChild: true, settings: SMALL },
  { label: 'same with shared_buffers=8MB', initdbInChild: true, settings: ['shared_buffers=8MB', ...SMALL.slice(1)] },
  { label: 'same with shared_buffers=32MB', initdbInChild: true, settings: ['shared_buffers=32MB', ...SMALL.slice(1)] },
];

const mib = (field: string, pid: number | 'self' = 'self'): number => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
};

const startParams = (settings: string[]) => [...PGlite.defaultStartParams, ...settings.flatMap((setting) => ['-c', setting])];

async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 500));
}

/** One configuration, in this process; prints one JSON line. */
async function one(configuration: Configuration & { dataDir: string }): Promise<void> {
  const before = mib('VmRSS');
  const client = await PGlite.create(configuration.dataDir, { startParams: startParams(configuration.settings) });
  const created = mib('VmRSS');
  await runMigrations({
    query: async (text, params) => (await client.query(text, params)).rows as Record<string, unknown>[],
    exec: async (text) => void (await client.exec(text)),
  });
  await settle();
  const idle = mib('VmRSS');
  await client.query(
    `INSERT INTO managed_files (id, owner_id, purpose, filename, bytes, mime_type, target_model_names, created_at)
     SELECT 'file-uf_' || lpad(to_hex(g), 16, '0'), 'u' || (g % 50), 'user_data', 'doc-' || g || '.pdf', 1000 + g, 'application/pdf',
            ARRAY['gpt-4o-mini-openai'], timestamptz '2025-01-01' + (g / 3) * interval '1 second'
     FROM generate_series(1, 20000) AS g`,
  );
  for (let index = 0; index < 2000; index += 1) {
    await client.query(`SELECT * FROM managed_files WHERE owner_id = $1 AND status = 'active' ORDER BY created_at DESC, id DESC LIMIT 101`, [`u${index % 50}`]);
  }
  await settle();
  const loaded = mib('VmRSS');
  const shared = (await client.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]!.shared_buffers;
  await client.close();
  process.stdout.write(`${JSON.stringify({ before, created, idle, loaded, peak: mib('VmHWM'), shared })}\n`);
}

/** Creates the cluster in a child process, as the gateway does; returns that child's maximum RSS (GNU time), MiB. */
function initdbInChild(dataDir: string, settings: string[]): number {
  const script = `const { PGlite } = await import('@electric-sql/pglite');
const db = await PGlite.create(process.argv[1], { startParams: [...PGlite.defaultStartParams, ...JSON.parse(process.argv[2])] });
await db.close();`;
  const params = JSON.stringify(settings.flatMap((setting) => ['-c', setting]));
  const result = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, '--input-type=module', '-e', script, dataDir, params], { cwd: REPO_ROOT, encoding: 'utf8' });
  const kib = /MAXRSS (\d+)/.exec(result.stderr)?.[1];
  if (result.status !== 0 || !kib) throw new Error(`initdb child failed: ${result.stderr}`);
  return Number(kib) / 1024;
}

async function main(): Promise<void> {
  const index = process.argv.indexOf('--one');
  if (index >= 0) return one(JSON.parse(process.argv[index + 1]!) as Configuration & { dataDir: string });
  const rows: Array<Array<string | number>> = [];
  for (const configuration of CONFIGURATIONS) {
    const directory = mkdtempSync(join(tmpdir(), 'unifile-pglite-options-'));
    const dataDir = join(directory, 'data');
    mkdirSync(dataDir);
    try {
      const childPeak = configuration.initdbInChild ? initdbInChild(dataDir, configuration.settings).toFixed(0) : '–';
      const line = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/pglite-options.ts', '--one', JSON.stringify({ ...configuration, dataDir })], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }).trim().split('\n').at(-1)!;
      const reading = JSON.parse(line) as { before: number; created: number; idle: number; loaded: number; peak: number; shared: string };
      const fixed0 = (value: number) => value.toFixed(0);
      rows.push([
        configuration.label,
        reading.shared,
        fixed0(reading.created),
        fixed0(reading.idle),
        fixed0(reading.loaded),
        fixed0(reading.peak),
        `${fixed0(reading.idle - reading.before)} / ${fixed0(reading.loaded - reading.before)}`,
        childPeak,
      ]);
      process.stderr.write(`${configuration.label}: idle ${fixed0(reading.idle)} MiB, loaded ${fixed0(reading.loaded)} MiB\n`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }
  process.stdout.write(
    `${table(
      ['configuration', 'shared_buffers', 'RSS after create', 'idle after migrations', 'after 20k rows + 2k queries', 'VmHWM', "PGlite's share idle / loaded", 'initdb child peak'],
      rows,
    )}\n\nMiB; one fresh process and data dir per row, tsx loader included (~120 MiB before PGlite loads); Node ${process.version}.\n`,
  );
}

await main();
