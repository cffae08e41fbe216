/** Ownership records of raw provider files uploaded through the gateway (README "Security", last rule). */
import { and, desc, eq, isNotNull, or, type SQL } from 'drizzle-orm';
import type { FileObject } from '../core/openai-types.ts';
import type { OwnedResource, Principal } from '../core/access-policy.ts';
import type { Db } from './database.ts';
import { providerFiles } from './schema.ts';

export interface ProviderFileRecord extends OwnedResource {
  provider: string;
  providerFileId: string;
  purpose: string;
  fileObject: FileObject;
  /** The deployment a model-routed upload went to; later calls on the id go there. */
  deploymentId?: string | null;
}

export class ProviderFileRepository {
  constructor(private readonly db: Db) {}

  async record(record: ProviderFileRecord): Promise<void> {
    await this.db
      .insert(providerFiles)
      .values({ ...record })
      .onConflictDoUpdate({ target: [providerFiles.provider, providerFiles.providerFileId], set: { ownerId: record.ownerId, teamId: record.teamId, fileObject: record.fileObject, deploymentId: record.deploymentId ?? null } });
  }

  async find(provider: string, providerFileId: string): Promise<ProviderFileRecord | undefined> {
    const rows = await this.db
      .select()
      .from(providerFiles)
      .where(and(eq(providerFiles.provider, provider), eq(providerFiles.providerFileId, providerFileId)))
      .limit(1);
    return rows[0];
  }

  /** The record of a model-routed upload of this id, on whichever provider it went to. */
  async findRouted(providerFileId: string): Promise<ProviderFileRecord | undefined> {
    const rows = await this.db
      .select()
      .from(providerFiles)
      .where(and(eq(providerFiles.providerFileId, providerFileId), isNotNull(providerFiles.deploymentId)))
      .limit(1);
    return rows[0];
  }

  async remove(provider: string, providerFileId: string): Promise<void> {
    await this.db.delete(providerFiles).where(and(eq(providerFiles.provider, provider), eq(providerFiles.providerFileId, providerFileId)));
  }

  /** The caller's recorded files on one provider, newest first. */
  async listOwned(provider: string, principal: Principal, purpose: string | undefined): Promise<FileObject[]> {
    const owner: SQL = principal.teamId
      ? or(eq(providerFiles.ownerId, principal.ownerId), eq(providerFiles.teamId, principal.teamId))!
      : eq(providerFiles.ownerId, principal.ownerId);
    const conditions = [eq(providerFiles.provider, provider), owner];
    if (purpose) conditions.push(eq(providerFiles.purpose, purpose));
    const rows = await this.db
      .select({ fileObject: providerFiles.fileObject })
      .from(providerFiles)
      .where(and(...conditions))
      .orderBy(desc(providerFiles.createdAt), desc(providerFiles.providerFileId))
      .limit(10_000);
    return rows.map((row) => row.fileObject);
  }
}
