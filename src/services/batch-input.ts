/**
 * Which deployment a batch runs on and which of its files is the input (README "Batches"): the caller's
 * managed `purpose=batch` file on a deployment holding it (waiting, bounded, for a copy the
 * provider is still processing — Azure only takes `processed` files), or a raw provider id
 * recorded as the caller's, run as a plain batch on that provider. Anything not the caller's
 * is 404 before any provider call.
 */
import { canAccess, canReach, isModelAllowed, type Principal } from '../core/access-policy.ts';
import { errors } from '../core/errors.ts';
import { isUnifiedId } from '../core/ids.ts';
import type { ManagedFileRepository, ManagedFileRow } from '../persistence/managed-file-repository.ts';
import type { ProviderFileRepository } from '../persistence/provider-file-repository.ts';
import type { BatchCreateInput, CallContext, ProviderAdapter } from '../providers/provider-adapter.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { assertLinesCallEndpoint } from './batch-line-urls.ts';
import type { BatchLineFacts, BatchReferences } from './batch-references.ts';
import type { CopyReadiness } from './copy-readiness.ts';

export interface BatchInput {
  /** Deployment id or files_settings instance that runs the batch. */
  instance: string;
  provider: string;
  adapter: ProviderAdapter & { batches: NonNullable<ProviderAdapter['batches']> };
  /** The deployment's own reference to the input (its copy's provider file id / URI). */
  inputReference: string;
  managed: boolean;
  /** Public model name the batch runs under (null for a plain batch). */
  modelName: string | null;
  /** For adapters that convert lines at create: the managed files the lines name (BatchCreateInput.resolveFile). */
  resolveFile?: BatchCreateInput['resolveFile'];
  /** The managed files the lines name: kept from deletion while the batch runs. */
  referencedFiles: string[];
}

export interface BatchInputRequest {
  inputFileId: string;
  /** The OpenAI endpoint every line calls (`/v1/chat/completions`, …). */
  endpoint: string;
  /** Explicit provider (path prefix, header, query or body `custom_llm_provider`). */
  provider?: string;
  /** LiteLLM model-based routing: `x-litellm-model` / `model` picks that model's deployment. */
  model?: string;
}

export class BatchInputResolver {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly managedFiles: ManagedFileRepository,
    private readonly providerFiles: ProviderFileRepository,
    private readonly readiness: CopyReadiness,
    /** The files a batch's lines name (batch-references.ts). */
    private readonly references?: BatchReferences,
  ) {}

  async resolve(principal: Principal, request: BatchInputRequest, context: CallContext): Promise<BatchInput> {
    if (request.model !== undefined && this.registry.deploymentsOf(request.model).length === 0) {
      throw errors.invalidValue('model', `Unknown model '${request.model}'. Check model_list in the config.`);
    }
    return isUnifiedId('file', request.inputFileId) ? this.managed(principal, request, context) : this.plain(principal, request, context);
  }

  private async managed(principal: Principal, request: BatchInputRequest, context: CallContext): Promise<BatchInput> {
    const id = request.inputFileId;
    const found = await this.managedFiles.findVisible(id);
    if (!found || !canReach(principal, found.file)) throw errors.fileNotFound(id, { param: 'input_file_id' });
    if (found.file.purpose !== 'batch') {
      throw errors.invalidValue('input_file_id', `File ${id} has purpose '${found.file.purpose}'; a batch needs a file uploaded with purpose 'batch'.`);
    }
    const candidates = found.copies.filter((copy) => {
      if (copy.reader !== 'file' || (request.model !== undefined && copy.modelName !== request.model)) return false;
      return Boolean(this.registry.deployment(copy.deploymentId)?.adapter.batches) && isModelAllowed(principal, copy.modelName);
    });
    // A deployment whose provider runs the endpoint; else 400 saying which it runs (no provider call).
    const copy = candidates.find((row) => runsEndpoint(this.registry.deployment(row.deploymentId)!.adapter, request.endpoint));
    if (!copy && candidates[0]) {
      throw errors.batchEndpointUnsupported(candidates[0].provider, this.registry.deployment(candidates[0].deploymentId)!.adapter.batches!.endpoints!, request.endpoint);
    }
    if (!copy) {
      const models = [...new Set(found.copies.map((row) => row.modelName))];
      if (request.model !== undefined && !models.includes(request.model)) {
        throw errors.invalidValue('model', `File ${id} is not available for model '${request.model}'; it is available for: ${models.join(', ')}.`);
      }
      if (!models.some((name) => isModelAllowed(principal, name))) throw errors.modelsNotAllowed(models);
      throw errors.unsupportedOperation(found.copies[0]?.provider ?? 'unknown', 'batches');
    }
    const adapter = this.registry.deployment(copy.deploymentId)!.adapter;
    // Recorded at upload: checked before any provider call. Otherwise read once the copy is ready.
    const recorded = found.file.batchLineUrl === null ? undefined : { url: found.file.batchLineUrl, files: found.file.batchLineFiles ?? [] };
    if (recorded) assertLinesCallEndpoint(recorded.url, request.endpoint, copy.provider, id);
    const references = await this.readiness.prepare(
      {
        managed: new Map([[id, found]]),
        deploymentId: copy.deploymentId,
        fileReferences: { [id]: { [copy.deploymentId]: { providerFileId: copy.providerFileId, mimeType: found.file.mimeType } } },
      },
      context,
    );
    const inputReference = references[id]![copy.deploymentId]!.providerFileId;
    const lines = recorded ?? (await this.checkUnrecorded(principal, found.file, { provider: copy.provider, adapter, inputReference }, context));
    if (!recorded) assertLinesCallEndpoint(lines.url, request.endpoint, copy.provider, id);
    return {
      instance: copy.deploymentId,
      provider: copy.provider,
      adapter: adapter as BatchInput['adapter'],
      inputReference,
      managed: true,
      modelName: copy.modelName,
      referencedFiles: lines.files,
      ...this.lineFiles(principal, adapter, { id: copy.deploymentId, modelName: copy.modelName }),
    };
  }

  /**
   * What the lines of a file uploaded before they were recorded hold: read once from the (ready)
   * copy that runs the batch and checked like a plain input (batch-references.ts
   * checkStoredInput), then recorded unless the lines name managed files (those are checked per
   * deployment, so they are checked again at the next create).
   */
  private async checkUnrecorded(principal: Principal, file: ManagedFileRow, copy: { provider: string; adapter: ProviderAdapter; inputReference: string }, context: CallContext): Promise<BatchLineFacts> {
    const { provider, adapter } = copy;
    if (!this.references || !adapter.files) throw errors.unsupportedOperation(provider, 'batches');
    const content = await adapter.files.content(copy.inputReference, context);
    const facts = await this.references.checkStoredInput(principal, { provider, convertsLines: Boolean(adapter.batches?.convertsLines) }, content.body as AsyncIterable<Buffer> & { destroy(): void });
    if (facts.files.length === 0) await this.managedFiles.recordBatchLines(file.id, facts);
    context.logger.info({ fileId: file.id, files: facts.files.length }, 'batch file lines checked at create (uploaded before they were recorded)');
    return facts;
  }

  /** A raw provider id: only one recorded as the caller's (admins: any) runs, on its provider. */
  private async plain(principal: Principal, request: BatchInputRequest, context: CallContext): Promise<BatchInput> {
    const id = request.inputFileId;
    const providers = request.provider ? [request.provider] : this.registry.recordedIdsOf(id).map((entry) => entry.provider);
    for (const provider of providers) {
      const record = await this.providerFiles.find(provider, id);
      if (record && !canAccess(principal, record)) continue;
      if (!record && !principal.isAdmin) continue;
      const deploymentId = record?.deploymentId ?? undefined;
      const adapter = deploymentId ? this.registry.adapterByInstance(deploymentId) : request.model ? this.modelAdapter(request.model, provider) : this.registry.filesAdapter(provider);
      if (!adapter) throw errors.providerNotConfigured(provider);
      if (!adapter.batches) throw errors.unsupportedOperation(provider, 'batches');
      if (!runsEndpoint(adapter, request.endpoint)) throw errors.batchEndpointUnsupported(provider, adapter.batches.endpoints!, request.endpoint);
      // Recorded while the provider was still processing it (Azure `pending`): wait, bounded.
      if (record?.fileObject.status === 'uploaded' && adapter.files) {
        await this.readiness.rawReady({ files: adapter.files, providerFileId: id, where: provider, param: 'input_file_id' }, context);
      }
      // Nothing checked this file's lines at upload: they are read once now (batch-references.ts).
      if (this.references && !adapter.batches.convertsLines && !principal.isAdmin) {
        if (!adapter.files) throw errors.unsupportedOperation(provider, 'batches');
        const content = await adapter.files.content(id, context);
        const url = await this.references.checkPlainInput(principal, provider, content.body as AsyncIterable<Buffer> & { destroy(): void });
        if (url !== undefined) assertLinesCallEndpoint(url, request.endpoint, provider, id);
      }
      return {
        instance: adapter.instance,
        provider,
        adapter: adapter as BatchInput['adapter'],
        inputReference: id,
        managed: false,
        modelName: null,
        referencedFiles: [],
        ...this.lineFiles(principal, adapter, { id: adapter.instance, modelName: null }),
      };
    }
    throw errors.fileNotFound(id, { param: 'input_file_id' });
  }

  private lineFiles(principal: Principal, adapter: ProviderAdapter, deployment: { id: string; modelName: string | null }): Pick<BatchInput, 'resolveFile'> {
    return this.references && adapter.batches?.convertsLines ? { resolveFile: this.references.resolver(principal, deployment) } : {};
  }

  private modelAdapter(model: string, provider: string): ProviderAdapter | undefined {
    const deployment = this.registry.deploymentsOf(model).find((entry) => entry.settings.provider === provider);
    return deployment ? this.registry.deployment(deployment.id)?.adapter : undefined;
  }
}

function runsEndpoint(adapter: ProviderAdapter, endpoint: string): boolean {
  const endpoints = adapter.batches?.endpoints;
  return endpoints === undefined || endpoints.includes(endpoint);
}
