/**
 * Crash safety for provider copies (README "Endpoints" (managed files)): a journal row is written before each provider
 * upload and removed once the copy is recorded in the database or taken back. If the gateway
 * dies in between (SIGKILL, power loss), the row outlives its instance's lease and the sweeper
 * of any instance reconciles it: a copy the database does not keep is deleted upstream.
 *
 * A copy whose id the provider chooses (OpenAI, Azure, Gemini) and whose answer never arrived is
 * found by listing the deployment's files: same filename, same size (when known), created since
 * the row. Ids the database or another journal row holds are never touched. Until such a copy
 * shows up (the provider may still be processing the dead instance's request) the row waits —
 * for twice the deployment's upstream timeout (config `timeout`, default 300 s), at least 10 s:
 * by then the provider has answered the request or the gateway would have given up on it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { errors, GatewayError, UpstreamError } from '../core/errors.ts';
import type { FileObject } from '../core/openai-types.ts';
import type { CopyJournalRepository, JournalEntry, JournalRow } from '../persistence/copy-journal-repository.ts';
import type { CallContext, ProviderAdapter, ProviderKind } from '../providers/provider-adapter.ts';
import type { ProviderRegistry } from '../providers/registry.ts';

const DEFAULT_UPSTREAM_TIMEOUT_MS = 300_000;
const MIN_GRACE_MS = 10_000;
/** Copies created up to this long before their journal row still match it (provider clocks drift). */
const CLOCK_SKEW_SECONDS = 60;

export interface JournaledUpload {
  file: FileObject;
  /** The journal row to remove once the copy is recorded or taken back. */
  journalId: string;
}

export class CopyJournal {
  /** This process: owner of the rows it writes while it runs. */
  readonly instanceId = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly repository: CopyJournalRepository,
    private readonly registry: ProviderRegistry,
    private readonly leaseSeconds: number,
    /** Per deployment / files_settings instance: its upstream `timeout`, milliseconds. */
    private readonly upstreamTimeoutMs: (deploymentId: string) => number | undefined = () => undefined,
  ) {}

  /**
   * Runs one provider upload under a journal row. `run` receives `reserveId` for adapters that
   * choose the id before sending (Vertex's gs:// URI). A failure the provider answered (or one the
   * client caused before the body was complete) made nothing, so its row goes; after a network
   * failure or timeout the copy may exist, so the row stays for the sweeper.
   */
  async track(entry: JournalEntry, run: (reserveId: (providerFileId: string) => Promise<void>) => Promise<FileObject>): Promise<JournaledUpload> {
    let journalId: string;
    try {
      journalId = await this.repository.begin(entry, this.instanceId, this.leaseSeconds);
    } catch (error) {
      throw errors.databaseUnavailable(error); // nothing was sent: no intent, no upload
    }
    let file: FileObject;
    try {
      file = await run((providerFileId) => this.repository.setProviderFileId(journalId, providerFileId));
    } catch (error) {
      const answered = error instanceof UpstreamError && (error.failure.kind ?? (error.failure.upstreamStatus === undefined ? 'connect' : 'http')) === 'http';
      const cutByClient = error instanceof GatewayError && !(error instanceof UpstreamError);
      if (!answered && !cutByClient) await this.repository.release(journalId, 0).catch(() => undefined);
      else await this.repository.remove([journalId]).catch(() => undefined);
      throw error;
    }
    await this.repository.setProviderFileId(journalId, file.id);
    return { file, journalId };
  }

  /** The copies are recorded (or taken back): their rows go. A failure here is left to the sweeper. */
  async finish(journalIds: readonly string[], context: CallContext): Promise<void> {
    await this.repository.remove(journalIds).catch((error: unknown) =>
      context.logger.warn({ error: (error as Error).message }, 'journal rows not removed; the sweeper will reconcile them'),
    );
  }

  /** The copy's fate is unknown or its take-back failed: the sweeper reconciles the row now. */
  async abandon(journalId: string): Promise<void> {
    await this.repository.release(journalId, 0).catch(() => undefined);
  }

  /** Renews this instance's leases every third of the lease; returns a stop function. */
  startHeartbeat(context: CallContext): () => void {
    const timer = setInterval(() => {
      this.repository.renew(this.instanceId, this.leaseSeconds).catch((error: unknown) =>
        context.logger.warn({ error: (error as Error).message }, 'journal heartbeat failed'),
      );
    }, (this.leaseSeconds * 1000) / 3);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** One reconciliation pass over rows of dead instances; safe on several instances at once. */
  async reconcileOnce(context: CallContext, limit = 20): Promise<{ copiesRemoved: number; rowsResolved: number; rowsWaiting: number }> {
    const result = { copiesRemoved: 0, rowsResolved: 0, rowsWaiting: 0 };
    for (const row of await this.repository.claimExpired(this.instanceId, this.leaseSeconds, limit)) {
      let resolved = false;
      try {
        const outcome = await this.reconcile(row, context);
        result.copiesRemoved += outcome.removed;
        resolved = outcome.resolved;
      } catch (error) {
        context.logger.warn({ deployment: row.deploymentId, error: (error as Error).message }, 'journal reconciliation failed; retried later');
      }
      const graceMs = Math.max(MIN_GRACE_MS, 2 * (this.upstreamTimeoutMs(row.deploymentId) ?? DEFAULT_UPSTREAM_TIMEOUT_MS));
      const expired = Date.now() - row.createdAt.getTime() > graceMs;
      if (resolved || expired) {
        await this.repository.remove([row.id]);
        result.rowsResolved += 1;
      } else {
        await this.repository.release(row.id, this.leaseSeconds);
        result.rowsWaiting += 1;
      }
    }
    return result;
  }

  private async reconcile(row: JournalRow, context: CallContext): Promise<{ removed: number; resolved: boolean }> {
    const files = this.adapterFor(row)?.files;
    if (!files) return { removed: 0, resolved: false }; // deployment not configured here: another instance may have it
    const gone = async (providerFileId: string): Promise<boolean> => {
      try {
        await files.delete(providerFileId, context);
        return true;
      } catch (error) {
        if (error instanceof GatewayError && error.status === 404) return false;
        throw error;
      }
    };
    if (row.providerFileId) {
      const kept = await this.repository.referencedIds(row.deploymentId, row.provider, [row.providerFileId], row.id);
      if (kept.has(row.providerFileId)) return { removed: 0, resolved: true }; // committed before the crash
      // Deleted now → resolved; not there (yet) → the dead instance's request may still land: wait.
      return (await gone(row.providerFileId)) ? { removed: 1, resolved: true } : { removed: 0, resolved: false };
    }
    const since = row.createdAt.getTime() / 1000 - CLOCK_SKEW_SECONDS;
    const page = await files.list({ limit: 1000, order: 'desc' }, context);
    const candidates = page.data.filter(
      (file) => file.filename === row.filename && (row.bytes === undefined || file.bytes === row.bytes) && file.created_at >= since,
    );
    const kept = await this.repository.referencedIds(row.deploymentId, row.provider, candidates.map((file) => file.id), row.id);
    let removed = 0;
    for (const file of candidates) if (!kept.has(file.id) && (await gone(file.id))) removed += 1;
    return { removed, resolved: removed > 0 };
  }

  private adapterFor(row: JournalRow): ProviderAdapter | undefined {
    const deployment = this.registry.deployment(row.deploymentId)?.adapter;
    if (deployment) return deployment;
    const plain = this.registry.filesAdapter(row.provider as ProviderKind);
    return plain?.instance === row.deploymentId ? plain : undefined;
  }
}
