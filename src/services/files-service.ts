/**
 * Plain (non-managed) Files API: one provider, its files_settings credentials for every
 * operation, and owner records so non-admins only reach raw ids uploaded by them.
 */
import { errors, GatewayError, UpstreamError } from '../core/errors.ts';
import type { FileDeleted, FileList, FileObject } from '../core/openai-types.ts';
import { canAccess, isModelAllowed, type Principal } from '../core/access-policy.ts';
import type { ProviderFileRepository } from '../persistence/provider-file-repository.ts';
import type { CallContext, ContentStream, FilesCapability, LateUploadFields, ListQuery, ProviderKind, UploadInput } from '../providers/provider-adapter.ts';

/** The provider list query, as routes parse it. */
export type { LateUploadFields, ListQuery } from '../providers/provider-adapter.ts';
import type { CopyJournal } from './copy-journal.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { pageLocally } from '../providers/shared/normalize-file.ts';


export class FilesService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly records: ProviderFileRepository,
    private readonly journal: CopyJournal,
  ) {}

  /** Validates a provider name from the path, header, query or form. */
  parseProvider(value: string): ProviderKind {
    const kinds = this.registry.kinds();
    if (!kinds.includes(value)) throw errors.unknownProvider(value, kinds);
    return value;
  }

  private files(provider: ProviderKind, operation: string): FilesCapability {
    const adapter = this.registry.filesAdapter(provider);
    if (!adapter) throw errors.providerNotConfigured(provider);
    if (!adapter.files) throw errors.unsupportedOperation(provider, operation);
    return adapter.files;
  }

  /**
   * LiteLLM model-based routing (`x-litellm-model` / `model`): the deployment of that model a
   * plain upload goes to. Unknown → 400 naming it; not allowed for the key → 403.
   */
  routeModel(principal: Principal, model: string): { provider: ProviderKind; deploymentId: string } {
    const deployments = this.registry.deploymentsOf(model);
    if (deployments.length === 0) throw errors.invalidValue('model', `Unknown model '${model}' in x-litellm-model / model. Check model_list in the config.`);
    if (!isModelAllowed(principal, model)) throw errors.modelsNotAllowed([model]);
    const withFiles = deployments.find((deployment) => this.registry.deployment(deployment.id)?.adapter.files);
    if (!withFiles) throw errors.unsupportedOperation(deployments[0]!.settings.provider, `files (model ${model})`);
    return { provider: withFiles.settings.provider, deploymentId: withFiles.id };
  }

  /** The provider a model-routed raw id was uploaded to, when the caller names none. */
  async routedProviderOf(fileId: string): Promise<ProviderKind | undefined> {
    return (await this.records.findRouted(fileId))?.provider;
  }

  /** The files capability for an id: the deployment it was routed to, else the provider's files adapter. */
  private async filesFor(provider: ProviderKind, fileId: string, operation: string): Promise<FilesCapability> {
    const record = await this.records.find(provider, fileId);
    const routed = record?.deploymentId ? this.registry.adapterByInstance(record.deploymentId)?.files : undefined;
    return routed ?? this.files(provider, operation);
  }

  async upload(principal: Principal, provider: ProviderKind, input: UploadInput, context: CallContext, deploymentId?: string): Promise<FileObject> {
    return this.send(principal, provider, input, context, deploymentId, (files, reserveId) => files.upload({ ...input, reserveId }, context));
  }

  /** Whether uploads to this provider (or routed deployment) can start before the form's fields are known. */
  canUploadFieldsLast(provider: ProviderKind, deploymentId?: string): boolean {
    const routed = deploymentId ? this.registry.adapterByInstance(deploymentId)?.files : undefined;
    const files = routed ?? this.registry.filesAdapter(provider)?.files;
    return typeof files?.uploadFieldsLast === 'function';
  }

  /**
   * An upload started before its fields arrived (FilesCapability.uploadFieldsLast): recorded
   * like any other once `input.fields` resolves and the provider answers.
   */
  async uploadFieldsLast(
    principal: Principal,
    provider: ProviderKind,
    input: Omit<UploadInput, 'purpose' | 'expiresAfter'> & { fields: Promise<LateUploadFields> },
    context: CallContext,
    deploymentId?: string,
  ): Promise<FileObject> {
    return this.send(principal, provider, input, context, deploymentId, (files, reserveId) => {
      if (!files.uploadFieldsLast) throw errors.unsupportedOperation(provider, 'upload files before their fields');
      return files.uploadFieldsLast({ ...input, reserveId }, context);
    });
  }

  private async send(
    principal: Principal,
    provider: ProviderKind,
    input: { filename: string; body: UploadInput['body'] },
    context: CallContext,
    deploymentId: string | undefined,
    upload: (files: FilesCapability, reserveId: (providerFileId: string) => Promise<void>) => Promise<FileObject>,
  ): Promise<FileObject> {
    const routedAdapter = deploymentId ? this.registry.adapterByInstance(deploymentId) : undefined;
    const files = routedAdapter?.files ?? this.files(provider, 'upload files');
    const instance = routedAdapter?.instance ?? this.registry.filesAdapter(provider)!.instance;
    // A journal row covers the window in which the provider holds a copy the database does not
    // know yet (a crash there would orphan it): see copy-journal.ts.
    const { file, journalId } = await this.journal.track(
      { deploymentId: instance, provider, filename: input.filename, bytes: input.body.bytes },
      (reserveId) => upload(files, reserveId),
    );
    try {
      await this.records.record({
        provider,
        providerFileId: file.id,
        ownerId: principal.ownerId,
        teamId: principal.teamId,
        purpose: file.purpose,
        fileObject: file,
        deploymentId: routedAdapter ? instance : null,
      });
    } catch (error) {
      // Without its owner record nobody but an admin could reach the file: take it back.
      try {
        await files.delete(file.id, { ...context, signal: undefined });
        await this.journal.finish([journalId], context);
      } catch (cleanupError) {
        await this.journal.abandon(journalId);
        context.logger.error({ provider, error: String(cleanupError) }, 'could not remove an unrecorded upload; the sweeper will');
      }
      throw errors.databaseUnavailable(error);
    }
    await this.journal.finish([journalId], context);
    return file;
  }

  /**
   * Takes back an upload that will not be kept (its form failed after the file went upstream):
   * the provider copy and its owner record. An upstream 404 means it is already gone.
   */
  async takeBack(provider: ProviderKind, fileId: string, context: CallContext, deploymentId?: string): Promise<void> {
    try {
      const routed = deploymentId ? this.registry.adapterByInstance(deploymentId)?.files : undefined;
      await (routed ?? this.files(provider, 'delete files')).delete(fileId, context);
    } catch (error) {
      if (!(error instanceof GatewayError && error.status === 404)) {
        context.logger.error({ provider, fileId, error: String(error) }, 'could not take back an upload');
        return;
      }
    }
    await this.records.remove(provider, fileId).catch(() => undefined);
  }

  /** Admins get the provider's own list; others only the files recorded as theirs. */
  async list(principal: Principal, provider: ProviderKind, query: ListQuery, context: CallContext): Promise<FileList> {
    const files = this.files(provider, 'list files');
    if (principal.isAdmin) return files.list(query, context);
    const owned = await this.records.listOwned(provider, principal, query.purpose);
    return pageLocally(owned, query);
  }

  private async checkOwner(principal: Principal, provider: ProviderKind, fileId: string): Promise<void> {
    if (principal.isAdmin) return;
    const record = await this.records.find(provider, fileId);
    if (!record || !canAccess(principal, record)) throw errors.fileNotFound(fileId);
  }

  async retrieve(principal: Principal, provider: ProviderKind, fileId: string, context: CallContext): Promise<FileObject> {
    await this.checkOwner(principal, provider, fileId);
    const files = await this.filesFor(provider, fileId, 'retrieve files');
    return notFoundAs(fileId, files.retrieve(fileId, context));
  }

  async delete(principal: Principal, provider: ProviderKind, fileId: string, context: CallContext): Promise<FileDeleted> {
    await this.checkOwner(principal, provider, fileId);
    const files = await this.filesFor(provider, fileId, 'delete files');
    const deleted = await notFoundAs(fileId, files.delete(fileId, context));
    await this.records.remove(provider, fileId);
    return deleted;
  }

  /** The bytes, and the filename for Content-Disposition: from the owner record, else the provider's object. */
  async content(principal: Principal, provider: ProviderKind, fileId: string, context: CallContext): Promise<ContentStream & { filename: string }> {
    await this.checkOwner(principal, provider, fileId);
    const files = await this.filesFor(provider, fileId, 'download file content');
    const record = await this.records.find(provider, fileId);
    const filename = record
      ? Promise.resolve(record.fileObject.filename)
      : files.retrieve(fileId, { ...context, signal: undefined }).then((file) => file.filename, () => fileId);
    const content = await notFoundAs(fileId, files.content(fileId, context));
    return { ...content, filename: (await filename) || fileId };
  }
}

/**
 * A provider's 404 for an id the caller named is our own "No such File object" (the provider's
 * text is logged, not returned: README "Endpoints" (errors)), so unknown ids look the same wherever they failed.
 */
async function notFoundAs<T>(fileId: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof UpstreamError && error.status === 404) throw errors.fileNotFound(fileId, { cause: error });
    throw error;
  }
}
