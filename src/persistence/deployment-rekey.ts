/**
 * Re-keys rows stored under a deployment's previous id (config/deployment-id.ts: versions up to
 * 0.1.0 hashed secrets into default ids) to its current id, so that upgrading orphans no managed
 * copy. Every table with a `deployment_id` column is covered, including ones later migrations
 * add. Idempotent and safe with several instances: one transaction under an advisory lock, and
 * `UPDATE … WHERE deployment_id = <old>` does nothing the second time. Instances still running an
 * older version may write under old ids during a rolling upgrade: the runtime repeats this pass
 * periodically (it costs one indexed lookup per table and renamed id).
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from './database.ts';

export interface DeploymentRename {
  from: string;
  to: string;
}

export interface RekeyResult {
  /** Rows moved to their current id, over all tables. */
  rows: number;
  /** `table: message` for tables where a rename could not be applied (left as they were). */
  skipped: string[];
}

// Arbitrary constant shared by every instance: "udep" in ASCII.
const LOCK_KEY = 0x75646570;

export async function rekeyDeployments(db: Db, renames: readonly DeploymentRename[]): Promise<RekeyResult> {
  const result: RekeyResult = { rows: 0, skipped: [] };
  const wanted = renames.filter((rename) => rename.from !== rename.to);
  if (wanted.length === 0) return result;
  await db.transaction(async (transaction) => {
    await transaction.execute(sql`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    const tables = rowsOf<{ table_name: string }>(
      await transaction.execute(sql`
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND c.column_name = 'deployment_id' AND t.table_type = 'BASE TABLE'
        ORDER BY c.table_name`),
    ).map((row) => row.table_name);
    for (const table of tables) {
      const from = wanted.map((rename) => rename.from);
      // Skip the savepoint work when nothing in this table uses an old id (the usual case).
      const present = rowsOf(await transaction.execute(sql`SELECT 1 FROM ${sql.identifier(table)} WHERE deployment_id = ANY(${toArray(from)}) LIMIT 1`));
      if (present.length === 0) continue;
      for (const rename of wanted) {
        // A unique clash (a row already under the new id) must not undo the other tables' work.
        await transaction.execute(sql`SAVEPOINT rekey`);
        try {
          const moved = await transaction.execute(
            sql`UPDATE ${sql.identifier(table)} SET deployment_id = ${rename.to} WHERE deployment_id = ${rename.from} RETURNING 1`,
          );
          result.rows += rowsOf(moved).length;
          await transaction.execute(sql`RELEASE SAVEPOINT rekey`);
        } catch (error) {
          await transaction.execute(sql`ROLLBACK TO SAVEPOINT rekey`);
          result.skipped.push(`${table}: ${(error as Error).message}`);
        }
      }
    }
  });
  return result;
}

/** A text[] parameter both drivers accept. */
function toArray(values: readonly string[]) {
  return sql`${`{${values.map((value) => JSON.stringify(value)).join(',')}}`}::text[]`;
}
