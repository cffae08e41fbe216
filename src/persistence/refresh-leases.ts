/**
 * The lease query the background refreshers share (batches, fine-tuning jobs): rows another
 * instance is claiming right now are skipped (`FOR UPDATE SKIP LOCKED`), and the lease of a
 * crashed instance ends by itself. https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from './database.ts';

export interface LeaseTable {
  /** A table with status, next_refresh_at, lease_owner and lease_until columns. */
  name: 'batches' | 'fine_tuning_jobs';
  /** Statuses that need no more refreshing. */
  finished: readonly string[];
}

/** Leases up to `limit` unfinished rows due for a refresh to `owner` for `leaseMs`; their ids. */
export async function claimDueIds(db: Db, table: LeaseTable, owner: string, limit: number, leaseMs: number): Promise<string[]> {
  const name = sql.identifier(table.name);
  const finished = sql.join(table.finished.map((status) => sql`${status}`), sql`, `);
  const result = await db.execute(sql`
    UPDATE ${name} SET lease_owner = ${owner}, lease_until = now() + ${leaseMs} * interval '1 millisecond'
    WHERE id IN (
      SELECT id FROM ${name}
      WHERE status NOT IN (${finished})
        AND next_refresh_at <= now()
        AND (lease_until IS NULL OR lease_until < now())
      ORDER BY next_refresh_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id`);
  return rowsOf<{ id: string }>(result).map((row) => row.id);
}
