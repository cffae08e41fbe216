/**
 * Batches (README "Batches"): one row per unified batch id with the stored OpenAI object, a refresh
 * lease shared between instances (`FOR UPDATE SKIP LOCKED`), and the managed files made from
 * its output references — created once per (batch, kind) by the primary key, not by luck.
 */
import { and, desc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Principal } from '../core/access-policy.ts';
import type { BatchObject } from '../core/batch-types.ts';
import { rowsOf, type Db } from './database.ts';
import { batches, batchFileReferences, batchOutputFiles, managedFileCopies, managedFiles } from './schema.ts';
import type { NewManagedCopy, NewManagedFile } from './managed-file-repository.ts';
import { claimDueIds, type LeaseTable } from './refresh-leases.ts';

const BATCH_LEASES: LeaseTable = { name: 'batches', finished: ['completed', 'failed', 'expired', 'cancelled'] };

export type BatchRow = typeof batches.$inferSelect;
export type NewBatch = Omit<typeof batches.$inferInsert, 'createdAt' | 'refreshedAt' | 'leaseOwner' | 'leaseUntil' | 'refreshFailures' | 'lastError'>;

const UNFINISHED = sql`${batches.status} NOT IN ('completed', 'failed', 'expired', 'cancelled')`;

export class BatchRepository {
  constructor(private readonly db: Db) {}

  /**
   * A new batch with the managed files its lines name (`referencedFiles`), in one transaction —
   * unless a managed file it reads (its input, those files) is no longer active: then nothing is
   * recorded and that file's id is answered. The files' rows are locked (`FOR SHARE`) while the
   * batch is recorded, so a delete of one of them (beginFileDelete, `FOR UPDATE`) either ran
   * before and is seen here, or waits for this batch and then sees it.
   * https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-ROWS
   */
  async insert(batch: NewBatch, referencedFiles: readonly string[] = []): Promise<BatchRow | { unavailableFile: string }> {
    const named = [...new Set(referencedFiles)];
    const reads = [...new Set(batch.inputManaged ? [batch.inputFileId, ...named] : named)].sort();
    return this.db.transaction(async (transaction) => {
      if (reads.length > 0) {
        const active = new Set(
          rowsOf<{ id: string }>(
            await transaction.execute(sql`
              SELECT id FROM managed_files WHERE id IN (${sql.join(reads.map((id) => sql`${id}`), sql`, `)}) AND status = 'active'
              ORDER BY id FOR SHARE`),
          ).map((row) => row.id),
        );
        const gone = reads.find((id) => !active.has(id));
        if (gone !== undefined) return { unavailableFile: gone };
      }
      const [row] = await transaction.insert(batches).values(batch).returning();
      if (named.length > 0) {
        await transaction.insert(batchFileReferences).values(named.map((fileId) => ({ batchId: batch.id, fileId })));
      }
      return row!;
    });
  }

  /** The managed files a batch's lines name. */
  async referencedFiles(batchId: string): Promise<string[]> {
    const rows = await this.db.select({ fileId: batchFileReferences.fileId }).from(batchFileReferences).where(eq(batchFileReferences.batchId, batchId));
    return rows.map((row) => row.fileId).sort();
  }

  async find(id: string): Promise<BatchRow | undefined> {
    const [row] = await this.db.select().from(batches).where(eq(batches.id, id)).limit(1);
    return row;
  }

  /** The caller's batches (admins: all), newest first, ties by id; `limit + 1` rows tell has_more. */
  async list(principal: Principal, query: { limit: number; after?: BatchRow }): Promise<{ rows: BatchRow[]; hasMore: boolean }> {
    const conditions: SQL[] = [];
    if (!principal.isAdmin) {
      conditions.push(principal.teamId ? or(eq(batches.ownerId, principal.ownerId), eq(batches.teamId, principal.teamId))! : eq(batches.ownerId, principal.ownerId));
    }
    if (query.after) {
      const { createdAt, id } = query.after;
      conditions.push(or(lt(batches.createdAt, createdAt), and(eq(batches.createdAt, createdAt), lt(batches.id, id)))!);
    }
    const rows = await this.db
      .select()
      .from(batches)
      .where(conditions.length > 0 ? and(...conditions) : undefined)
      .orderBy(desc(batches.createdAt), desc(batches.id))
      .limit(query.limit + 1);
    return { rows: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
  }

  /**
   * Stores a refreshed object unless the stored one is already terminal (a slower concurrent
   * refresh never overwrites a finished batch); answers the row as stored afterwards.
   */
  async saveRefresh(id: string, update: { status: string; batchObject: BatchObject; outputReference: string | null; errorReference: string | null; nextRefreshAt: Date }): Promise<BatchRow> {
    const [row] = await this.db
      .update(batches)
      .set({ ...update, refreshedAt: new Date(), refreshFailures: 0, lastError: null })
      .where(and(eq(batches.id, id), UNFINISHED))
      .returning();
    return row ?? (await this.find(id))!;
  }

  /** A failed refresh: try again later with backoff (capped at 10 minutes). */
  async refreshFailed(id: string, error: string): Promise<void> {
    await this.db
      .update(batches)
      .set({
        refreshFailures: sql`${batches.refreshFailures} + 1`,
        lastError: error.slice(0, 2000),
        nextRefreshAt: sql`now() + least(interval '5 seconds' * power(2, ${batches.refreshFailures}), interval '10 minutes')`,
      })
      .where(eq(batches.id, id));
  }

  /**
   * Leases up to `limit` unfinished batches due for a refresh to `owner` for `leaseMs`: rows
   * another instance is claiming right now are skipped, and a lease of a crashed instance ends.
   */
  async claimDue(owner: string, limit: number, leaseMs: number): Promise<BatchRow[]> {
    const ids = await claimDueIds(this.db, BATCH_LEASES, owner, limit, leaseMs);
    if (ids.length === 0) return [];
    return this.db.select().from(batches).where(inArray(batches.id, ids));
  }

  /**
   * Leases one unfinished batch to `owner` (free, expired, or already `owner`'s) for `leaseMs`:
   * whoever holds it records the batch's outputs, so instances do not convert them twice. False
   * when another instance holds it or the batch is finished.
   */
  async claim(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const claimed = await this.db
      .update(batches)
      .set({ leaseOwner: owner, leaseUntil: sql`now() + ${leaseMs} * interval '1 millisecond'` })
      .where(and(eq(batches.id, id), UNFINISHED, sql`(${batches.leaseUntil} IS NULL OR ${batches.leaseUntil} < now() OR ${batches.leaseOwner} = ${owner})`))
      .returning({ id: batches.id });
    return claimed.length > 0;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.db.update(batches).set({ leaseOwner: null, leaseUntil: null }).where(and(eq(batches.id, id), eq(batches.leaseOwner, owner)));
  }

  /** An unfinished batch reading this file, as its input or named in its lines (blocks deleting it). */
  async unfinishedReading(fileId: string, db: Pick<Db, 'select'> = this.db): Promise<string | undefined> {
    const named = db.select({ id: batchFileReferences.batchId }).from(batchFileReferences).where(eq(batchFileReferences.fileId, fileId));
    const [row] = await db
      .select({ id: batches.id })
      .from(batches)
      .where(and(or(eq(batches.inputFileId, fileId), inArray(batches.id, named)), UNFINISHED))
      .orderBy(batches.createdAt, batches.id)
      .limit(1);
    return row?.id;
  }

  /**
   * Marks a managed file 'deleting' (as ManagedFileRepository.beginDelete) unless an unfinished
   * batch reads it: then that batch's id is answered and the file is left as it is. The file's row
   * is locked first (`FOR UPDATE`) and the batches are looked up afterwards, in a statement of their
   * own: a batch being recorded now (insert, `FOR SHARE` on the file) has committed by then and is
   * seen; one recorded later sees the file no longer active. (One UPDATE … WHERE NOT EXISTS would
   * not do: after waiting for a row lock Postgres re-checks only the row, not the subquery.)
   */
  async beginFileDelete(fileId: string, leaseSeconds: number): Promise<string | undefined> {
    return this.db.transaction(async (transaction) => {
      await transaction.execute(sql`SELECT id FROM managed_files WHERE id = ${fileId} FOR UPDATE`);
      const batchId = await this.unfinishedReading(fileId, transaction as unknown as Db);
      if (batchId !== undefined) return batchId;
      await transaction
        .update(managedFiles)
        .set({ status: 'deleting', nextAttemptAt: sql`now() + make_interval(secs => ${leaseSeconds})` })
        .where(and(eq(managedFiles.id, fileId), sql`${managedFiles.status} <> 'deleted'`));
      return undefined;
    });
  }

  /**
   * The managed file for a batch's output (or error) reference: made in one transaction with its
   * mapping, or — when another refresh made it first — the one that refresh made.
   */
  async outputFile(input: { batchId: string; kind: 'output' | 'error'; providerReference: string; file: NewManagedFile; copy: NewManagedCopy }): Promise<string> {
    return this.db.transaction(async (transaction) => {
      const inserted = await transaction
        .insert(batchOutputFiles)
        .values({ batchId: input.batchId, kind: input.kind, providerReference: input.providerReference, fileId: input.file.id })
        .onConflictDoNothing()
        .returning({ fileId: batchOutputFiles.fileId });
      if (inserted.length > 0) {
        await transaction.insert(managedFiles).values({ ...input.file, status: 'active' });
        await transaction.insert(managedFileCopies).values({ ...input.copy, fileId: input.file.id });
        return input.file.id;
      }
      const [existing] = await transaction
        .select({ fileId: batchOutputFiles.fileId })
        .from(batchOutputFiles)
        .where(and(eq(batchOutputFiles.batchId, input.batchId), eq(batchOutputFiles.kind, input.kind)));
      return existing!.fileId;
    });
  }

  /** Output file ids already made for a batch. */
  async outputFiles(batchId: string): Promise<Partial<Record<'output' | 'error', string>>> {
    const rows = await this.db.select().from(batchOutputFiles).where(eq(batchOutputFiles.batchId, batchId));
    return Object.fromEntries(rows.map((row) => [row.kind, row.fileId]));
  }
}
