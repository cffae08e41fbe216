/**
 * Adapters built from configuration: one per deployment (keyed by deployment id) and one per
 * files_settings entry (keyed by provider), plus the model_name → deployments index.
 */
import { unsupportedReason, type UnsupportedModel } from '../config/unsupported-models.ts';
import type { ProviderAdapter, ProviderKind } from './provider-adapter.ts';
import type { ProviderCatalog } from './provider-catalog.ts';
import { defaultCatalog } from './provider-list.ts';
import type { ProviderSettings } from './provider-settings.ts';

export interface Deployment {
  id: string;
  modelName: string;
  settings: ProviderSettings;
  /** Relative share of the model's requests (config `weight`, default 1). */
  weight?: number;
}

export interface RegistryInput {
  deployments: readonly Deployment[];
  filesSettings: readonly ProviderSettings[];
  /** The providers to build adapters with (the config's catalog); default: provider-list.ts. */
  providers?: ProviderCatalog;
  /** model_list entries skipped at startup, so requests naming them get a clear 400. */
  unsupportedModels?: readonly UnsupportedModel[];
  /** This process's spool directory, handed to every adapter (ProviderSettings.spoolDirectory). */
  spoolDirectory?: string;
}

function withSpool(settings: ProviderSettings, spoolDirectory: string | undefined): ProviderSettings {
  return spoolDirectory === undefined ? settings : { ...settings, spoolDirectory };
}

/** The adapter for one deployment or files_settings entry, built by its provider's definition. */
export function createAdapter(settings: ProviderSettings, providers: ProviderCatalog = defaultCatalog): ProviderAdapter {
  const definition = providers.get(settings.provider);
  if (!definition) throw new Error(`Unknown provider '${settings.provider}'.`);
  return definition.createAdapter(settings);
}

export class ProviderRegistry {
  private readonly byDeployment = new Map<string, { deployment: Deployment; adapter: ProviderAdapter }>();
  private readonly byModelName = new Map<string, Deployment[]>();
  private readonly filesAdapters = new Map<ProviderKind, ProviderAdapter>();
  readonly providers: ProviderCatalog;

  private readonly unsupportedModels: readonly UnsupportedModel[];

  constructor(input: RegistryInput) {
    this.providers = input.providers ?? defaultCatalog;
    this.unsupportedModels = input.unsupportedModels ?? [];
    for (const deployment of input.deployments) {
      this.byDeployment.set(deployment.id, { deployment, adapter: createAdapter(withSpool(deployment.settings, input.spoolDirectory), this.providers) });
      const group = this.byModelName.get(deployment.modelName) ?? [];
      group.push(deployment);
      this.byModelName.set(deployment.modelName, group);
    }
    for (const settings of input.filesSettings) this.filesAdapters.set(settings.provider, createAdapter(withSpool(settings, input.spoolDirectory), this.providers));
  }

  /** The provider kinds this gateway speaks (for validation and documentation). */
  kinds(): string[] {
    return this.providers.kinds;
  }

  /**
   * Which providers a raw id or URI in a chat message may belong to, and under which provider
   * file ids an upload of it would have been recorded (each definition's recordedIdsOf).
   */
  recordedIdsOf(reference: string): Array<{ provider: ProviderKind; ids: string[] }> {
    return this.providers.definitions.flatMap((definition) => {
      const ids = definition.recordedIdsOf?.(reference) ?? [];
      return ids.length > 0 ? [{ provider: definition.kind, ids }] : [];
    });
  }

  /**
   * The forms of a value that names some provider's own storage (each definition's
   * storedReferenceForms, merged, the value first), or undefined when it names none.
   */
  storedReferenceForms(value: string): string[] | undefined {
    let forms: Set<string> | undefined;
    for (const definition of this.providers.definitions) {
      const own = definition.storedReferenceForms?.(value);
      if (!own) continue;
      forms ??= new Set([value]);
      for (const form of own) forms.add(form);
    }
    return forms ? [...forms] : undefined;
  }

  /** Public model names, in config order. */
  modelNames(): string[] {
    return [...this.byModelName.keys()];
  }

  /** Why a model name without deployments cannot be served here (a skipped entry), if it is one. */
  unsupportedReason(modelName: string): string | undefined {
    return unsupportedReason(this.unsupportedModels, modelName);
  }

  deploymentsOf(modelName: string): readonly Deployment[] {
    return this.byModelName.get(modelName) ?? [];
  }

  deployment(id: string): { deployment: Deployment; adapter: ProviderAdapter } | undefined {
    return this.byDeployment.get(id);
  }

  /** The adapter of a deployment id or files_settings instance (`files_settings:<provider>`). */
  adapterByInstance(instance: string): ProviderAdapter | undefined {
    const deployed = this.byDeployment.get(instance)?.adapter;
    if (deployed) return deployed;
    for (const adapter of this.filesAdapters.values()) if (adapter.instance === instance) return adapter;
    return undefined;
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
