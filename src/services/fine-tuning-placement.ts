/**
 * Where a new fine-tuning job runs (README "Batches"): the public model name → its deployments; a managed
 * training/validation file (unified id, purpose fine-tune, the caller's) → a deployment holding
 * copies of both, with that deployment's own file ids; a raw provider file id recorded as the
 * caller's → a plain job on that provider's files account. Everything is checked before any
 * provider is called.
 */
import { canAccess, canReach, isModelAllowed, type Principal } from '../core/access-policy.ts';
import { errors, GatewayError } from '../core/errors.ts';
import { isUnifiedId } from '../core/ids.ts';
import type { ManagedFileRepository } from '../persistence/managed-file-repository.ts';
import type { ProviderFileRepository } from '../persistence/provider-file-repository.ts';
import type { CallContext, FineTuningCapability } from '../providers/provider-adapter.ts';
import type { Deployment, ProviderRegistry } from '../providers/registry.ts';
import type { CopyReadiness } from './copy-readiness.ts';
import type { FoundFile } from './copy-remake.ts';

export interface Placement {
  /** The deployment whose model is tuned (and where chat later sends the tuned model). */
  deployment: Deployment;
  fineTuning: FineTuningCapability;
  /** The `model` sent upstream: the deployment's model, or what its provider tunes (Azure: the base model). */
  model: string;
  /** True when the files are raw provider ids (a plain job). */
  plain: boolean;
  /** Plain jobs: the deployment whose account holds the files (a model-routed upload); else the files account. */
  runsOn?: string;
  /** Provider file ids to send. */
  trainingFile: string;
  validationFile?: string;
}

type FileParam = 'training_file' | 'validation_file';

export class FineTuningPlacement {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly managed: ManagedFileRepository,
    private readonly providerFiles: ProviderFileRepository,
    private readonly readiness: CopyReadiness,
  ) {}

  /** The model's deployments (optionally on one provider), after the key's model check. */
  deploymentsFor(principal: Principal, model: string, provider: string | undefined): readonly Deployment[] {
    const all = this.registry.deploymentsOf(model);
    if (all.length === 0) {
      const reason = this.registry.unsupportedReason(model);
      if (reason) throw errors.modelNotSupported(model, reason, 'model');
      throw new GatewayError({ status: 400, type: 'invalid_request_error', code: 'model_not_found', param: 'model', message: `Unknown model '${model}'. Check model_list in the config.` });
    }
    if (!isModelAllowed(principal, model)) throw errors.modelsNotAllowed([model]);
    const deployments = provider ? all.filter((deployment) => deployment.settings.provider === provider) : all;
    if (deployments.length === 0) throw errors.invalidValue('model', `Model '${model}' has no deployment on provider '${provider}'.`);
    return deployments;
  }

  async place(
    principal: Principal,
    input: { model: string; trainingFile: string; validationFile?: string; provider?: string },
    context: CallContext,
  ): Promise<Placement> {
    const deployments = this.deploymentsFor(principal, input.model, input.provider);
    const named: Array<[FileParam, string]> = [['training_file', input.trainingFile]];
    if (input.validationFile !== undefined) named.push(['validation_file', input.validationFile]);
    if (isUnifiedId('file', input.trainingFile)) return this.placeManaged(principal, input.model, deployments, named, context);
    return this.placePlain(principal, deployments, named, context);
  }

  private async placeManaged(principal: Principal, model: string, deployments: readonly Deployment[], named: Array<[FileParam, string]>, context: CallContext): Promise<Placement> {
    const found = new Map<string, FoundFile>();
    for (const [param, id] of named) {
      if (!isUnifiedId('file', id)) throw errors.invalidValue(param, `'${param}' must be a managed file id like training_file (file-uf_…).`);
      const file = await this.managed.findVisible(id);
      if (!file || !canReach(principal, file.file)) throw errors.fileNotFound(id, { param });
      checkPurpose(param, id, file.file.purpose);
      if (!file.file.targetModelNames.includes(model)) {
        throw errors.invalidValue(param, `File ${id} is not available for model '${model}'. It was uploaded for: ${file.file.targetModelNames.join(', ')}.`);
      }
      found.set(id, file);
    }
    const holdsAll = (deployment: Deployment) => [...found.values()].every((file) => file.copies.some((copy) => copy.deploymentId === deployment.id));
    const candidates = deployments.filter(holdsAll);
    const deployment = candidates.find((candidate) => this.registry.deployment(candidate.id)?.adapter.fineTuning);
    if (!deployment) {
      if (candidates.length === 0) throw errors.invalidRequest(`No deployment of '${model}' holds every file of this job.`, 'training_file');
      throw errors.unsupportedOperation(candidates[0]!.settings.provider, 'fine-tuning');
    }
    const upstreamModel = this.upstreamModel(deployment, model);
    // A copy the provider is still processing (Azure `pending`) is waited for, bounded (README "Endpoints" (managed files)).
    const references = await this.readiness.prepare(
      {
        managed: found,
        deploymentId: deployment.id,
        fileReferences: Object.fromEntries(
          [...found].map(([id, file]) => [id, Object.fromEntries(file.copies.map((copy) => [copy.deploymentId, { providerFileId: copy.providerFileId, mimeType: file.file.mimeType }]))]),
        ),
      },
      context,
    );
    const providerId = (id: string) => references[id]![deployment.id]!.providerFileId;
    const placement: Placement = { deployment, fineTuning: this.registry.deployment(deployment.id)!.adapter.fineTuning!, model: upstreamModel, plain: false, trainingFile: providerId(named[0]![1]) };
    if (named[1]) placement.validationFile = providerId(named[1][1]);
    return placement;
  }

  /** Raw ids: a provider of the model on which every file is recorded as the caller's (admins: any). */
  private async placePlain(principal: Principal, deployments: readonly Deployment[], named: Array<[FileParam, string]>, context: CallContext): Promise<Placement> {
    const providers = [...new Set(deployments.map((deployment) => deployment.settings.provider))];
    for (const provider of providers) {
      const recorded = await this.allRecorded(principal, provider, named);
      if (!recorded) continue;
      // A file uploaded to one deployment's account (model-based routing) is only there.
      const routed = recorded.deploymentId ? deployments.find((candidate) => candidate.id === recorded.deploymentId) : undefined;
      if (recorded.deploymentId && !routed) throw errors.invalidValue('training_file', `File ${named[0]![1]} was uploaded for another model.`);
      const adapter = routed ? this.registry.deployment(routed.id)?.adapter : this.registry.filesAdapter(provider);
      const fineTuning = adapter?.fineTuning;
      if (!fineTuning) throw errors.unsupportedOperation(provider, 'fine-tuning');
      // Files recorded while the provider was still processing them (Azure `pending`): wait, bounded.
      for (const [param, id] of recorded.pending) {
        if (adapter.files) await this.readiness.rawReady({ files: adapter.files, providerFileId: id, where: provider, param }, context);
      }
      const deployment = routed ?? deployments.find((candidate) => candidate.settings.provider === provider)!;
      const placement: Placement = { deployment, fineTuning, model: this.upstreamModel(deployment, deployment.modelName), plain: true, trainingFile: named[0]![1] };
      if (routed) placement.runsOn = routed.id;
      if (named[1]) placement.validationFile = named[1][1];
      return placement;
    }
    const [param, id] = named[0]!;
    throw errors.fileNotFound(id, { param });
  }

  /** What a job on `deployment` names as its model upstream (ProviderDefinition.fineTuningModel). */
  private upstreamModel(deployment: Deployment, model: string): string {
    const definition = this.registry.providers.get(deployment.settings.provider);
    if (!definition?.fineTuningModel) return deployment.settings.model;
    const upstream = definition.fineTuningModel(deployment.settings);
    if (upstream) return upstream;
    throw errors.invalidValue(
      'model',
      `Model '${model}' cannot be fine-tuned: ${deployment.settings.provider} fine-tunes a base model, and the config does not say which one this deployment serves. Set model_info.base_model (e.g. gpt-4o-mini-2024-07-18).`,
    );
  }

  /**
   * The training file's record when every file is the caller's on `provider`, else undefined; with
   * the files whose record says the provider was still processing them.
   */
  private async allRecorded(
    principal: Principal,
    provider: string,
    named: Array<[FileParam, string]>,
  ): Promise<{ deploymentId: string | null; pending: Array<[FileParam, string]> } | undefined> {
    const definition = this.registry.providers.get(provider);
    let training: { deploymentId: string | null; pending: Array<[FileParam, string]> } | undefined;
    const pending: Array<[FileParam, string]> = [];
    for (const [param, id] of named) {
      if (!(definition?.recordedIdsOf?.(id) ?? []).includes(id)) return undefined;
      const record = await this.providerFiles.find(provider, id);
      if (principal.isAdmin && !record) {
        training ??= { deploymentId: null, pending }; // an admin may name any id of the provider
        continue;
      }
      if (!record || !canAccess(principal, record)) {
        if (param === 'training_file') return undefined;
        throw errors.fileNotFound(id, { param });
      }
      checkPurpose(param, id, record.purpose);
      if (record.fileObject.status === 'uploaded') pending.push([param, id]);
      // The row carries provider_files.deployment_id (migrations/0004_batches.sql) when the upload was model-routed.
      training ??= { deploymentId: (record as { deploymentId?: string | null }).deploymentId ?? null, pending };
    }
    return training;
  }
}

function checkPurpose(param: FileParam, id: string, purpose: string): void {
  if (purpose !== 'fine-tune') {
    throw errors.invalidValue(param, `File ${id} has purpose '${purpose}'; fine-tuning needs a file uploaded with purpose 'fine-tune'.`);
  }
}
