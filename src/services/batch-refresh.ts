/**
 * Bringing a stored batch up to date with its provider (README "Batches"): the provider batch becomes the
 * OpenAI object with unified ids; once it is terminal its output and error references become
 * managed `batch_output` files of the creator, made once whatever the number of concurrent
 * refreshes (BatchRepository.outputFile). The background loop leases due batches with
 * `FOR UPDATE SKIP LOCKED`, so instances share the work and a restart resumes it.
 */
import { randomUUID } from 'node:crypto';
import type { BatchObject } from '../core/batch-types.ts';
import { isTerminalBatchStatus } from '../core/batch-types.ts';
import { upstreamLogFields } from '../core/errors.ts';
import { mintId } from '../core/ids.ts';
import type { BatchRepository, BatchRow } from '../persistence/batch-repository.ts';
import type { AdapterLogger, BatchesCapability, CallContext, ProviderBatch } from '../providers/provider-adapter.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { ManagedFileDeletion } from './managed-file-deletion.ts';
import { startRefreshLoop } from './refresh-loop.ts';

/** Batches leased per round; a full round is followed at once by the next. */
const REFRESH_PAGE = 100;

export interface BatchRefreshOptions {
  /** How long after a refresh an unfinished batch is looked at again by the background loop. */
  intervalMs: number;
  /** How long a refresh waits for another instance recording a finished batch's outputs (default 20 s). */
  finishWaitMs?: number;
}

const FINISH_WAIT_MS = 20_000;
const FINISH_POLL_MS = 100;

/** The OpenAI object for a provider batch, with the gateway's ids and metadata. */
export function composeBatch(row: Pick<BatchRow, 'id' | 'endpoint' | 'inputFileId' | 'completionWindow' | 'metadata' | 'createdAt'>, model: string | null, batch: ProviderBatch, outputs: Partial<Record<'output' | 'error', string>>): BatchObject {
  return {
    id: row.id,
    object: 'batch',
    endpoint: row.endpoint,
    model,
    errors: batch.errors,
    input_file_id: row.inputFileId,
    completion_window: row.completionWindow,
    status: batch.status,
    output_file_id: outputs.output ?? null,
    error_file_id: outputs.error ?? null,
    ...batch.timestamps,
    created_at: Math.floor(row.createdAt.getTime() / 1000),
    request_counts: batch.requestCounts,
    usage: batch.usage ?? null,
    metadata: row.metadata ?? null,
  };
}

export class BatchRefresher {
  readonly instanceId = `refresher-${randomUUID()}`;
  /** Terminal batches whose outputs this process is recording now, by batch id. */
  private readonly recording = new Map<string, Promise<BatchObject>>();

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly batches: BatchRepository,
    private readonly options: BatchRefreshOptions,
    /** Deletes a terminal batch's intermediates; a failed delete is queued for the sweeper. */
    private readonly deletion?: Pick<ManagedFileDeletion, 'compensate'>,
  ) {}

  capability(row: BatchRow): BatchesCapability | undefined {
    return this.registry.adapterByInstance(row.deploymentId)?.batches;
  }

  /** Asks the provider and stores the result; answers the object as stored. */
  async refresh(row: BatchRow, context: CallContext, heldLease?: string): Promise<BatchObject> {
    const capability = this.capability(row);
    if (!capability) {
      context.logger.warn({ batchId: row.id, deployment: row.deploymentId }, 'batch deployment no longer configured; serving the stored copy');
      return row.batchObject;
    }
    return this.apply(row, await capability.retrieve(row.providerBatchId, context), context, heldLease);
  }

  /**
   * Undoes a provider batch the gateway did not record: cancelled, and what the adapter made for
   * it (Vertex: the converted input) deleted; a failed delete is queued for the sweeper.
   */
  async discard(deploymentId: string, created: ProviderBatch, context: CallContext): Promise<void> {
    const capability = this.registry.adapterByInstance(deploymentId)?.batches;
    await capability?.cancel(created.providerBatchId, context).catch((error: unknown) => {
      context.logger.warn({ deployment: deploymentId, ...upstreamLogFields(error), error: (error as Error).message }, 'could not cancel an unrecorded provider batch');
    });
    const objects = created.intermediates ?? [];
    if (objects.length > 0 && this.deletion) await this.deletion.compensate(objects.map((reference) => ({ deploymentId, providerFileId: reference })), context);
  }

  /** How long a refresh holds a batch's lease (the background loop's, renewed while outputs are recorded). */
  private get leaseMs(): number {
    return Math.max(60_000, this.options.intervalMs * 4);
  }

  /**
   * Stores what the provider answered (retrieve or cancel). `heldLease`: the lease owner the
   * caller already holds the row under (the background loop's); others record under their own.
   */
  async apply(row: BatchRow, batch: ProviderBatch, context: CallContext, heldLease?: string): Promise<BatchObject> {
    if (!isTerminalBatchStatus(batch.status)) return this.save(row, batch, {}, context);
    // Terminal: its outputs are recorded once. In this process concurrent refreshes of the batch
    // share one recording (a later one would otherwise convert again what an earlier one just
    // recorded); between instances the row's lease decides who records.
    const running = this.recording.get(row.id);
    if (running) {
      // The background loop gives its lease up first: the recording may be waiting for it.
      if (heldLease) await this.batches.releaseLease(row.id, heldLease);
      return running;
    }
    // Once terminal, the recording finishes whether or not the caller that began it is still there.
    const recording = this.record(row, batch, { ...context, signal: undefined }, heldLease ?? `${this.instanceId}/${randomUUID()}`).finally(() => this.recording.delete(row.id));
    this.recording.set(row.id, recording);
    return recording;
  }

  /** Records a terminal batch's outputs under the row's lease, or waits for the instance holding it. */
  private async record(row: BatchRow, batch: ProviderBatch, context: CallContext, leaseOwner: string): Promise<BatchObject> {
    // One instance records the outputs (converting them may take a while, e.g. Vertex); the
    // others wait for its result instead of doing the same work (the (batch, kind) key of the
    // output mappings stays the final guard).
    const deadline = Date.now() + (this.options.finishWaitMs ?? FINISH_WAIT_MS);
    while (!(await this.batches.claim(row.id, leaseOwner, this.leaseMs))) {
      const current = await this.batches.find(row.id);
      if (current && isTerminalBatchStatus(current.status)) return current.batchObject;
      if (Date.now() >= deadline) {
        // Still being recorded elsewhere: OpenAI's own word for "results are being prepared".
        return composeBatch(row, row.batchObject.model ?? null, { ...batch, status: 'finalizing' }, {});
      }
      await new Promise((resolve) => setTimeout(resolve, FINISH_POLL_MS));
    }
    const renew = setInterval(() => void this.batches.claim(row.id, leaseOwner, this.leaseMs).catch(() => undefined), this.leaseMs / 3);
    renew.unref();
    try {
      const outputs = await this.outputs(row, batch, context);
      return await this.save(row, batch, outputs, context);
    } finally {
      clearInterval(renew);
      await this.batches.releaseLease(row.id, leaseOwner).catch(() => undefined);
    }
  }

  private async save(row: BatchRow, batch: ProviderBatch, outputs: Partial<Record<'output' | 'error', string>>, context: CallContext): Promise<BatchObject> {
    // Terminal with its outputs recorded: the adapter's intermediates and the provider objects
    // the outputs were made from (Vertex prediction shards) go. Before the terminal state is
    // saved: if this instance stops in between, the next refresh (the batch is still unfinished in
    // the database) deletes them again; a 404 counts as done, a failed delete is queued.
    if (isTerminalBatchStatus(batch.status) && this.deletion) {
      const upstream: CallContext = { ...context, signal: undefined };
      const objects = [...(batch.intermediates ?? []), ...(await this.leftovers(row, batch, upstream))];
      if (objects.length > 0) await this.deletion.compensate(objects.map((reference) => ({ deploymentId: row.deploymentId, providerFileId: reference })), upstream);
    }
    const object = composeBatch(row, row.batchObject.model ?? null, batch, outputs);
    const saved = await this.batches.saveRefresh(row.id, {
      status: batch.status,
      batchObject: object,
      outputReference: batch.outputReference,
      errorReference: batch.errorReference,
      nextRefreshAt: new Date(Date.now() + this.options.intervalMs),
    });
    return saved.batchObject;
  }

  /** What the adapter says is left behind its recorded outputs; a failed look leaves them (logged), as before. */
  private async leftovers(row: BatchRow, batch: ProviderBatch, context: CallContext): Promise<string[]> {
    try {
      return (await this.capability(row)?.leftovers?.(batch, context)) ?? [];
    } catch (error) {
      context.logger.warn({ batchId: row.id, ...upstreamLogFields(error), error: (error as Error).message }, 'could not list what the batch output was made from; left in place');
      return [];
    }
  }

  /** Managed files for the output and error references, made once per batch and kind. */
  private async outputs(row: BatchRow, batch: ProviderBatch, context: CallContext): Promise<Partial<Record<'output' | 'error', string>>> {
    const made = await this.batches.outputFiles(row.id);
    const capability = this.capability(row)!;
    const model = row.batchObject.model ?? null;
    for (const [kind, reference] of [['output', batch.outputReference], ['error', batch.errorReference]] as const) {
      if (!reference || made[kind]) continue;
      const description = await capability.describeOutput(reference, context);
      made[kind] = await this.batches.outputFile({
        batchId: row.id,
        kind,
        providerReference: reference,
        file: {
          id: mintId('file'),
          ownerId: row.ownerId,
          teamId: row.teamId,
          purpose: 'batch_output',
          // Named after the unified batch id: the provider's file name carries its own batch id.
          filename: `${row.id}_${kind}.jsonl`,
          bytes: description.bytes,
          mimeType: 'application/jsonl',
          targetModelNames: model ? [model] : [],
          expiresAt: null,
        },
        copy: {
          deploymentId: row.deploymentId,
          modelName: model ?? '',
          provider: row.provider,
          providerFileId: reference,
          transformed: false,
          upstreamState: 'active',
          upstreamExpiresAt: null,
          reader: 'batch_output',
        },
      });
    }
    return made;
  }

  /** One background round: lease up to `limit` due batches, refresh each, release. Answers how many it leased. */
  async refreshDue(logger: AdapterLogger, limit = REFRESH_PAGE): Promise<number> {
    const rows = await this.batches.claimDue(this.instanceId, limit, this.leaseMs);
    const context: CallContext = { requestId: `batch-refresh-${randomUUID()}`, logger };
    await Promise.all(
      rows.map(async (row) => {
        try {
          await this.refresh(row, context, this.instanceId);
        } catch (error) {
          logger.warn({ batchId: row.id, ...upstreamLogFields(error), error: (error as Error).message }, 'background batch refresh failed');
          await this.batches.refreshFailed(row.id, (error as Error).message).catch(() => undefined);
        } finally {
          await this.batches.releaseLease(row.id, this.instanceId).catch(() => undefined);
        }
      }),
    );
    return rows.length;
  }
}

/** Runs refreshDue every `intervalMs` until stopped; the returned function waits for the round in flight. */
export function startBatchRefresher(refresher: BatchRefresher, options: { intervalMs: number; logger: AdapterLogger }): () => Promise<void> {
  return startRefreshLoop({ round: () => refresher.refreshDue(options.logger), pageSize: REFRESH_PAGE, intervalMs: options.intervalMs, logger: options.logger, name: 'batch refresher' });
}
