/**
 * Fine-tuning jobs (README "Batches"): unified `ftjob-` ids over OpenAI and Azure jobs, owner-scoped like
 * every id (README "Security": not yours = 404, and no provider call). Retrieve refreshes from the provider
 * until the job is terminal, then serves the stored copy; a succeeded job's result files become
 * managed files of its creator (plain jobs: raw ids recorded as theirs), made once.
 */
import { canReach, type Principal } from '../core/access-policy.ts';
import { errors, GatewayError, UpstreamError } from '../core/errors.ts';
import { isTerminalFineTuningStatus, type FineTuningCheckpointPage, type FineTuningEvent, type FineTuningJob, type FineTuningPage } from '../core/fine-tuning-types.ts';
import { mintId } from '../core/ids.ts';
import type { FineTuningJobRepository, FineTuningJobRow } from '../persistence/fine-tuning-job-repository.ts';
import type { CallContext, FineTuningCapability, FineTuningPageQuery, ProviderAdapter } from '../providers/provider-adapter.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { FineTuningPlacement } from './fine-tuning-placement.ts';
import type { FineTuningCreateRequest } from './fine-tuning-request.ts';

export interface FineTuningListQuery {
  limit: number;
  after?: string;
  /** Only jobs on this provider (the `/{provider}/v1` routes). */
  provider?: string;
}

export class FineTuningService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly jobs: FineTuningJobRepository,
    private readonly placement: FineTuningPlacement,
    /** Told when a job names its fine-tuned model (chat's model cache). */
    private readonly onModel: (name: string) => void = () => undefined,
  ) {}

  async create(principal: Principal, request: FineTuningCreateRequest, provider: string | undefined, context: CallContext): Promise<FineTuningJob> {
    const placed = await this.placement.place(principal, { ...request, provider }, context);
    const { deployment } = placed;
    // Created upstream even if the client goes away meanwhile: the row below keeps it reachable.
    const upstream: CallContext = { ...context, signal: undefined };
    const job = await placed.fineTuning.create(
      {
        model: placed.model,
        trainingFile: placed.trainingFile,
        ...(placed.validationFile !== undefined ? { validationFile: placed.validationFile } : {}),
        ...(request.hyperparameters ? { hyperparameters: request.hyperparameters } : {}),
        ...(request.suffix !== undefined ? { suffix: request.suffix } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.method ? { method: request.method } : {}),
        ...(request.metadata ? { metadata: request.metadata } : {}),
      },
      upstream,
    );
    let row: FineTuningJobRow;
    try {
      row = await this.jobs.insert({
        id: mintId('fineTuningJob'),
        ownerId: principal.ownerId,
        teamId: principal.teamId,
        provider: deployment.settings.provider,
        deploymentId: deployment.id,
        plain: placed.plain,
        runsOn: placed.runsOn ?? null,
        modelName: request.model,
        providerJobId: job.id,
        trainingFile: request.trainingFile,
        validationFile: request.validationFile ?? null,
        status: job.status,
        fineTunedModel: job.fine_tuned_model,
        jobObject: job,
      });
    } catch (error) {
      // Nobody could reach a job without its row: stop it upstream.
      await placed.fineTuning.cancel(job.id, upstream).catch((cancelError: unknown) =>
        context.logger.error({ provider: deployment.settings.provider, error: String(cancelError) }, 'could not cancel an unrecorded fine-tuning job'),
      );
      throw errors.databaseUnavailable(error);
    }
    context.logger.info({ jobId: row.id, deployment: deployment.id, plain: placed.plain }, 'fine-tuning job created');
    return this.present(row, new Map());
  }

  async retrieve(principal: Principal, id: string, provider: string | undefined, context: CallContext): Promise<FineTuningJob> {
    const row = await this.refresh(await this.visible(principal, id, provider), context);
    return this.present(row, await this.resultFiles(row, context));
  }

  /**
   * Asks the provider about an unfinished job and stores the answer (a client's retrieve and the
   * background refresher, fine-tuning-refresh.ts, both come here). A job that has finished gets
   * its result files made before it is stored as finished: a job stored as finished is not looked
   * at again in the background, so a failure here leaves it unfinished, to be tried again.
   */
  async refresh(row: FineTuningJobRow, context: CallContext): Promise<FineTuningJobRow> {
    if (isTerminalFineTuningStatus(row.status)) return row;
    const fineTuning = this.fineTuningOf(row);
    if (!fineTuning) return row; // the deployment left the config: the stored copy is all there is
    const job = await notFoundAs(row.id, fineTuning.retrieve(row.providerJobId, context));
    if (isTerminalFineTuningStatus(job.status)) await this.resultFiles({ ...row, jobObject: job }, context);
    return this.store(row, job);
  }

  async cancel(principal: Principal, id: string, provider: string | undefined, context: CallContext): Promise<FineTuningJob> {
    let row = await this.visible(principal, id, provider);
    if (row.status === 'succeeded' || row.status === 'failed') throw errors.fineTuningJobFinished(id, row.status);
    if (row.status !== 'cancelled') {
      const fineTuning = this.fineTuningOf(row);
      if (!fineTuning) throw errors.unsupportedOperation(row.provider, 'fine-tuning');
      try {
        row = await this.store(row, await notFoundAs(id, fineTuning.cancel(row.providerJobId, context)));
      } catch (error) {
        // The job finished since it was stored: the provider's 400 (its message is not passed on,
        // README "Endpoints" (errors)) would not say so, so look at the job and say it.
        if (!(error instanceof GatewayError) || error.status !== 400) throw error;
        const current = await this.refresh(row, context).catch(() => row); // unknown: the provider's answer stands
        if (current.status === 'succeeded' || current.status === 'failed') throw errors.fineTuningJobFinished(id, current.status);
        throw error;
      }
    }
    return this.present(row, await this.resultFiles(row, context));
  }

  async events(principal: Principal, id: string, provider: string | undefined, query: FineTuningPageQuery, context: CallContext): Promise<FineTuningPage<FineTuningEvent>> {
    const row = await this.visible(principal, id, provider);
    const fineTuning = this.fineTuningOf(row);
    if (!fineTuning) throw errors.unsupportedOperation(row.provider, 'fine-tuning');
    return notFoundAs(id, fineTuning.events(row.providerJobId, query, context));
  }

  /** The job's checkpoints from its provider, with the gateway's job id in them. */
  async checkpoints(principal: Principal, id: string, provider: string | undefined, query: FineTuningPageQuery, context: CallContext): Promise<FineTuningCheckpointPage> {
    const row = await this.visible(principal, id, provider);
    const fineTuning = this.fineTuningOf(row);
    if (!fineTuning) throw errors.unsupportedOperation(row.provider, 'fine-tuning');
    const page = await notFoundAs(id, fineTuning.checkpoints(row.providerJobId, query, context));
    return { ...page, data: page.data.map((checkpoint) => ({ ...checkpoint, fine_tuning_job_id: row.id })) };
  }

  /** The caller's jobs as last stored, newest first (retrieve refreshes one). */
  async list(principal: Principal, query: FineTuningListQuery): Promise<FineTuningPage<FineTuningJob>> {
    if (query.after) {
      const cursor = await this.jobs.find(query.after);
      if (!cursor || !reachable(principal, cursor)) throw errors.invalidValue('after', `Invalid after '${query.after}': no such fine-tuning job.`);
    }
    const { rows, hasMore } = await this.jobs.list(principal, query);
    const data = await Promise.all(rows.map(async (row) => this.present(row, await this.jobs.resultFiles(row.id))));
    return { object: 'list', data, has_more: hasMore };
  }

  /** The fine-tuned model names the caller may use in chat (GET /v1/models). */
  modelsOf(principal: Principal): Promise<string[]> {
    return this.jobs.modelsOf(principal);
  }

  private async visible(principal: Principal, id: string, provider: string | undefined): Promise<FineTuningJobRow> {
    const row = await this.jobs.find(id);
    if (!row || !reachable(principal, row) || (provider !== undefined && row.provider !== provider)) throw errors.notFound('fine_tuning_job', id);
    return row;
  }

  private adapterOf(row: FineTuningJobRow): ProviderAdapter | undefined {
    if (row.plain && !row.runsOn) return this.registry.filesAdapter(row.provider);
    return this.registry.deployment(row.runsOn ?? row.deploymentId)?.adapter;
  }

  /** Undefined when the deployment left the config: the stored copy is all there is. */
  private fineTuningOf(row: FineTuningJobRow): FineTuningCapability | undefined {
    return this.adapterOf(row)?.fineTuning;
  }

  private async store(row: FineTuningJobRow, job: FineTuningJob): Promise<FineTuningJobRow> {
    const updated = await this.jobs.update(row.id, job);
    if (job.fine_tuned_model && job.fine_tuned_model !== row.fineTunedModel) this.onModel(job.fine_tuned_model);
    return updated;
  }

  /** provider result file id → gateway id, making the missing ones (once, see the repository). */
  private async resultFiles(row: FineTuningJobRow, context: CallContext): Promise<Map<string, string>> {
    const mapped = await this.jobs.resultFiles(row.id);
    const files = this.adapterOf(row)?.files;
    for (const [position, providerFileId] of row.jobObject.result_files.entries()) {
      if (mapped.has(providerFileId) || !files) continue;
      const file = await files.retrieve(providerFileId, context);
      const owner = { ownerId: row.ownerId, teamId: row.teamId };
      const record = row.plain
        ? { kind: 'plain' as const, file, owner, provider: row.provider, deploymentId: row.runsOn }
        : { kind: 'managed' as const, fileId: mintId('file'), file, owner, modelName: row.modelName, deploymentId: row.deploymentId, provider: row.provider };
      mapped.set(providerFileId, await this.jobs.adoptResultFile(row.id, providerFileId, position, record));
    }
    return mapped;
  }

  /** The job in gateway terms: unified ids, the public model name, the files as the caller named them. */
  private present(row: FineTuningJobRow, resultFiles: Map<string, string>): FineTuningJob {
    const job = row.jobObject;
    return {
      ...job,
      id: row.id,
      model: row.modelName,
      training_file: row.trainingFile,
      validation_file: row.validationFile,
      result_files: job.result_files.flatMap((providerFileId) => {
        const id = resultFiles.get(providerFileId);
        return id ? [id] : [];
      }),
    };
  }
}

/** Owner/team/admin, and (README "Security") a key limited to some models reaches only jobs of those models. */
function reachable(principal: Principal, row: FineTuningJobRow): boolean {
  return canReach(principal, { ...row, targetModelNames: [row.modelName] });
}

/** A provider 404 for a job we hold is reported as our own not-found, without provider text. */
async function notFoundAs<T>(id: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof UpstreamError && error.status === 404) throw errors.notFound('fine_tuning_job', id);
    if (error instanceof GatewayError) throw error;
    throw errors.internal(error);
  }
}
