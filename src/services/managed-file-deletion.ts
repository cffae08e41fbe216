/**
 * Deleting provider copies of managed files: the interactive delete, the take-back of a failed
 * fan-out, and the background sweep (expired files, retried deletes). A copy that is already
 * gone upstream (404) counts as deleted, so every retry converges.
 */
import { GatewayError, upstreamLogFields } from '../core/errors.ts';
import { recordManagedFile } from '../core/metrics.ts';
import type { ManagedCopyRow, ManagedFileRepository } from '../persistence/managed-file-repository.ts';
import type { CallContext } from '../providers/provider-adapter.ts';
import type { ProviderRegistry } from '../providers/registry.ts';

export interface ProviderCopy {
  deploymentId: string;
  providerFileId: string;
  /** 'batch_output': a batch's output reference, deleted through the batches capability. */
  reader?: 'file' | 'batch_output';
}

export interface SweepResult {
  filesDeleted: number;
  filesStillDeleting: number;
  orphansRemoved: number;
}

export class ManagedFileDeletion {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly files: ManagedFileRepository,
    /** Called as soon as a file starts being deleted (drops cached lookups). */
    private readonly onDeleting: (fileId: string) => void = () => undefined,
    /** How long a delete in progress is left to its instance before the sweeper may finish it. */
    private readonly leaseSeconds = 60,
  ) {}

  /** Deletes one provider copy; an upstream 404 means it is already gone. */
  private async deleteCopy(copy: ProviderCopy, context: CallContext): Promise<void> {
    const adapter = this.registry.adapterByInstance(copy.deploymentId);
    if (copy.reader === 'batch_output' && !adapter?.batches) throw new Error('its deployment is no longer configured');
    if (copy.reader !== 'batch_output' && !adapter?.files) throw new Error('its deployment is no longer configured');
    try {
      if (copy.reader === 'batch_output') await adapter!.batches!.deleteOutput(copy.providerFileId, context);
      else await adapter!.files!.delete(copy.providerFileId, context);
    } catch (error) {
      if (error instanceof GatewayError && error.status === 404) return;
      throw error;
    }
  }

  /** Concurrent provider deletes, then the tombstone; on partial failure the file stays 'deleting'. */
  async deleteFile(fileId: string, copies: ManagedCopyRow[], context: CallContext): Promise<void> {
    await this.files.beginDelete(fileId, this.leaseSeconds);
    this.onDeleting(fileId);
    const upstream: CallContext = { ...context, signal: undefined };
    const results = await Promise.allSettled(
      copies.map(async (copy) => {
        await this.deleteCopy(copy, upstream);
        await this.files.markCopyDeleted(fileId, copy.deploymentId);
      }),
    );
    const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [{ copy: copies[index]!, error: result.reason as Error }] : []));
    if (failed.length === 0) {
      await this.files.markDeleted(fileId);
      recordManagedFile('deleted');
      context.logger.info({ fileId, copies: copies.length }, 'managed file deleted');
      return;
    }
    for (const { copy, error } of failed) {
      context.logger.warn({ fileId, deployment: copy.deploymentId, error: error.message, ...upstreamLogFields(error) }, 'provider copy delete failed');
    }
    // Client-facing: provider and model, never deployment ids nor the providers' own texts.
    const detail = failed.map(({ copy, error }) => `${copy.provider} (model ${copy.modelName}): ${error.message}`).join('; ');
    await this.files.markDeleting(fileId, detail);
    const first = failed[0]!.error;
    throw new GatewayError({
      status: first instanceof GatewayError && first.status !== 404 ? first.status : 502,
      type: 'upstream_error',
      code: 'delete_incomplete',
      message: `File ${fileId} could not be deleted from every provider (${detail}). It is hidden and deletion will be retried in the background; repeat the DELETE to finish now.`,
      cause: first,
    });
  }

  /** Takes back copies of an upload that will not be kept; what cannot be deleted now is queued. */
  async compensate(copies: ProviderCopy[], context: CallContext): Promise<void> {
    await Promise.all(
      copies.map(async (copy) => {
        try {
          await this.deleteCopy(copy, context);
        } catch (error) {
          context.logger.warn({ deployment: copy.deploymentId, error: (error as Error).message }, 'take-back delete failed; queued for retry');
          await this.files.addPendingDelete(copy.deploymentId, copy.providerFileId, (error as Error).message);
        }
      }),
    );
  }

  /** One pass of background work; safe to run on several instances at once. */
  async sweepOnce(context: CallContext, batchSize = 20): Promise<SweepResult> {
    const result: SweepResult = { filesDeleted: 0, filesStillDeleting: 0, orphansRemoved: 0 };
    for (const fileId of await this.files.claimForSweep(batchSize)) {
      const copies = await this.files.liveCopies(fileId);
      try {
        await this.deleteFile(fileId, copies, context);
        result.filesDeleted += 1;
      } catch {
        result.filesStillDeleting += 1;
      }
    }
    for (const pending of await this.files.claimPendingDeletes(batchSize)) {
      try {
        await this.deleteCopy(pending, context);
        await this.files.removePendingDelete(pending.deploymentId, pending.providerFileId);
        result.orphansRemoved += 1;
      } catch (error) {
        context.logger.warn({ deployment: pending.deploymentId, error: (error as Error).message }, 'queued provider delete failed again');
      }
    }
    await this.files.purgeTombstones();
    return result;
  }
}
