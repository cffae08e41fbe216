/**
 * A per-key cap on concurrent uploads (README "Endpoints" (limits): one tenant's stalled or slow uploads must not
 * block other tenants). Counted per instance: each instance bounds what it holds open (sockets,
 * spools, upstream connections), which is what the cap protects.
 */
import { GatewayError } from '../core/errors.ts';
import type { Principal } from '../core/access-policy.ts';

export class UploadSlots {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly perKey: number) {}

  /** Takes a slot for the caller's key or throws 429; the returned function gives it back (once). */
  acquire(principal: Principal): () => void {
    const key = principal.keyHash ?? (principal.isAdmin ? 'master' : principal.ownerId);
    const used = this.inFlight.get(key) ?? 0;
    if (used >= this.perKey) {
      throw new GatewayError({
        status: 429,
        type: 'rate_limit_error',
        code: 'too_many_concurrent_uploads',
        message: `This key already has ${used} uploads in progress (general_settings.max_concurrent_uploads_per_key is ${this.perKey}). Retry when one has finished.`,
        headers: { 'retry-after': '1', connection: 'close' },
      });
    }
    this.inFlight.set(key, used + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }

  /** Uploads in progress for all keys (for tests and metrics). */
  get total(): number {
    let sum = 0;
    for (const count of this.inFlight.values()) sum += count;
    return sum;
  }
}
