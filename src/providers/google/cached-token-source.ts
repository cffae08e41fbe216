/**
 * The caching half of every Google access-token source: tokens are kept until shortly before
 * they expire, concurrent callers share one refresh, a token the upstream refused is forgotten.
 * Subclasses only fetch (service-account JWT grant, metadata server). Tokens are never logged.
 */
import type { CallContext } from '../../core/call-context.ts';
import { transportFailure } from '../shared/upstream-failures.ts';
import type { TokenSource } from '../shared/upstream-auth.ts';

export interface FetchedToken {
  value: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface CachedTokenOptions {
  /** Adapter instance (deployment id): named in errors and log lines. */
  instance: string;
  /** Provider named in errors and logs (default vertex_ai). */
  provider?: string;
  /** Refresh this long before expiry (default 60 s) so a token never dies mid-request. */
  refreshMarginMs?: number;
  /** Clock in milliseconds; injectable so expiry can be tested without waiting. */
  now?: () => number;
}

export abstract class CachedTokenSource implements TokenSource {
  protected readonly instance: string;
  protected readonly provider: string;
  protected readonly now: () => number;
  private readonly refreshMarginMs: number;
  private cached: FetchedToken | undefined;
  private inflight: Promise<FetchedToken> | undefined;

  constructor(options: CachedTokenOptions) {
    this.instance = options.instance;
    this.provider = options.provider ?? 'vertex_ai';
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** One token call; `context` supplies the logger for its 'upstream call' line. */
  protected abstract fetchToken(context: CallContext): Promise<FetchedToken>;

  async accessToken(context: CallContext): Promise<string> {
    const cached = this.cached;
    if (cached && this.now() < cached.expiresAt - this.refreshMarginMs) return cached.value;
    // The refresh is shared, so it must not die with the first caller's signal: each caller only
    // stops waiting for it.
    this.inflight ??= this.fetchToken({ requestId: context.requestId, logger: context.logger })
      .then((token) => (this.cached = token))
      .finally(() => {
        this.inflight = undefined;
      });
    return (await this.waitFor(this.inflight, context.signal)).value;
  }

  /** Compatibility with callers that have no request context (tests, tools). */
  async getAccessToken(context: Partial<CallContext> = {}): Promise<string> {
    return this.accessToken({ requestId: context.requestId ?? 'token', logger: context.logger ?? SILENT, ...(context.signal ? { signal: context.signal } : {}) });
  }

  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private async waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return promise;
    const aborted = () => transportFailure({ provider: this.provider, instance: this.instance }, { error: signal.reason, signal, what: 'token endpoint' });
    if (signal.aborted) throw aborted();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(aborted());
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}

const SILENT = { info() {}, warn() {}, error() {} };

/** Seconds from an OAuth answer's `expires_in`, defaulting to one hour. */
export function lifetimeSeconds(value: unknown): number {
  const seconds = typeof value === 'number' ? value : Number(value ?? 3600);
  return Number.isFinite(seconds) ? seconds : 3600;
}
