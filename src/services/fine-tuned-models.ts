/**
 * Chat under a fine-tuned model's name (README "Batches"): on a miss of the config's model names, the
 * name is looked up among fine-tuning jobs (cached briefly, misses too), and only the job's owner
 * (their team, admins) may use it — anyone else gets the unknown-model answer. It is served by
 * the deployment that trained it, with the tuned name as the deployment's model (OpenAI: body
 * `model`; Azure classic: `/deployments/{name}`, so on Azure the tuned model must be deployed
 * under its own name).
 */
import { canAccess, isModelAllowed, type Principal } from '../core/access-policy.ts';
import type { FineTuningJobRepository, FineTuningJobRow } from '../persistence/fine-tuning-job-repository.ts';
import type { ProviderAdapter } from '../providers/provider-adapter.ts';
import { createAdapter, type Deployment, type ProviderRegistry } from '../providers/registry.ts';

export interface TunedModel {
  /** The training deployment with the tuned model as its model (same id: its file copies count). */
  deployment: Deployment;
  adapter: ProviderAdapter;
  /** The public model_name that was tuned: what managed files must target. */
  baseModelName: string;
}

/** What ChatService needs: the tuned model behind a name, when this caller may use it. */
export interface TunedModelLookup {
  find(principal: Principal, name: string): Promise<TunedModel | undefined>;
}

const DEFAULT_TTL_MS = 5_000;

export class FineTunedModels implements TunedModelLookup {
  private readonly rows = new Map<string, { row: FineTuningJobRow | undefined; until: number }>();
  private readonly adapters = new Map<string, ProviderAdapter>();

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly jobs: FineTuningJobRepository,
    private readonly ttlMs = DEFAULT_TTL_MS,
  ) {}

  async find(principal: Principal, name: string): Promise<TunedModel | undefined> {
    const row = await this.job(name);
    if (!row || !canAccess(principal, row) || !isModelAllowed(principal, row.modelName)) return undefined;
    const trained = this.registry.deployment(row.deploymentId)?.deployment;
    if (!trained) return undefined;
    const deployment: Deployment = { ...trained, settings: { ...trained.settings, model: name } };
    let adapter = this.adapters.get(name);
    if (!adapter) {
      adapter = createAdapter(deployment.settings, this.registry.providers);
      this.adapters.set(name, adapter);
    }
    return { deployment, adapter, baseModelName: row.modelName };
  }

  /** A job just named this model: drop a cached miss. */
  forget(name: string): void {
    this.rows.delete(name);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.adapters.values()].map((adapter) => adapter.close()));
    this.adapters.clear();
  }

  private async job(name: string): Promise<FineTuningJobRow | undefined> {
    const cached = this.rows.get(name);
    if (cached && cached.until > Date.now()) return cached.row;
    const row = await this.jobs.findByFineTunedModel(name);
    if (this.rows.size > 10_000) this.rows.clear(); // bounded: random names cannot grow it forever
    this.rows.set(name, { row, until: Date.now() + this.ttlMs });
    return row;
  }
}
