/**
 * Making a managed file's copy usable before a chat sends it (README "Endpoints" (managed files) "each copy has its own
 * state"): a copy the provider is still processing is polled until it is ready (bounded, then a
 * clear 409); a copy the provider expires on its own is checked before use, and one that has
 * expired (or is about to) is re-made from another copy by CopyRemaker. Durable, ready copies —
 * the common case — cost nothing here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errors, GatewayError } from '../core/errors.ts';
import type { ManagedCopyRow, ManagedFileRepository } from '../persistence/managed-file-repository.ts';
import type { CopyState } from '../persistence/schema.ts';
import type { CallContext, FileReferenceTargets, FilesCapability } from '../providers/provider-adapter.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { CopyRemaker, FoundFile } from './copy-remake.ts';
import { stateOf } from './copy-state.ts';

/** A copy that ends within this margin is re-made first: the chat may take a while. */
const EXPIRY_MARGIN_MS = 60_000;
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 2_000;

export class CopyReadiness {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly files: ManagedFileRepository,
    private readonly remaker: CopyRemaker,
    private readonly options: { waitMs: number; onChange: (fileId: string) => void },
  ) {}

  /**
   * Whether every managed file's copy on `deploymentId` can be used as recorded (durable and
   * ready), so prepare() has nothing to do: the common case, answered without a promise.
   */
  usableAsIs(input: { managed: ReadonlyMap<string, FoundFile>; deploymentId: string }): boolean {
    for (const found of input.managed.values()) {
      const copy = found.copies.find((row) => row.deploymentId === input.deploymentId);
      if (copy && !usableAsRecorded(copy)) return false;
    }
    return true;
  }

  /** `fileReferences` with every managed file's copy on `deploymentId` ready to use. */
  async prepare(
    input: { managed: ReadonlyMap<string, FoundFile>; deploymentId: string; fileReferences: Record<string, FileReferenceTargets> },
    context: CallContext,
  ): Promise<Record<string, FileReferenceTargets>> {
    let references = input.fileReferences;
    for (const [fileId, found] of input.managed) {
      const copy = found.copies.find((row) => row.deploymentId === input.deploymentId);
      const target = references[fileId]?.[input.deploymentId];
      if (!copy || !target) continue;
      const providerFileId = await this.ready(found, copy, context);
      if (providerFileId !== copy.providerFileId) {
        references = { ...references, [fileId]: { ...references[fileId], [input.deploymentId]: { ...target, providerFileId } } };
      }
    }
    return references;
  }

  private async ready(found: FoundFile, copy: ManagedCopyRow, context: CallContext): Promise<string> {
    if (usableAsRecorded(copy)) return copy.providerFileId;
    const where = `${copy.provider} (model ${copy.modelName})`;
    let current = copy;
    let remade = false;
    const remake = async () => {
      current = await this.remaker.remake(found, current, context);
      remade = true;
    };
    if (current.upstreamExpiresAt && current.upstreamExpiresAt.getTime() <= Date.now() + EXPIRY_MARGIN_MS) await remake();
    const deadline = Date.now() + this.options.waitMs;
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      if (remade && current.upstreamState === 'active') return current.providerFileId;
      const state = await this.stateNow(current, context);
      if (state === 'gone') {
        // Deleted before its time (or the clocks disagree): the same cure as expiry, once.
        if (remade) throw errors.fileCopyExpired(found.file.id, where);
        await remake();
        continue;
      }
      if (state !== current.upstreamState) {
        await this.files.setCopyState(found.file.id, current.deploymentId, state);
        this.options.onChange(found.file.id);
        current = { ...current, upstreamState: state };
      }
      if (state === 'active') return current.providerFileId;
      if (state === 'failed') throw errors.fileProcessingFailed(found.file.id, where);
      if (Date.now() + pause > deadline) throw errors.fileNotReady(found.file.id, where, Math.round(this.options.waitMs / 1000));
      try {
        await sleep(pause, undefined, { signal: context.signal });
      } catch {
        throw errors.clientClosed();
      }
    }
  }

  /**
   * A raw provider file (a plain batch's or job's input) that was still being processed when its
   * upload was recorded (Azure `pending`): polled until the provider has processed it, bounded like
   * a managed copy (README "Batches": Azure only takes processed files).
   */
  async rawReady(input: { files: FilesCapability; providerFileId: string; where: string; param: string }, context: CallContext): Promise<void> {
    const deadline = Date.now() + this.options.waitMs;
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      const state = stateOf(await input.files.retrieve(input.providerFileId, context));
      if (state === 'active') return;
      if (state === 'failed') throw errors.invalidValue(input.param, `File ${input.providerFileId} could not be processed by ${input.where}; upload it again.`);
      if (Date.now() + pause > deadline) throw errors.fileNotReady(input.providerFileId, input.where, Math.round(this.options.waitMs / 1000));
      try {
        await sleep(pause, undefined, { signal: context.signal });
      } catch {
        throw errors.clientClosed();
      }
    }
  }

  /** What the provider says now; a 404 means the copy is gone. */
  private async stateNow(copy: ManagedCopyRow, context: CallContext): Promise<CopyState | 'gone'> {
    const files = this.registry.deployment(copy.deploymentId)?.adapter.files;
    if (!files) return copy.upstreamState;
    try {
      return stateOf(await files.retrieve(copy.providerFileId, context));
    } catch (error) {
      if (error instanceof GatewayError && error.status === 404) return 'gone';
      throw error;
    }
  }
}

/** A ready copy the provider keeps until it is deleted: nothing to check before using it. */
function usableAsRecorded(copy: ManagedCopyRow): boolean {
  return copy.upstreamState === 'active' && !copy.upstreamExpiresAt;
}
