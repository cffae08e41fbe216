/**
 * Applies migrations/*.sql in name order, each in its own transaction, under a session-level
 * advisory lock so that several instances starting at once apply each file exactly once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface SqlSession {
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  exec(text: string): Promise<void>;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
// Arbitrary constant shared by every instance: "unifile" in ASCII.
const LOCK_KEY = 0x756e6966;

export async function runMigrations(session: SqlSession): Promise<string[]> {
  const files = readdirSync(MIGRATIONS_DIR).filter((name) => name.endsWith('.sql')).sort();
  const applied: string[] = [];
  await session.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    await session.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await session.query('SELECT name FROM schema_migrations')).map((row) => String(row.name)));
    for (const name of files) {
      if (done.has(name)) continue;
      const sql = readFileSync(`${MIGRATIONS_DIR}${name}`, 'utf8');
      await session.exec('BEGIN');
      try {
        await session.exec(sql);
        await session.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
        await session.exec('COMMIT');
      } catch (error) {
        await session.exec('ROLLBACK');
        throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(name);
    }
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
  }
  return applied;
}
