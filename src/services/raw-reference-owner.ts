/**
 * Whether a provider id or storage URI (a `raw` stored reference, stored-references.ts) is the
 * caller's: only when an upload through the gateway recorded it as theirs, on one of the given
 * providers (an id is that provider's namespace). README "Security", last rule; shared by chat and batches.
 */
import { canAccess, type Principal } from '../core/access-policy.ts';
import type { ProviderFileRepository } from '../persistence/provider-file-repository.ts';
import type { ProviderRegistry } from '../providers/registry.ts';

export class RawReferenceOwner {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly providerFiles: ProviderFileRepository,
  ) {}

  /** Admins own everything; anyone else only what a recorded upload of theirs names. */
  async owns(principal: Principal, lookupIds: readonly string[], providers: ReadonlySet<string>): Promise<boolean> {
    if (principal.isAdmin) return true;
    for (const form of lookupIds) {
      for (const { provider, ids } of this.registry.recordedIdsOf(form)) {
        if (!providers.has(provider)) continue;
        for (const id of ids) {
          const record = await this.providerFiles.find(provider, id);
          if (record && canAccess(principal, record)) return true;
        }
      }
    }
    return false;
  }
}
