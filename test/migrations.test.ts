/** Migrations at startup are safe when several instances start at once (advisory lock). */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/persistence/database.ts';
import { createTestDatabase } from './support/test-database.ts';

test('three instances migrating one fresh database apply each migration exactly once', async (t) => {
  const target = await createTestDatabase();
  if (!target.url) return t.skip('needs TEST_DATABASE_URL (a shared Postgres); PGlite is single-process');
  try {
    const instances = await Promise.all([0, 1, 2].map(() => openDatabase({ url: target.url, dataDir: '' })));
    const result = (await instances[0]!.db.execute(sql`SELECT name FROM schema_migrations ORDER BY name`)) as unknown as { rows: Array<{ name: string }> };
    const files = readdirSync(new URL('../migrations/', import.meta.url)).filter((name) => name.endsWith('.sql')).sort();
    assert.deepEqual(result.rows.map((row) => row.name), files);
    await Promise.all(instances.map((instance) => instance.close()));
  } finally {
    await target.drop();
  }
});

test('the embedded database migrates and answers', async () => {
  const database = await openDatabase({ dataDir: 'memory://' });
  const result = (await database.db.execute(sql`SELECT count(*)::int AS n FROM managed_files`)) as unknown as { rows: Array<{ n: number }> };
  assert.equal(result.rows[0]!.n, 0);
  assert.equal(database.kind, 'pglite');
  await database.close();
});
