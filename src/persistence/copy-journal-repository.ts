/**
 * The provider-copy journal (migrations/0005_copy_journal.sql): intent rows written before a
 * provider copy is made, renewed by the owning instance, claimed by the sweeper once their lease
 * has passed (the owner died), with row locks and SKIP LOCKED so instances never share a row.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from './database.ts';

export interface JournalEntry {
  deploymentId: string;
  provider: string;
  filename: string;
  bytes: number | undefined;
}

export interface JournalRow extends JournalEntry {
  id: string;
  providerFileId: string | null;
  createdAt: Date;
}

export class CopyJournalRepository {
  constructor(private readonly db: Db) {}

  async begin(entry: JournalEntry, instanceId: string, leaseSeconds: number): Promise<string> {
    const result = await this.db.execute(sql`
      INSERT INTO provider_copy_journal (deployment_id, provider, filename, bytes, instance_id, lease_until)
      VALUES (${entry.deploymentId}, ${entry.provider}, ${entry.filename}, ${entry.bytes ?? null}, ${instanceId},
              now() + make_interval(secs => ${leaseSeconds}))
      RETURNING id`);
    return String(rowsOf<{ id: string | number }>(result)[0]!.id);
  }

  async setProviderFileId(id: string, providerFileId: string): Promise<void> {
    await this.db.execute(sql`UPDATE provider_copy_journal SET provider_file_id = ${providerFileId} WHERE id = ${id}`);
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(sql`DELETE FROM provider_copy_journal WHERE id IN (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`);
  }

  /** The heartbeat: every row of a live instance keeps a lease in the future. */
  async renew(instanceId: string, leaseSeconds: number): Promise<void> {
    await this.db.execute(sql`
      UPDATE provider_copy_journal SET lease_until = now() + make_interval(secs => ${leaseSeconds}) WHERE instance_id = ${instanceId}`);
  }

  /** Claims rows whose lease has passed (their instance died), leasing them to `instanceId` while it reconciles. */
  async claimExpired(instanceId: string, leaseSeconds: number, limit: number): Promise<JournalRow[]> {
    const result = await this.db.execute(sql`
      UPDATE provider_copy_journal SET instance_id = ${instanceId}, lease_until = now() + make_interval(secs => ${leaseSeconds})
      WHERE id IN (
        SELECT id FROM provider_copy_journal WHERE lease_until <= now() ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      RETURNING id, deployment_id, provider, provider_file_id, filename, bytes, created_at`);
    return rowsOf<Record<string, unknown>>(result).map((row) => ({
      id: String(row.id),
      deploymentId: String(row.deployment_id),
      provider: String(row.provider),
      providerFileId: (row.provider_file_id as string | null) ?? null,
      filename: String(row.filename),
      bytes: row.bytes === null || row.bytes === undefined ? undefined : Number(row.bytes),
      createdAt: row.created_at instanceof Date ? row.created_at : new Date(String(row.created_at)),
    }));
  }

  /**
   * Hands the row to the sweeper of any instance after `retryInSeconds` (no owner: no heartbeat
   * renews it), e.g. an upload whose outcome is unknown, or a row that waits for its copy to appear.
   */
  async release(id: string, retryInSeconds: number): Promise<void> {
    await this.db.execute(sql`
      UPDATE provider_copy_journal SET instance_id = '', lease_until = now() + make_interval(secs => ${retryInSeconds}) WHERE id = ${id}`);
  }

  /** Provider ids that the database keeps (a committed copy) or that another journal row names. */
  async referencedIds(deploymentId: string, provider: string, candidates: readonly string[], exceptRow: string): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const list = sql.join(candidates.map((id) => sql`${id}`), sql`, `);
    const result = await this.db.execute(sql`
      SELECT provider_file_id AS id FROM managed_file_copies WHERE deployment_id = ${deploymentId} AND provider_file_id IN (${list})
      UNION SELECT provider_file_id FROM provider_files WHERE provider = ${provider} AND provider_file_id IN (${list})
      UNION SELECT provider_file_id FROM provider_copy_journal WHERE id <> ${exceptRow} AND provider_file_id IN (${list})`);
    return new Set(rowsOf<{ id: string }>(result).map((row) => row.id));
  }
}
