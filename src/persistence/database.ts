/**
 * The one place that opens the database: server Postgres through `pg` when a URL is given,
 * else embedded PGlite in the data directory. Same schema, same SQL, same migrations.
 */
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { openEmbedded } from './embedded-database.ts';
import { runMigrations, type SqlSession } from './migrate.ts';
import * as schema from './schema.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  /**
   * LISTEN on `channel` (a plain identifier). `onGap` is called whenever notifications may have
   * been missed (the listening connection dropped; again once it is back). Returns a stop function.
   */
  listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface ListenHandlers {
  onMessage(payload: string): void;
  onGap(): void;
}

export interface DatabaseOptions {
  /** postgres:// URL; without one PGlite is used. */
  url?: string;
  /** PGlite data directory; "memory://" keeps it in memory. */
  dataDir: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url) : openPglite(options.dataDir);
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // A dropped idle connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const client = await pool.connect();
  try {
    await runMigrations(sessionFromPg(client));
  } finally {
    client.release();
  }
  return {
    db: drizzlePg(pool, { schema }) as unknown as Db,
    kind: 'postgres',
    ping: async () => {
      await pool.query('SELECT 1');
    },
    listen: (channel, handlers) => listenPostgres(url, channel, handlers),
    close: () => pool.end(),
  };
}

/**
 * PGlite databases this process has open, by data directory. One PGlite instance owns its data
 * (https://pglite.dev/docs/multi-tab-worker: a database has a single connection), so a second
 * runtime in the same process on the same directory — two gateways in one process, or tests of
 * two instances on the embedded database — shares the first one's instance; it closes with the
 * last of them. A bare "memory://" is always a fresh database of its own.
 */
const sharedPglites = new Map<string, { opened: Promise<Database>; users: number }>();

async function openPglite(dataDir: string): Promise<Database> {
  if (dataDir === 'memory://') return openPgliteInstance(dataDir);
  let entry = sharedPglites.get(dataDir);
  if (!entry) {
    const opened = openPgliteInstance(dataDir);
    entry = { opened, users: 0 };
    sharedPglites.set(dataDir, entry);
    opened.catch(() => sharedPglites.delete(dataDir));
  }
  const shared = entry;
  shared.users += 1;
  let database: Database;
  try {
    database = await shared.opened;
  } catch (error) {
    shared.users -= 1;
    throw error;
  }
  let closed = false;
  return {
    ...database,
    close: async () => {
      if (closed) return;
      closed = true;
      shared.users -= 1;
      if (shared.users > 0) return;
      sharedPglites.delete(dataDir);
      await database.close();
    },
  };
}

async function openPgliteInstance(dataDir: string): Promise<Database> {
  const client = await openEmbedded(dataDir);
  await runMigrations({
    query: async (text, params) => (await client.query(text, params)).rows as Record<string, unknown>[],
    exec: async (text) => {
      await client.exec(text);
    },
  });
  return {
    db: drizzlePglite(client, { schema }) as unknown as Db,
    kind: 'pglite',
    ping: async () => {
      await client.query('SELECT 1');
    },
    // One process owns a PGlite database: its own notifications are all there is to hear.
    listen: async (channel, handlers) => {
      const stop = await client.listen(channel, (payload) => handlers.onMessage(payload));
      return async () => {
        if (!client.closed) await stop();
      };
    },
    close: () => client.close(),
  };
}

/** A dedicated connection (LISTEN needs one), reconnected after a drop with a gap reported both times. */
async function listenPostgres(url: string, channel: string, handlers: ListenHandlers): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) handlers.onMessage(message.payload);
    });
    const lost = () => {
      if (stopped || client !== next) return;
      client = undefined;
      handlers.onGap();
      next.end().catch(() => undefined);
      retry = setTimeout(() => void connect().catch(() => undefined), 1000);
      retry.unref();
    };
    next.on('error', lost);
    next.on('end', lost);
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN "${channel}"`);
    } catch (error) {
      lost();
      throw error;
    }
    handlers.onGap(); // whatever happened while no one listened
  };
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}

function sessionFromPg(client: pg.PoolClient): SqlSession {
  return {
    query: async (text, params) => (await client.query(text, params)).rows,
    exec: async (text) => {
      await client.query(text);
    },
  };
}

/** The rows of a raw `db.execute` result: node-postgres gives `{ rows }`, PGlite the same shape. */
export function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}
