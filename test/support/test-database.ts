/**
 * A fresh database per test file: a new database on TEST_DATABASE_URL's server when set,
 * else an in-memory PGlite under a name of its own, which a second gateway of the same test
 * (two instances) opens as the same database (persistence/database.ts shares it in-process).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  /** postgres:// URL, or undefined for PGlite. */
  url: string | undefined;
  dataDir: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const server = process.env.TEST_DATABASE_URL;
  if (!server) return { url: undefined, dataDir: `memory://unifile-test-${randomBytes(6).toString('hex')}`, drop: async () => undefined };
  const name = `unifile_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir: '',
    drop: async () => {
      const client = new pg.Client({ connectionString: server });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
