/** The providers a gateway speaks, looked up by kind; built once from a list of definitions. */
import type { ProviderDefinition } from './provider-definition.ts';

export class ProviderCatalog {
  private readonly byKind = new Map<string, ProviderDefinition>();

  constructor(readonly definitions: readonly ProviderDefinition[]) {
    for (const definition of definitions) {
      if (this.byKind.has(definition.kind)) throw new Error(`Provider '${definition.kind}' is defined twice.`);
      this.byKind.set(definition.kind, definition);
    }
  }

  /** Every kind, in list order. */
  get kinds(): string[] {
    return [...this.byKind.keys()];
  }

  has(kind: string): boolean {
    return this.byKind.has(kind);
  }

  get(kind: string): ProviderDefinition | undefined {
    return this.byKind.get(kind);
  }
}
