/**
 * Managed files (README "Endpoints" (managed files)): one upload fanned out concurrently to every deployment of every
 * target model, one opaque unified id, the mapping in the database, owner-scoped reads.
 */
import { errors, GatewayError, upstreamLogFields } from '../core/errors.ts';
import { mintId } from '../core/ids.ts';
import { recordManagedFile } from '../core/metrics.ts';
import { listPage, type ExpiresAfter, type FileDeleted, type FileList, type FileObject } from '../core/openai-types.ts';
import { canReach, disallowedModels, type Principal } from '../core/access-policy.ts';
import type { ManagedFileRepository, ManagedFileRow, ManagedListQuery, NewManagedCopy } from '../persistence/managed-file-repository.ts';
import type { CallContext, ContentStream, ProviderAdapter, UploadBody } from '../providers/provider-adapter.ts';
import type { Deployment, ProviderRegistry } from '../providers/registry.ts';
import { isDurableSource, managedExpiry, reportedCopy } from './copy-state.ts';
import { shareBody } from '../core/shared-body.ts';
import { checkBatchFile } from './batch-file-check.ts';
import { BatchLineUrls } from './batch-line-urls.ts';
import type { BatchReferences, UploadReferenceCheck } from './batch-references.ts';
import type { CopyJournal } from './copy-journal.ts';
import type { ManagedFileDeletion } from './managed-file-deletion.ts';

export interface ManagedUpload {
  purpose: string;
  expiresAfter: ExpiresAfter | undefined;
  targetModelNames: string[];
  filename: string;
  mimeType: string;
  /** The spooled body; opened once per deployment. */
  body: UploadBody;
}

interface Target {
  modelName: string;
  deployment: Deployment;
  adapter: ProviderAdapter;
}

export function toFileObject(row: ManagedFileRow): FileObject {
  return {
    id: row.id,
    object: 'file',
    bytes: row.bytes,
    created_at: Math.floor(row.createdAt.getTime() / 1000),
    filename: row.filename,
    purpose: row.purpose,
    status: 'processed',
    expires_at: row.expiresAt ? Math.floor(row.expiresAt.getTime() / 1000) : null,
    status_details: null,
    target_model_names: row.targetModelNames,
  };
}

export class ManagedFilesService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly files: ManagedFileRepository,
    private readonly deletion: ManagedFileDeletion,
    /** Intent rows around each provider upload, so a crash mid-fan-out leaves nothing behind. */
    private readonly journal: CopyJournal,
    /** Refuses deleting a file something still needs (an unfinished batch reading it → 409), else marks it deleting (BatchesService.beginDelete). */
    private readonly deleteGuard: (fileId: string, context: CallContext) => Promise<void> = async () => undefined,
    /** Checks and maps the files a batch file's lines name (batch-references.ts). */
    private readonly batchReferences?: BatchReferences,
  ) {}

  /** Every name must exist (400) and be allowed for the key (403); every deployment must store files. */
  resolveTargets(principal: Principal, modelNames: readonly string[]): Target[] {
    const unknown = modelNames.filter((name) => this.registry.deploymentsOf(name).length === 0);
    for (const name of unknown) {
      const reason = this.registry.unsupportedReason(name);
      if (reason) throw errors.modelNotSupported(name, reason, 'target_model_names');
    }
    if (unknown.length > 0) throw errors.unknownModels(unknown);
    const forbidden = disallowedModels(principal, modelNames);
    if (forbidden.length > 0) throw errors.modelsNotAllowed(forbidden);
    return modelNames.flatMap((modelName) =>
      this.registry.deploymentsOf(modelName).map((deployment) => {
        const adapter = this.registry.deployment(deployment.id)!.adapter;
        if (!adapter.files) throw errors.unsupportedOperation(deployment.settings.provider, `files (model ${modelName})`);
        return { modelName, deployment, adapter };
      }),
    );
  }

  /** The body each deployment receives: its adapter may shape it (e.g. batch JSONL model names). */
  private bodyFor(target: Target, upload: ManagedUpload, lineFiles: UploadReferenceCheck | undefined): { body: UploadBody; transformed: boolean } {
    const fileIds = lineFiles?.fileIdsFor(target.deployment.id);
    const shaped = target.adapter.files!.shapeUpload?.({ body: upload.body, purpose: upload.purpose, filename: upload.filename, mimeType: upload.mimeType, ...(fileIds ? { fileIds } : {}) });
    return shaped ? { body: shaped, transformed: true } : { body: upload.body, transformed: false };
  }

  /** One deployment's copy, journaled while the provider holds it and the database does not know it yet. */
  private async uploadTo(target: Target, upload: ManagedUpload, upstreamContext: CallContext, lineFiles: UploadReferenceCheck | undefined) {
    const { body, transformed } = this.bodyFor(target, upload, lineFiles);
    const entry = { deploymentId: target.deployment.id, provider: target.deployment.settings.provider, filename: upload.filename, bytes: transformed ? undefined : body.bytes };
    const { file, journalId } = await this.journal.track(entry, (reserveId) =>
      target.adapter.files!.upload(
        { body, filename: upload.filename, mimeType: upload.mimeType, purpose: upload.purpose, expiresAfter: upload.expiresAfter, reserveId },
        upstreamContext,
      ),
    );
    return { target, file, transformed, journalId };
  }

  async create(principal: Principal, upload: ManagedUpload, context: CallContext): Promise<FileObject> {
    const targets = this.resolveTargets(principal, upload.targetModelNames);
    // A batch file is checked whole before any deployment receives it (README "Batches"), with the files
    // its lines name: the caller's only, mapped to each deployment's copy (batch-references.ts).
    let lineFiles: UploadReferenceCheck | undefined;
    let batchLines: { batchLineUrl: string; batchLineFiles: string[] } | undefined;
    if (upload.purpose === 'batch') {
      const deployments = targets.map((target) => ({ id: target.deployment.id, provider: target.deployment.settings.provider, modelName: target.modelName }));
      const check = this.batchReferences?.uploadCheck(principal, deployments);
      // Every line calls one url, recorded with the file for the batch create (batch-line-urls.ts).
      const urls = new BatchLineUrls('file');
      const onRequest = (request: Record<string, unknown>, number: number) => {
        urls.line(request, number);
        return check?.line(request, number);
      };
      await checkBatchFile(upload.body, upload.targetModelNames, { onRequest });
      lineFiles = check;
      batchLines = { batchLineUrl: urls.url!, batchLineFiles: check?.managedFileIds() ?? [] };
    }
    // Uploads are not aborted by a client disconnect: an aborted provider upload may or may not
    // exist upstream. They finish, and are then taken back if the client has gone.
    const upstreamContext: CallContext = { ...context, signal: undefined };
    // One read of the spooled bytes feeds every deployment (core/shared-body.ts).
    const branches = shareBody(upload.body, targets.length);
    const results = await Promise.allSettled(
      targets.map(async (target, index) => {
        const branch = branches[index]!;
        try {
          return await this.uploadTo(target, { ...upload, body: branch }, upstreamContext, lineFiles);
        } finally {
          branch.release();
        }
      }),
    );
    const made = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failures = results.flatMap((result, index) => (result.status === 'rejected' ? [{ target: targets[index]!, error: result.reason as unknown }] : []));
    // Journal rows go once the copies are recorded or taken back (queued deletes take over then).
    const finishJournal = () => this.journal.finish(made.map(({ journalId }) => journalId), upstreamContext);
    const takeBack = async () => {
      await this.deletion.compensate(made.map(({ target, file }) => ({ deploymentId: target.deployment.id, providerFileId: file.id })), upstreamContext);
      await finishJournal();
    };

    if (failures.length > 0) {
      for (const { target, error } of failures) {
        context.logger.warn({ deployment: target.deployment.id, model: target.modelName, ...upstreamLogFields(error) }, 'managed upload failed on a deployment');
      }
      await takeBack();
      throw uploadFailure(failures);
    }
    if (context.signal?.aborted) {
      await takeBack();
      throw errors.clientClosed();
    }
    const id = mintId('file');
    // One clock reading for both: OpenAI anchors expires_at at created_at (whole seconds apart).
    const createdAt = new Date();
    const requestedExpiry = upload.expiresAfter ? new Date(createdAt.getTime() + upload.expiresAfter.seconds * 1000) : null;
    const copies: NewManagedCopy[] = made.map(({ target, file, transformed }) => ({
      deploymentId: target.deployment.id,
      modelName: target.modelName,
      provider: target.deployment.settings.provider,
      providerFileId: file.id,
      transformed,
      ...reportedCopy(file, requestedExpiry),
    }));
    let row: ManagedFileRow;
    try {
      row = await this.files.insert(
        {
          id,
          createdAt,
          ownerId: principal.ownerId,
          teamId: principal.teamId,
          purpose: upload.purpose,
          filename: upload.filename,
          bytes: upload.body.bytes ?? made[0]?.file.bytes ?? 0,
          mimeType: upload.mimeType,
          targetModelNames: upload.targetModelNames,
          expiresAt: managedExpiry(requestedExpiry, copies),
          ...batchLines,
        },
        copies,
      );
    } catch (error) {
      await takeBack();
      throw errors.databaseUnavailable(error);
    }
    await finishJournal();
    recordManagedFile('created');
    context.logger.info({ fileId: id, copies: copies.length, bytes: row.bytes }, 'managed file created');
    return toFileObject(row);
  }

  private async visible(principal: Principal, id: string) {
    const found = await this.files.findVisible(id);
    if (!found || !canReach(principal, found.file)) throw errors.fileNotFound(id);
    return found;
  }

  async retrieve(principal: Principal, id: string): Promise<FileObject> {
    return toFileObject((await this.visible(principal, id)).file);
  }

  async list(principal: Principal, query: ManagedListQuery): Promise<FileList> {
    // Someone else's id (or one this key reaches through no model) answers like an unknown one.
    const cursor = query.after ? await this.files.cursorFile(query.after) : undefined;
    if (query.after && !(cursor && canReach(principal, cursor))) {
      throw errors.invalidValue('after', `Invalid after '${query.after}': no such file.`);
    }
    const { rows, hasMore } = await this.files.list(principal, query);
    return listPage(rows.map(toFileObject), hasMore);
  }

  /** Streams from a copy holding the original bytes, failing over to the next copy on error. */
  async content(principal: Principal, id: string, context: CallContext): Promise<ContentStream & { mimeType: string; filename: string }> {
    const { file, copies } = await this.visible(principal, id);
    // Copies holding the original bytes for good first (a Gemini copy has no download at all).
    const ordered = [...copies].sort((a, b) => Number(isDurableSource(b)) - Number(isDurableSource(a)) || Number(a.transformed) - Number(b.transformed));
    let lastError: unknown = errors.fileNotFound(id);
    for (const copy of ordered) {
      const adapter = this.registry.adapterByInstance(copy.deploymentId);
      // A batch's output is read through its adapter's batches capability (it may convert it).
      const read = copy.reader === 'batch_output' ? adapter?.batches?.outputContent.bind(adapter.batches) : adapter?.files?.content.bind(adapter.files);
      if (!read) continue;
      try {
        const content = await read(copy.providerFileId, context);
        return { ...content, contentType: file.mimeType, mimeType: file.mimeType, filename: file.filename };
      } catch (error) {
        if (context.signal?.aborted) throw error;
        context.logger.warn({ fileId: id, deployment: copy.deploymentId, error: (error as Error).message, ...upstreamLogFields(error) }, 'content copy failed, trying the next');
        lastError = error;
      }
    }
    throw lastError;
  }

  async delete(principal: Principal, id: string, context: CallContext): Promise<FileDeleted> {
    const found = await this.files.findDeletable(id);
    if (!found || !canReach(principal, found.file)) throw errors.fileNotFound(id);
    await this.deleteGuard(found.file.id, context);
    await this.deletion.deleteFile(found.file.id, found.copies, context);
    return { id, object: 'file', deleted: true };
  }
}

function uploadFailure(failures: Array<{ target: Target; error: unknown }>): GatewayError {
  const first = failures[0]!;
  const cause = first.error instanceof GatewayError ? first.error : errors.internal(first.error);
  const names = [...new Set(failures.map(({ target }) => `${target.deployment.settings.provider} (model ${target.modelName})`))];
  return new GatewayError({
    status: cause.status,
    type: cause.type,
    code: cause.code,
    param: cause.param,
    headers: cause.headers,
    message: `Upload failed on ${names.join(', ')}: ${cause.message.replace(/\.$/, '')}. No copy was kept on any deployment.`,
    cause: first.error,
  });
}
