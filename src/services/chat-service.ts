/**
 * Chat completions (README "Endpoints" (chat)): route a model_name to one of its deployments, restricted to the
 * deployments that hold every referenced managed file, balanced across them, failing over on
 * retryable upstream errors before anything was streamed.
 */
import { errors, GatewayError, UpstreamError, upstreamLogFields } from '../core/errors.ts';
import { canReach, isModelAllowed, type Principal } from '../core/access-policy.ts';
import type { JsonAnswer, SsePassthrough } from '../core/raw-json.ts';
import type { ProviderFileRepository } from '../persistence/provider-file-repository.ts';
import type { CallContext, ChatRequest, FileReferenceTargets, ProviderAdapter } from '../providers/provider-adapter.ts';
import type { Deployment, ProviderRegistry } from '../providers/registry.ts';
import type { CopyReadiness } from './copy-readiness.ts';
import type { FoundFile } from './copy-remake.ts';
import type { ManagedFileCache } from './managed-file-cache.ts';
import type { TunedModelLookup } from './fine-tuned-models.ts';
import { RawReferenceOwner } from './raw-reference-owner.ts';
import { storedReferences, type ReferenceScanOptions, type StoredReference } from './stored-references.ts';
import { WeightedRoundRobin } from './weighted-round-robin.ts';

/**
 * Where each copy of a managed file sits, by deployment id: built once per cached lookup (the
 * cache hands out the same object until the file or its copies change) and frozen, since every
 * chat request that names the file shares it.
 */
const targetsCache = new WeakMap<FoundFile, Readonly<FileReferenceTargets>>();

function targetsOf(found: FoundFile): Readonly<FileReferenceTargets> {
  let targets = targetsCache.get(found);
  if (!targets) {
    const built: FileReferenceTargets = {};
    for (const copy of found.copies) built[copy.deploymentId] = Object.freeze({ providerFileId: copy.providerFileId, mimeType: found.file.mimeType });
    targets = Object.freeze(built);
    targetsCache.set(found, targets);
  }
  return targets;
}

/** Fields only the gateway understands; never sent upstream. */
const GATEWAY_FIELDS = ['custom_llm_provider', 'litellm_metadata', 'target_model_names'];

export interface ParsedChatBody {
  model: string;
  stream: boolean;
  body: Record<string, unknown> & { messages: unknown[] };
}

type Candidate = { deployment: Deployment; adapter: ProviderAdapter };

interface Plan {
  candidates: Candidate[];
  fileReferences: Record<string, FileReferenceTargets>;
  /** The managed files referenced, with their copies (for CopyReadiness). */
  managed: Map<string, FoundFile>;
}

export function parseChatBody(raw: unknown): ParsedChatBody {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw errors.invalidRequest('The request body must be a JSON object.');
  const body = { ...(raw as Record<string, unknown>) };
  if (typeof body.model !== 'string' || body.model === '') throw errors.missingField('model');
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw errors.invalidValue('messages', "'messages' must be a non-empty array.");
  }
  for (const name of GATEWAY_FIELDS) delete body[name];
  return { model: body.model, stream: body.stream === true, body: body as ParsedChatBody['body'] };
}

export class ChatService {
  private readonly balancer = new WeightedRoundRobin();
  private readonly owner: RawReferenceOwner;

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly managedFiles: ManagedFileCache,
    providerFiles: ProviderFileRepository,
    private readonly readiness: CopyReadiness,
    /** Where references count as stored data (see stored-references.ts). */
    private readonly scan: ReferenceScanOptions = { providerOrigins: new Map(), storageForms: (value) => registry.storedReferenceForms(value) },
    /** Fine-tuned models, looked up when a name is not one of the config's (README "Batches"). */
    private readonly tunedModels?: TunedModelLookup,
  ) {
    this.owner = new RawReferenceOwner(registry, providerFiles);
  }

  /** Checks the model and the files, and returns the eligible deployments in balanced order. */
  async plan(principal: Principal, parsed: ParsedChatBody): Promise<Plan> {
    const { model } = parsed;
    let deployments = this.registry.deploymentsOf(model);
    let adapterOf = (deployment: Deployment) => this.registry.deployment(deployment.id)!.adapter;
    /** The model name managed files must have been uploaded for. */
    let filesModel = model;
    if (deployments.length === 0) {
      const reason = this.registry.unsupportedReason(model);
      if (reason) throw errors.modelNotSupported(model, reason, 'model');
      // Not the caller's fine-tuned model either: the same answer as any unknown name.
      const tuned = await this.tunedModels?.find(principal, model);
      if (!tuned) throw errors.notFound('model', model, 'model');
      deployments = [tuned.deployment];
      adapterOf = () => tuned.adapter;
      filesModel = tuned.baseModelName;
    } else if (!isModelAllowed(principal, model)) throw errors.modelsNotAllowed([model]);

    const fileReferences: Record<string, FileReferenceTargets> = {};
    const managed = new Map<string, FoundFile>();
    // One ownership check for every part that can point at stored data (README "Endpoints" (chat)), before any
    // provider is called: a provider reads such a reference with the gateway's credentials.
    for (const reference of storedReferences(parsed.body.messages, this.scan)) {
      if (reference.kind === 'raw') {
        await this.checkRawReference(principal, reference, deployments);
        continue;
      }
      const fileId = reference.value;
      if (Object.hasOwn(fileReferences, fileId)) continue;
      const cached = this.managedFiles.findVisible(fileId);
      const found = cached instanceof Promise ? await cached : cached;
      if (!found || !canReach(principal, found.file)) throw errors.fileNotFound(fileId);
      if (!found.file.targetModelNames.includes(filesModel)) {
        throw errors.invalidValue(
          'messages',
          `File ${fileId} is not available for model '${filesModel}'. It was uploaded for: ${found.file.targetModelNames.join(', ')}.`,
        );
      }
      managed.set(fileId, found);
      fileReferences[fileId] = targetsOf(found);
    }
    const holdsAll = (deployment: Deployment) => Object.values(fileReferences).every((targets) => deployment.id in targets);
    const candidates = deployments
      .filter(holdsAll)
      .map((deployment) => ({ deployment, adapter: adapterOf(deployment) }))
      .filter((candidate) => candidate.adapter.chat);
    if (candidates.length === 0) {
      const provider = deployments[0]!.settings.provider;
      throw Object.keys(fileReferences).length > 0
        ? errors.invalidRequest(`No deployment of '${model}' holds every referenced file.`, 'messages')
        : errors.unsupportedOperation(provider, 'chat completions');
    }
    // Weighted round-robin start, the rest as failover order.
    const start = this.balancer.pick(candidates.map((candidate) => candidate.deployment));
    return { candidates: [...candidates.slice(start), ...candidates.slice(0, start)], fileReferences, managed };
  }

  /**
   * A provider id or storage URI in a message is only allowed for a non-admin when an upload
   * through the gateway recorded it as theirs (README "Security", last rule); anything else is 404, exactly
   * like an unknown id, and no provider is called.
   */
  private async checkRawReference(principal: Principal, reference: StoredReference, deployments: readonly Deployment[]): Promise<void> {
    // Only uploads on a provider this model runs on count: an id is that provider's namespace.
    const providers = new Set<string>(deployments.map((deployment) => deployment.settings.provider));
    if (await this.owner.owns(principal, reference.lookupIds, providers)) return;
    throw errors.fileNotFound(reference.value, { param: reference.param });
  }

  /** The request for one deployment, its managed-file copies made ready first (waited for, re-made). */
  private async requestFor(candidate: Candidate, parsed: ParsedChatBody, plan: Plan, context: CallContext): Promise<ChatRequest> {
    const body = { ...parsed.body, model: candidate.deployment.settings.model };
    const input = { managed: plan.managed, deploymentId: candidate.deployment.id, fileReferences: plan.fileReferences };
    if (this.readiness.usableAsIs(input)) return { body, fileReferences: plan.fileReferences };
    return { body, fileReferences: await this.readiness.prepare(input, context) };
  }

  async complete(principal: Principal, parsed: ParsedChatBody, context: CallContext): Promise<JsonAnswer> {
    const plan = await this.plan(principal, parsed);
    return this.withFailover(plan.candidates, context, async (candidate) => candidate.adapter.chat!.complete(await this.requestFor(candidate, parsed, plan, context), context));
  }

  /**
   * Resolves once a deployment accepted the stream; failover happens only before that. Yields
   * chunks, or (a provider whose events pass on unchanged) writes them to the client itself.
   */
  async stream(principal: Principal, parsed: ParsedChatBody, context: CallContext): Promise<AsyncIterable<JsonAnswer> | SsePassthrough> {
    const plan = await this.plan(principal, parsed);
    return this.withFailover<AsyncIterable<JsonAnswer> | SsePassthrough>(plan.candidates, context, async (candidate) => {
      const chat = candidate.adapter.chat!;
      const request = await this.requestFor(candidate, parsed, plan, context);
      return chat.streamSse ? chat.streamSse(request, context) : chat.stream(request, context);
    });
  }

  private async withFailover<T>(candidates: Candidate[], context: CallContext, call: (candidate: Candidate) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        return await call(candidate);
      } catch (error) {
        lastError = error;
        const retryable = error instanceof UpstreamError && error.failure.retryable;
        if (!retryable || context.signal?.aborted) throw error;
        context.logger.warn({ deployment: candidate.deployment.id, status: (error as GatewayError).status, ...upstreamLogFields(error) }, 'deployment failed, trying the next');
      }
    }
    throw lastError;
  }
}
