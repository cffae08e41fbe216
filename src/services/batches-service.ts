/**
 * Batches (README "Batches"): create on a deployment holding the caller's input, retrieve (refreshed from
 * the provider until terminal, then the stored copy), cancel (idempotent) and the caller's list.
 * A batch id that is unknown or not the caller's is 404 before any provider call.
 */
import { canAccess, type Principal } from '../core/access-policy.ts';
import { isTerminalBatchStatus, type BatchList, type BatchObject } from '../core/batch-types.ts';
import { errors } from '../core/errors.ts';
import { isUnifiedId, mintId } from '../core/ids.ts';
import type { ExpiresAfter } from '../core/openai-types.ts';
import type { BatchRepository, BatchRow } from '../persistence/batch-repository.ts';
import type { CallContext } from '../providers/provider-adapter.ts';
import type { BatchInputRequest, BatchInputResolver } from './batch-input.ts';
import { composeBatch, type BatchRefresher } from './batch-refresh.ts';

export interface CreateBatchRequest extends BatchInputRequest {
  completionWindow: string;
  metadata: Record<string, string> | null;
  outputExpiresAfter?: ExpiresAfter;
}

export class BatchesService {
  constructor(
    private readonly batches: BatchRepository,
    private readonly inputs: BatchInputResolver,
    private readonly refresher: BatchRefresher,
  ) {}

  async create(principal: Principal, request: CreateBatchRequest, context: CallContext): Promise<BatchObject> {
    const input = await this.inputs.resolve(principal, request, context);
    // Once the provider has the batch it runs whether or not the client is still there.
    const upstream: CallContext = { ...context, signal: undefined };
    const created = await input.adapter.batches.create(
      {
        inputReference: input.inputReference,
        endpoint: request.endpoint,
        completionWindow: request.completionWindow,
        metadata: request.metadata,
        ...(request.outputExpiresAfter ? { outputExpiresAfter: request.outputExpiresAfter } : {}),
        ...(input.resolveFile ? { resolveFile: input.resolveFile } : {}),
      },
      upstream,
    );
    const id = mintId('batch');
    const base = { id, endpoint: request.endpoint, inputFileId: request.inputFileId, completionWindow: request.completionWindow, metadata: request.metadata, createdAt: new Date() };
    const object = composeBatch(base, input.modelName, created, {});
    let recorded;
    try {
      recorded = await this.batches.insert({
        ...base,
        ownerId: principal.ownerId,
        teamId: principal.teamId,
        deploymentId: input.instance,
        provider: input.provider,
        providerBatchId: created.providerBatchId,
        inputManaged: input.managed,
        status: created.status,
        batchObject: object,
        nextRefreshAt: new Date(),
      }, input.referencedFiles);
    } catch (error) {
      // Not recorded: stop the provider's batch rather than leave one nobody can reach.
      await this.refresher.discard(input.instance, created, upstream);
      throw error;
    }
    if ('unavailableFile' in recorded) {
      // A file it reads was deleted after it was resolved above (its input found, its lines'
      // files checked), while the provider made the batch: undone, as if never made.
      context.logger.info({ deployment: input.instance, fileId: recorded.unavailableFile }, 'batch not recorded: a file it reads was deleted meanwhile; provider batch cancelled');
      await this.refresher.discard(input.instance, created, upstream);
      throw this.unavailable(recorded.unavailableFile);
    }
    context.logger.info({ batchId: id, deployment: input.instance }, 'batch created');
    return recorded.batchObject;
  }

  /** A managed file the batch reads was deleted: 404 for it, as if it had never been there. */
  private unavailable(fileId: string): Error {
    return errors.fileNotFound(fileId, { param: 'input_file_id' });
  }

  private async visible(principal: Principal, id: string): Promise<BatchRow> {
    const row = isUnifiedId('batch', id) ? await this.batches.find(id) : undefined;
    if (!row || !canAccess(principal, row)) throw errors.batchNotFound(id);
    return row;
  }

  async retrieve(principal: Principal, id: string, context: CallContext): Promise<BatchObject> {
    const row = await this.visible(principal, id);
    if (isTerminalBatchStatus(row.status)) return row.batchObject;
    return this.refresher.refresh(row, context);
  }

  async cancel(principal: Principal, id: string, context: CallContext): Promise<BatchObject> {
    const row = await this.visible(principal, id);
    if (isTerminalBatchStatus(row.status)) return row.batchObject;
    const capability = this.refresher.capability(row);
    if (!capability) throw errors.unsupportedOperation(row.provider, 'batches.cancel');
    const cancelled = await capability.cancel(row.providerBatchId, { ...context, signal: undefined });
    return this.refresher.apply(row, cancelled, context);
  }

  async list(principal: Principal, query: { limit: number; after?: string }): Promise<BatchList> {
    let after: BatchRow | undefined;
    if (query.after !== undefined) {
      after = isUnifiedId('batch', query.after) ? await this.batches.find(query.after) : undefined;
      if (!after || !canAccess(principal, after)) throw errors.invalidValue('after', `Invalid after '${query.after}': no such batch.`);
    }
    const { rows, hasMore } = await this.batches.list(principal, { limit: query.limit, ...(after ? { after } : {}) });
    const data = rows.map((row) => row.batchObject);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
  }

  /**
   * Refuses deleting a managed file an unfinished batch reads, as its input or named in its lines
   * (409 naming the batch); otherwise marks it 'deleting' (BatchRepository.beginFileDelete, under
   * the file's row lock: a batch being recorded at the same moment is either seen, or refused).
   * A batch the database still thinks unfinished is asked about first: it may have ended since.
   */
  async beginDelete(fileId: string, leaseSeconds: number, context: CallContext): Promise<void> {
    for (const checked = new Map<string, 'input' | 'line'>(); ; ) {
      const batchId = (await this.batches.unfinishedReading(fileId)) ?? (await this.batches.beginFileDelete(fileId, leaseSeconds));
      if (!batchId) return;
      const known = checked.get(batchId);
      if (known) throw errors.fileInUse(fileId, batchId, known);
      const row = await this.batches.find(batchId);
      if (!row) throw errors.fileInUse(fileId, batchId, 'line');
      const role = row.inputFileId === fileId ? 'input' : 'line';
      checked.set(batchId, role);
      const object = await this.refresher.refresh(row, context).catch(() => row.batchObject);
      if (!isTerminalBatchStatus(object.status)) throw errors.fileInUse(fileId, batchId, role);
    }
  }
}
