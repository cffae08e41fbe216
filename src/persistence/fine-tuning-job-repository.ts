/**
 * Fine-tuning jobs and their result files (README "Batches"). Lists are keyset pages, owner/team scoped,
 * newest first. A result file is made once: its (job, provider file) row is the claim, inserted
 * in the same transaction as the file it names, so racing retrieves agree on one id.
 */
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { FineTuningJob } from '../core/fine-tuning-types.ts';
import type { OwnedResource, Principal } from '../core/access-policy.ts';
import type { FileObject } from '../core/openai-types.ts';
import { rowsOf, type Db } from './database.ts';
import { fineTuningJobs, fineTuningResultFiles, managedFileCopies, managedFiles, providerFiles } from './schema.ts';
import { claimDueIds, type LeaseTable } from './refresh-leases.ts';

const FINE_TUNING_LEASES: LeaseTable = { name: 'fine_tuning_jobs', finished: ['succeeded', 'failed', 'cancelled'] };

export type FineTuningJobRow = typeof fineTuningJobs.$inferSelect;
export type NewFineTuningJob = Omit<typeof fineTuningJobs.$inferInsert, 'createdAt'>;

/** What a result file becomes: a managed file of the job's creator, or (plain jobs) a recorded raw id. */
export type ResultFileRecord =
  | { kind: 'managed'; fileId: string; file: FileObject; owner: OwnedResource; modelName: string; deploymentId: string; provider: string }
  | { kind: 'plain'; file: FileObject; owner: OwnedResource; provider: string; /** The account it lives on (model-routed), else null. */ deploymentId: string | null };

export class FineTuningJobRepository {
  constructor(private readonly db: Db) {}

  async insert(job: NewFineTuningJob): Promise<FineTuningJobRow> {
    const [row] = await this.db.insert(fineTuningJobs).values(job).returning();
    return row!;
  }

  async find(id: string): Promise<FineTuningJobRow | undefined> {
    const [row] = await this.db.select().from(fineTuningJobs).where(eq(fineTuningJobs.id, id)).limit(1);
    return row;
  }

  /** Stores the provider's latest answer. */
  async update(id: string, job: FineTuningJob): Promise<FineTuningJobRow> {
    const [row] = await this.db
      .update(fineTuningJobs)
      .set({ status: job.status, fineTunedModel: job.fine_tuned_model, jobObject: job })
      .where(eq(fineTuningJobs.id, id))
      .returning();
    return row!;
  }

  /**
   * Leases up to `limit` unfinished jobs due for a refresh to `owner` for `leaseMs`: rows another
   * instance is claiming right now are skipped, and the lease of a crashed instance ends.
   */
  async claimDue(owner: string, limit: number, leaseMs: number): Promise<FineTuningJobRow[]> {
    const ids = await claimDueIds(this.db, FINE_TUNING_LEASES, owner, limit, leaseMs);
    if (ids.length === 0) return [];
    return this.db.select().from(fineTuningJobs).where(inArray(fineTuningJobs.id, ids));
  }

  /** Ends `owner`'s lease; the job is looked at again in `nextMs` (failures reset). */
  async releaseLease(id: string, owner: string, nextMs: number): Promise<void> {
    await this.db
      .update(fineTuningJobs)
      .set({ leaseOwner: null, leaseUntil: null, refreshFailures: 0, lastError: null, nextRefreshAt: sql`now() + ${nextMs} * interval '1 millisecond'` })
      .where(and(eq(fineTuningJobs.id, id), eq(fineTuningJobs.leaseOwner, owner)));
  }

  /** A failed refresh: the lease ends and the job is tried again with backoff (capped at 10 minutes). */
  async refreshFailed(id: string, owner: string, error: string): Promise<void> {
    await this.db
      .update(fineTuningJobs)
      .set({
        leaseOwner: null,
        leaseUntil: null,
        refreshFailures: sql`${fineTuningJobs.refreshFailures} + 1`,
        lastError: error.slice(0, 2000),
        nextRefreshAt: sql`now() + least(interval '5 seconds' * power(2, ${fineTuningJobs.refreshFailures}), interval '10 minutes')`,
      })
      .where(and(eq(fineTuningJobs.id, id), eq(fineTuningJobs.leaseOwner, owner)));
  }

  /** The job that produced a fine-tuned model, by the model's name. */
  async findByFineTunedModel(name: string): Promise<FineTuningJobRow | undefined> {
    const [row] = await this.db.select().from(fineTuningJobs).where(eq(fineTuningJobs.fineTunedModel, name)).limit(1);
    return row;
  }

  /** Names of the fine-tuned models the caller may use, oldest first. */
  async modelsOf(principal: Principal): Promise<string[]> {
    const filters: SQL[] = [sql`fine_tuned_model IS NOT NULL`];
    const owner = ownerFilter(principal);
    if (owner) filters.push(owner);
    const rows = await this.db
      .select({ name: fineTuningJobs.fineTunedModel })
      .from(fineTuningJobs)
      .where(and(...filters))
      .orderBy(asc(fineTuningJobs.createdAt))
      .limit(1000);
    return rows.map((row) => row.name!);
  }

  /** One keyset page (created_at, id) newest first; `hasMore` is exact (one row more is read). */
  async list(principal: Principal, query: { limit: number; after?: string; provider?: string }): Promise<{ rows: FineTuningJobRow[]; hasMore: boolean }> {
    const filters: SQL[] = [];
    const owner = ownerFilter(principal);
    if (owner) filters.push(owner);
    if (query.provider) filters.push(sql`provider = ${query.provider}`);
    if (query.after) filters.push(sql`(created_at, id) < (SELECT created_at, id FROM fine_tuning_jobs WHERE id = ${query.after})`);
    const where = filters.length > 0 ? sql`WHERE ${sql.join(filters, sql` AND `)}` : sql``;
    const result = await this.db.execute(sql`SELECT id FROM fine_tuning_jobs ${where} ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`);
    const ids = rowsOf<{ id: string }>(result).map((row) => row.id);
    const page = ids.slice(0, query.limit);
    const rows = page.length === 0 ? [] : await this.db.select().from(fineTuningJobs).where(inArray(fineTuningJobs.id, page));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return { rows: page.map((id) => byId.get(id)!), hasMore: ids.length > query.limit };
  }

  async exists(id: string): Promise<boolean> {
    return (await this.find(id)) !== undefined;
  }

  /** The gateway ids of a job's result files, in the provider's order. */
  async resultFiles(jobId: string): Promise<Map<string, string>> {
    const rows = await this.db.select().from(fineTuningResultFiles).where(eq(fineTuningResultFiles.jobId, jobId)).orderBy(asc(fineTuningResultFiles.position));
    return new Map(rows.map((row) => [row.providerFileId, row.fileId]));
  }

  /**
   * Claims the result file `providerFileId` of `jobId` and records what it becomes, in one
   * transaction; when another retrieve claimed it first, nothing is written. Returns the id the
   * gateway serves it under (the winner's).
   */
  async adoptResultFile(jobId: string, providerFileId: string, position: number, record: ResultFileRecord): Promise<string> {
    const fileId = record.kind === 'managed' ? record.fileId : record.file.id;
    return this.db.transaction(async (transaction) => {
      const claimed = await transaction
        .insert(fineTuningResultFiles)
        .values({ jobId, providerFileId, fileId, position })
        .onConflictDoNothing()
        .returning({ fileId: fineTuningResultFiles.fileId });
      if (claimed.length === 0) {
        const [existing] = await transaction
          .select({ fileId: fineTuningResultFiles.fileId })
          .from(fineTuningResultFiles)
          .where(and(eq(fineTuningResultFiles.jobId, jobId), eq(fineTuningResultFiles.providerFileId, providerFileId)));
        return existing!.fileId;
      }
      const { file, owner } = record;
      if (record.kind === 'plain') {
        await transaction
          .insert(providerFiles)
          .values({ provider: record.provider, providerFileId: file.id, ownerId: owner.ownerId, teamId: owner.teamId, purpose: file.purpose, fileObject: file, deploymentId: record.deploymentId })
          .onConflictDoNothing();
        return fileId;
      }
      await transaction.insert(managedFiles).values({
        id: fileId,
        ownerId: owner.ownerId,
        teamId: owner.teamId,
        purpose: file.purpose || 'fine-tune-results',
        filename: file.filename || `${providerFileId}.csv`,
        bytes: file.bytes,
        mimeType: file.filename.endsWith('.csv') ? 'text/csv' : 'application/octet-stream',
        targetModelNames: [record.modelName],
        status: 'active',
      });
      await transaction.insert(managedFileCopies).values({
        fileId,
        deploymentId: record.deploymentId,
        modelName: record.modelName,
        provider: record.provider,
        providerFileId,
      });
      return fileId;
    });
  }
}

/** Owner or team, and only jobs of the key's models when it is limited; undefined for admins. */
function ownerFilter(principal: Principal): SQL | undefined {
  if (principal.isAdmin) return undefined;
  const owner = principal.teamId ? sql`(owner_id = ${principal.ownerId} OR team_id = ${principal.teamId})` : sql`owner_id = ${principal.ownerId}`;
  if (principal.allowedModels.length === 0) return owner;
  return sql`${owner} AND model_name IN (${sql.join(principal.allowedModels.map((name) => sql`${name}`), sql`, `)})`;
}
