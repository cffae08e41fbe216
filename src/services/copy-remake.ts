/**
 * Re-making a managed file's copy that its provider deleted on its own (Gemini API files after 48
 * hours, README "Endpoints" (managed files)): the original bytes are streamed from another copy that holds them for good
 * (an OpenAI file's content, a GCS object, …) straight into a new upload on the same deployment;
 * the database row then points at the new provider file, under the same unified id.
 */
import { errors, GatewayError } from '../core/errors.ts';
import type { ManagedCopyRow, ManagedFileRepository, ManagedFileRow } from '../persistence/managed-file-repository.ts';
import type { CallContext, ContentStream, ProviderAdapter, UploadBody } from '../providers/provider-adapter.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { isDurableSource, reportedCopy } from './copy-state.ts';
import type { CopyJournal } from './copy-journal.ts';
import type { ManagedFileDeletion } from './managed-file-deletion.ts';

export interface FoundFile {
  file: ManagedFileRow;
  copies: ManagedCopyRow[];
}

export class CopyRemaker {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly files: ManagedFileRepository,
    private readonly deletion: ManagedFileDeletion,
    /** Called when a file's copies changed (drops cached lookups). */
    private readonly onChange: (fileId: string) => void,
    /** Intent rows around the new upload, so a crash mid-re-make orphans nothing (copy-journal.ts). */
    private readonly journal?: CopyJournal,
  ) {}

  /** Returns the copy as the database now holds it (ours, or another request's re-make). */
  async remake(found: FoundFile, copy: ManagedCopyRow, context: CallContext): Promise<ManagedCopyRow> {
    const where = `${copy.provider} (model ${copy.modelName})`;
    const target = this.registry.deployment(copy.deploymentId)?.adapter;
    if (!target?.files) throw errors.fileCopyExpired(found.file.id, where);
    // Like the first upload, a re-make is finished even if the client leaves: it is kept for next time.
    const upstream: CallContext = { ...context, signal: undefined };
    const source = await this.openSource(found, copy, upstream);
    if (!source) throw errors.fileCopyExpired(found.file.id, where);
    let stream: ContentStream['body'] | undefined = source.body;
    const files = target.files;
    const original: UploadBody = {
      open: () => {
        if (!stream) throw new Error('a re-made copy streams its source once');
        const opened = stream;
        stream = undefined;
        return opened;
      },
      bytes: found.file.bytes,
    };
    const { filename, mimeType, purpose } = found.file;
    // The deployment gets its bytes shaped as at the first upload (e.g. batch JSONL model names,
    // and the managed files its lines name mapped to this deployment's copies).
    const fileIds = purpose === 'batch' ? this.lineFileIds(found.file, copy.deploymentId) : undefined;
    const body = files.shapeUpload?.({ body: original, purpose, filename, mimeType, ...(fileIds ? { fileIds } : {}) }) ?? original;
    const send = (reserveId?: (providerFileId: string) => Promise<void>) =>
      files.upload({ body, filename, mimeType, purpose, ...(reserveId ? { reserveId } : {}) }, upstream);
    const entry = { deploymentId: copy.deploymentId, provider: copy.provider, filename: found.file.filename, bytes: found.file.bytes };
    const tracked = await (this.journal ? this.journal.track(entry, send) : send().then((file) => ({ file, journalId: undefined }))).finally(() =>
      source.body.destroy(),
    );
    const made = tracked.file;
    // The new copy is recorded or taken back below; either way its journal row is done then.
    const finishJournal = () => (tracked.journalId ? this.journal!.finish([tracked.journalId], upstream) : Promise.resolve());
    const state = reportedCopy(made, found.file.expiresAt);
    let replaced: boolean;
    try {
      replaced = await this.files.replaceCopy({ fileId: found.file.id, deploymentId: copy.deploymentId, previousProviderFileId: copy.providerFileId, providerFileId: made.id, ...state });
    } catch (error) {
      await this.deletion.compensate([{ deploymentId: copy.deploymentId, providerFileId: made.id }], upstream);
      await finishJournal();
      throw errors.databaseUnavailable(error);
    }
    await finishJournal();
    this.onChange(found.file.id);
    if (!replaced) {
      // Another request re-made it first: keep theirs, take ours back.
      await this.deletion.compensate([{ deploymentId: copy.deploymentId, providerFileId: made.id }], upstream);
      const current = (await this.files.findVisible(found.file.id))?.copies.find((row) => row.deploymentId === copy.deploymentId);
      if (!current) throw errors.fileNotFound(found.file.id);
      return current;
    }
    // The old copy is gone upstream already (a 404 counts as deleted); anything else is retried later.
    await this.deletion.compensate([{ deploymentId: copy.deploymentId, providerFileId: copy.providerFileId }], upstream);
    context.logger.info({ fileId: found.file.id, deployment: copy.deploymentId, bytes: made.bytes }, 'expired copy re-made');
    return { ...copy, providerFileId: made.id, ...state };
  }

  /**
   * For a re-made batch file: each unified id a line names → its copy on `deploymentId`. The lines
   * were checked when the file was uploaded; the file must still be the batch file owner's (or
   * their team's) and have a copy there, else the line is refused.
   */
  private lineFileIds(batchFile: ManagedFileRow, deploymentId: string): (fileId: string, line: number) => Promise<string> {
    const known = new Map<string, string>();
    return async (fileId, line) => {
      const cached = known.get(fileId);
      if (cached) return cached;
      const found = await this.files.findVisible(fileId);
      const ours = found && (found.file.ownerId === batchFile.ownerId || (batchFile.teamId !== null && found.file.teamId === batchFile.teamId));
      const copy = ours ? found.copies.find((row) => row.deploymentId === deploymentId && row.reader === 'file') : undefined;
      if (!copy) throw errors.invalidValue('input_file_id', `Line ${line} of the batch file refers to file ${fileId}, which is no longer available on this deployment.`);
      known.set(fileId, copy.providerFileId);
      return copy.providerFileId;
    };
  }

  /** The original bytes from the first durable copy that serves them. */
  private async openSource(found: FoundFile, copy: ManagedCopyRow, context: CallContext): Promise<ContentStream | undefined> {
    for (const candidate of found.copies) {
      if (candidate.deploymentId === copy.deploymentId || !isDurableSource(candidate)) continue;
      const adapter: ProviderAdapter | undefined = this.registry.deployment(candidate.deploymentId)?.adapter;
      if (!adapter?.files) continue;
      try {
        return await adapter.files.content(candidate.providerFileId, context);
      } catch (error) {
        const status = error instanceof GatewayError ? error.status : undefined;
        context.logger.warn({ fileId: found.file.id, deployment: candidate.deploymentId, status }, 'source copy unavailable for a re-make, trying the next');
      }
    }
    return undefined;
  }
}
