/**
 * Managed files and their per-deployment copies. Visible = status 'active' and not expired.
 * Deleted rows stay as tombstones for a day so an `after` cursor naming a file deleted
 * mid-pagination still has a position.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Principal } from '../core/access-policy.ts';
import { rowsOf, type Db } from './database.ts';
import { managedFileCopies, managedFiles, pendingProviderDeletes, type CopyState } from './schema.ts';

export type ManagedFileRow = typeof managedFiles.$inferSelect;
export type ManagedCopyRow = typeof managedFileCopies.$inferSelect;
export type NewManagedFile = Omit<typeof managedFiles.$inferInsert, 'status'>;
export type NewManagedCopy = Omit<typeof managedFileCopies.$inferInsert, 'fileId' | 'status'>;

export interface ManagedListQuery {
  limit: number;
  order: 'asc' | 'desc';
  after?: string;
  purpose?: string;
  /** Files targeted at every one of these model names. */
  targetModelNames: string[];
}

const VISIBLE = sql`${managedFiles.status} = 'active' AND (${managedFiles.expiresAt} IS NULL OR ${managedFiles.expiresAt} > now())`;

export class ManagedFileRepository {
  constructor(private readonly db: Db) {}

  /** Writes the file and all its copies atomically. */
  async insert(file: NewManagedFile, copies: NewManagedCopy[]): Promise<ManagedFileRow> {
    return this.db.transaction(async (transaction) => {
      const [row] = await transaction.insert(managedFiles).values({ ...file, status: 'active' }).returning();
      if (copies.length > 0) await transaction.insert(managedFileCopies).values(copies.map((copy) => ({ ...copy, fileId: file.id })));
      return row!;
    });
  }

  /** Records what a batch file's lines hold once checked (a file uploaded before that was recorded at upload). */
  async recordBatchLines(id: string, lines: { url: string; files: string[] }): Promise<void> {
    await this.db.update(managedFiles).set({ batchLineUrl: lines.url, batchLineFiles: lines.files }).where(eq(managedFiles.id, id));
  }

  /** A visible file and its live copies. */
  async findVisible(id: string): Promise<{ file: ManagedFileRow; copies: ManagedCopyRow[] } | undefined> {
    const [file] = await this.db.select().from(managedFiles).where(and(eq(managedFiles.id, id), VISIBLE)).limit(1);
    if (!file) return undefined;
    return { file, copies: await this.liveCopies(id) };
  }

  /** A file that is visible or already being deleted (a retried delete finishes the job). */
  async findDeletable(id: string): Promise<{ file: ManagedFileRow; copies: ManagedCopyRow[] } | undefined> {
    const [file] = await this.db
      .select()
      .from(managedFiles)
      .where(and(eq(managedFiles.id, id), sql`(${VISIBLE} OR ${managedFiles.status} = 'deleting')`))
      .limit(1);
    if (!file) return undefined;
    return { file, copies: await this.liveCopies(id) };
  }

  async liveCopies(fileId: string): Promise<ManagedCopyRow[]> {
    return this.db
      .select()
      .from(managedFileCopies)
      .where(and(eq(managedFileCopies.fileId, fileId), eq(managedFileCopies.status, 'active')));
  }

  /** Records what the provider now reports for a copy. */
  async setCopyState(fileId: string, deploymentId: string, upstreamState: CopyState): Promise<void> {
    await this.db
      .update(managedFileCopies)
      .set({ upstreamState })
      .where(and(eq(managedFileCopies.fileId, fileId), eq(managedFileCopies.deploymentId, deploymentId)));
  }

  /**
   * Points a copy at a re-made provider file, only if it still names `previousProviderFileId`
   * (false: another request re-made it first).
   */
  async replaceCopy(input: {
    fileId: string;
    deploymentId: string;
    previousProviderFileId: string;
    providerFileId: string;
    upstreamState: CopyState;
    upstreamExpiresAt: Date | null;
  }): Promise<boolean> {
    const rows = await this.db
      .update(managedFileCopies)
      .set({ providerFileId: input.providerFileId, upstreamState: input.upstreamState, upstreamExpiresAt: input.upstreamExpiresAt })
      .where(
        and(
          eq(managedFileCopies.fileId, input.fileId),
          eq(managedFileCopies.deploymentId, input.deploymentId),
          eq(managedFileCopies.providerFileId, input.previousProviderFileId),
          eq(managedFileCopies.status, 'active'),
        ),
      )
      .returning({ fileId: managedFileCopies.fileId });
    return rows.length > 0;
  }

  async markCopyDeleted(fileId: string, deploymentId: string): Promise<void> {
    await this.db
      .update(managedFileCopies)
      .set({ status: 'deleted' })
      .where(and(eq(managedFileCopies.fileId, fileId), eq(managedFileCopies.deploymentId, deploymentId)));
  }

  /**
   * Records the intent before any provider delete (crash safety): the file is hidden at once and,
   * should this instance die mid-delete, the sweeper of any instance finishes the job once the
   * lease in next_attempt_at has passed.
   */
  async beginDelete(id: string, leaseSeconds: number): Promise<void> {
    await this.db
      .update(managedFiles)
      .set({ status: 'deleting', nextAttemptAt: sql`now() + make_interval(secs => ${leaseSeconds})` })
      .where(and(eq(managedFiles.id, id), sql`${managedFiles.status} <> 'deleted'`));
  }

  /** Some provider copies could not be deleted: keep trying later, with backoff. */
  async markDeleting(id: string, error: string): Promise<void> {
    await this.db
      .update(managedFiles)
      .set({
        status: 'deleting',
        lastError: error.slice(0, 2000),
        deleteAttempts: sql`${managedFiles.deleteAttempts} + 1`,
        nextAttemptAt: sql`now() + least(interval '1 minute' * power(2, ${managedFiles.deleteAttempts}), interval '1 hour')`,
      })
      .where(eq(managedFiles.id, id));
  }

  /** Every copy is gone: the file becomes a tombstone (purged by the sweeper after a day). */
  async markDeleted(id: string): Promise<void> {
    await this.db.update(managedFiles).set({ status: 'deleted', nextAttemptAt: sql`now() + interval '1 day'` }).where(eq(managedFiles.id, id));
  }

  /**
   * Claims up to `limit` files whose provider copies must go (expired, or a failed delete due
   * for retry). The lease (next_attempt_at) and SKIP LOCKED keep instances from sharing work.
   */
  async claimForSweep(limit: number): Promise<string[]> {
    const result = await this.db.execute(sql`
      UPDATE managed_files SET status = 'deleting', next_attempt_at = now() + interval '5 minutes'
      WHERE id IN (
        SELECT id FROM managed_files
        WHERE (status = 'active' AND expires_at <= now()) OR (status = 'deleting' AND (next_attempt_at IS NULL OR next_attempt_at <= now()))
        ORDER BY next_attempt_at NULLS FIRST
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING id`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }

  /** Drops tombstones whose day has passed. */
  async purgeTombstones(): Promise<number> {
    const result = await this.db.execute(sql`DELETE FROM managed_files WHERE status = 'deleted' AND next_attempt_at <= now() RETURNING id`);
    return rowsOf(result).length;
  }

  async addPendingDelete(deploymentId: string, providerFileId: string, error: string): Promise<void> {
    await this.db
      .insert(pendingProviderDeletes)
      .values({ deploymentId, providerFileId, lastError: error.slice(0, 2000) })
      .onConflictDoNothing();
  }

  async claimPendingDeletes(limit: number): Promise<Array<{ deploymentId: string; providerFileId: string }>> {
    const result = await this.db.execute(sql`
      UPDATE pending_provider_deletes SET attempts = attempts + 1,
        next_attempt_at = now() + least(interval '1 minute' * power(2, attempts), interval '1 hour')
      WHERE (deployment_id, provider_file_id) IN (
        SELECT deployment_id, provider_file_id FROM pending_provider_deletes
        WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      RETURNING deployment_id, provider_file_id`);
    return rowsOf<{ deployment_id: string; provider_file_id: string }>(result).map((row) => ({
      deploymentId: row.deployment_id,
      providerFileId: row.provider_file_id,
    }));
  }

  async removePendingDelete(deploymentId: string, providerFileId: string): Promise<void> {
    await this.db
      .delete(pendingProviderDeletes)
      .where(and(eq(pendingProviderDeletes.deploymentId, deploymentId), eq(pendingProviderDeletes.providerFileId, providerFileId)));
  }

  /**
   * One keyset page of the caller's visible files, newest first by default, ties broken by id.
   * Owner and team are two index range scans merged, so a page costs the same at any depth.
   */
  async list(principal: Principal, query: ManagedListQuery): Promise<{ rows: ManagedFileRow[]; hasMore: boolean }> {
    const descending = query.order === 'desc';
    const filters: SQL[] = [VISIBLE];
    if (query.purpose) filters.push(sql`purpose = ${query.purpose}`);
    if (query.targetModelNames.length > 0) {
      filters.push(sql`target_model_names @> ${textArray(query.targetModelNames)}`);
    }
    // A key limited to some models reaches only files targeted at one of them (README "Security"), and
    // files tied to no model (plain batch outputs: canReach in core/access-policy.ts).
    if (!principal.isAdmin && principal.allowedModels.length > 0) {
      filters.push(sql`(target_model_names && ${textArray(principal.allowedModels)} OR target_model_names = '{}')`);
    }
    if (query.after) {
      const cursor = sql`(SELECT created_at, id FROM managed_files WHERE id = ${query.after})`;
      filters.push(descending ? sql`(created_at, id) < ${cursor}` : sql`(created_at, id) > ${cursor}`);
    }
    const order = descending ? sql`created_at DESC, id DESC` : sql`created_at ASC, id ASC`;
    const take = query.limit + 1;
    const scan = (owner: SQL | undefined) =>
      sql`(SELECT * FROM managed_files WHERE ${sql.join(owner ? [owner, ...filters] : filters, sql` AND `)} ORDER BY ${order} LIMIT ${take})`;
    let statement: SQL;
    if (principal.isAdmin) statement = scan(undefined);
    else if (principal.teamId) {
      statement = sql`SELECT * FROM (${scan(sql`owner_id = ${principal.ownerId}`)} UNION ${scan(sql`team_id = ${principal.teamId}`)}) AS visible ORDER BY ${order} LIMIT ${take}`;
    } else statement = scan(sql`owner_id = ${principal.ownerId}`);
    const rows = rowsOf<Record<string, unknown>>(await this.db.execute(statement)).map(fromSqlRow);
    return { rows: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
  }

  /** The owner and targets of a cursor file, visible or a tombstone (a file deleted mid-pagination). */
  async cursorFile(id: string): Promise<Pick<ManagedFileRow, 'ownerId' | 'teamId' | 'targetModelNames'> | undefined> {
    const rows = await this.db
      .select({ ownerId: managedFiles.ownerId, teamId: managedFiles.teamId, targetModelNames: managedFiles.targetModelNames })
      .from(managedFiles)
      .where(eq(managedFiles.id, id))
      .limit(1);
    return rows[0];
  }
}

function textArray(values: readonly string[]): SQL {
  return sql`${`{${values.map((value) => JSON.stringify(value)).join(',')}}`}::text[]`;
}


/** Raw SQL rows use column names; map them to the drizzle row shape. */
function fromSqlRow(row: Record<string, unknown>): ManagedFileRow {
  const date = (value: unknown) => (value === null || value === undefined ? null : value instanceof Date ? value : new Date(String(value)));
  return {
    id: String(row.id),
    ownerId: String(row.owner_id),
    teamId: (row.team_id as string | null) ?? null,
    purpose: String(row.purpose),
    filename: String(row.filename),
    bytes: Number(row.bytes),
    mimeType: String(row.mime_type),
    targetModelNames: row.target_model_names as string[],
    status: row.status as ManagedFileRow['status'],
    createdAt: date(row.created_at)!,
    expiresAt: date(row.expires_at),
    deleteAttempts: Number(row.delete_attempts),
    nextAttemptAt: date(row.next_attempt_at),
    lastError: (row.last_error as string | null) ?? null,
    batchLineUrl: (row.batch_line_url as string | null) ?? null,
    batchLineFiles: (row.batch_line_files as string[] | null) ?? null,
  };
}
