/**
 * Adapters built from configuration: one per deployment (keyed by deployment id) and one per
 * files_settings entry (keyed by provider), plus the model_name → deployments index.
 */
import { createAzureAdapter } from './azure/azure-adapter.ts';
import { createGeminiAdapter } from './gemini/gemini-adapter.ts';
import { createOpenAIAdapter } from './openai/openai-adapter.ts';
import type { ProviderAdapter, ProviderKind } from './provider-adapter.ts';
import type { ProviderSettings } from './provider-settings.ts';
import { createVertexAdapter } from './vertex/vertex-adapter.ts';

export interface Deployment {
  id: string;
  modelName: string;
  settings: ProviderSettings;
}

export interface RegistryInput {
  deployments: readonly Deployment[];
  filesSettings: readonly ProviderSettings[];
}

export function createAdapter(settings: ProviderSettings): ProviderAdapter {
  switch (settings.provider) {
    case 'openai':
      return createOpenAIAdapter(settings);
    case 'azure':
      return createAzureAdapter(settings);
    case 'vertex_ai':
      return createVertexAdapter(settings);
    case 'gemini':
      return createGeminiAdapter(settings);
  }
}

export class ProviderRegistry {
  private readonly byDeployment = new Map<string, { deployment: Deployment; adapter: ProviderAdapter }>();
  private readonly byModelName = new Map<string, Deployment[]>();
  private readonly filesAdapters = new Map<ProviderKind, ProviderAdapter>();

  constructor(input: RegistryInput) {
    for (const deployment of input.deployments) {
      this.byDeployment.set(deployment.id, { deployment, adapter: createAdapter(deployment.settings) });
      const group = this.byModelName.get(deployment.modelName) ?? [];
      group.push(deployment);
      this.byModelName.set(deployment.modelName, group);
    }
    for (const settings of input.filesSettings) this.filesAdapters.set(settings.provider, createAdapter(settings));
  }

  /** Public model names, in config order. */
  modelNames(): string[] {
    return [...this.byModelName.keys()];
  }

  deploymentsOf(modelName: string): readonly Deployment[] {
    return this.byModelName.get(modelName) ?? [];
  }

  deployment(id: string): { deployment: Deployment; adapter: ProviderAdapter } | undefined {
    return this.byDeployment.get(id);
  }

  /**
   * The adapter for plain /files calls on a provider: its files_settings entry, else the first
   * deployment of that provider (so a model_list-only config still serves /files).
   */
  filesAdapter(provider: ProviderKind): ProviderAdapter | undefined {
    const configured = this.filesAdapters.get(provider);
    if (configured) return configured;
    for (const { deployment, adapter } of this.byDeployment.values()) {
      if (deployment.settings.provider === provider) return adapter;
    }
    return undefined;
  }

  async close(): Promise<void> {
    const adapters = [...this.filesAdapters.values(), ...[...this.byDeployment.values()].map((entry) => entry.adapter)];
    await Promise.allSettled(adapters.map((adapter) => adapter.close()));
  }
}
