/**
 * Virtual keys and users (README "Security"): minting, hashing, authentication and the admin routes'
 * logic. Keys are shown once and stored as sha256 hashes.
 */
import { createHash, hash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors } from '../core/errors.ts';
import { ADMIN_OWNER_ID, adminPrincipal, isReservedOwnerId, KEY_OWNER_PREFIX, type Principal } from '../core/access-policy.ts';
import type { InvalidationBus } from '../persistence/invalidation-bus.ts';
import type { KeyRepository, KeyRow, UserRow } from '../persistence/key-repository.ts';

export const USER_ROLES = ['proxy_admin', 'internal_user'] as const;

export interface GenerateKeyRequest {
  models?: string[];
  user_id?: string;
  team_id?: string;
  key_alias?: string;
  duration?: string | null;
  metadata?: Record<string, unknown>;
}

export interface NewUserRequest {
  user_id?: string;
  models?: string[];
  user_role?: string;
  team_id?: string;
  key_alias?: string;
  duration?: string | null;
}

// Authentication results are cached briefly so hot paths do not hit the database per request,
// never past the key's expiry. A deleted key is dropped from every instance's cache through the
// invalidation bus (LISTEN/NOTIFY); this lifetime only bounds a missed notification.
const AUTH_CACHE_MS = 5_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The longest key lifetime accepted: 100 years (a Date must stay representable). */
const MAX_DURATION_MS = 36_500 * 86_400_000;

/** "30s", "15m", "12h", "30d" → milliseconds, at least 1 s and at most 100 years. */
export function parseDuration(duration: string): number {
  const match = /^(\d{1,15})\s*([smhd])$/.exec(duration.trim());
  if (!match) throw errors.invalidValue('duration', `Invalid duration '${duration.slice(0, 64)}': use a number followed by s, m, h or d (e.g. 30d).`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  const milliseconds = Number(match[1]) * unit;
  if (milliseconds < 1_000 || milliseconds > MAX_DURATION_MS) {
    throw errors.invalidValue('duration', `Invalid duration '${duration}': must be between 1s and 36500d (100 years).`);
  }
  return milliseconds;
}

export class KeyService {
  private readonly masterKeyHash: Buffer | null;
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  /** Lookups under way, by key hash: concurrent requests with one uncached key share one query. */
  private readonly pending = new Map<string, Promise<Principal>>();
  /** Bumped on every invalidation: a lookup that raced with one is not cached. */
  private epoch = 0;

  constructor(
    private readonly keys: KeyRepository,
    masterKey: string | undefined,
    private readonly bus?: InvalidationBus,
  ) {
    this.masterKeyHash = masterKey ? createHash('sha256').update(masterKey).digest() : null;
    bus?.subscribe((event) => {
      if (event.kind === 'file') return;
      this.epoch += 1;
      if (event.kind === 'key') {
        this.cache.delete(event.id);
        this.pending.delete(event.id);
      } else {
        this.cache.clear();
        this.pending.clear();
      }
    });
  }

  get open(): boolean {
    return this.masterKeyHash === null;
  }

  /** Resolves a presented key to a principal, or throws 401. */
  async authenticate(presented: string | undefined): Promise<Principal> {
    return this.authenticateNow(presented);
  }

  /**
   * authenticate(), answered without a promise when no database lookup is needed (no master key,
   * the master key, a cached key): the request hook then goes on synchronously. Throws the same
   * errors synchronously.
   */
  authenticateNow(presented: string | undefined): Principal | Promise<Principal> {
    if (this.masterKeyHash === null) return adminPrincipal();
    if (!presented) throw errors.missingKey();
    // One-shot digest (https://nodejs.org/api/crypto.html#cryptohashalgorithm-data-options).
    const digest = hash('sha256', presented, 'buffer');
    // Constant-time comparison of equal-length digests.
    if (timingSafeEqual(digest, this.masterKeyHash)) return adminPrincipal();
    const tokenHash = digest.toString('hex');
    const cached = this.cache.get(tokenHash);
    if (cached && cached.until > Date.now()) return cached.principal;
    const pending = this.pending.get(tokenHash);
    if (pending) return pending;
    const lookup = this.lookUp(tokenHash).finally(() => {
      if (this.pending.get(tokenHash) === lookup) this.pending.delete(tokenHash);
    });
    this.pending.set(tokenHash, lookup);
    return lookup;
  }

  private async lookUp(tokenHash: string): Promise<Principal> {
    const epoch = this.epoch;
    const found = await this.keys.findKey(tokenHash);
    if (!found || (found.key.expiresAt && found.key.expiresAt.getTime() <= Date.now())) throw errors.invalidKey();
    const principal = principalFor(found.key, found.user);
    if (this.cache.size > 10_000) this.cache.clear();
    const expires = found.key.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    if (epoch === this.epoch) this.cache.set(tokenHash, { principal, until: Math.min(Date.now() + AUTH_CACHE_MS, expires) });
    return principal;
  }

  async generateKey(request: GenerateKeyRequest) {
    // Everything that can refuse the request is checked before any row is written (no half rows).
    const expiresAt = request.duration ? new Date(Date.now() + parseDuration(request.duration)) : null;
    if (request.user_id) checkUserId(request.user_id);
    if (request.user_id) await this.keys.ensureUser({ userId: request.user_id, userRole: 'internal_user', models: [], teamId: request.team_id ?? null });
    const key = `sk-${randomBytes(24).toString('base64url')}`;
    const row = await this.keys.insertKey({
      tokenHash: hashKey(key),
      keyName: `sk-...${key.slice(-4)}`,
      keyAlias: request.key_alias ?? null,
      userId: request.user_id ?? null,
      teamId: request.team_id ?? null,
      models: request.models ?? [],
      metadata: request.metadata ?? {},
      expiresAt,
    });
    return { key, ...describeKey(row) };
  }

  async newUser(request: NewUserRequest) {
    const role = request.user_role ?? 'internal_user';
    if (!(USER_ROLES as readonly string[]).includes(role)) {
      throw errors.invalidValue('user_role', `Invalid user_role '${role}'. Allowed: ${USER_ROLES.join(', ')}.`);
    }
    if (request.duration) parseDuration(request.duration);
    if (request.user_id) checkUserId(request.user_id);
    const userId = request.user_id ?? randomUUID();
    const created = await this.keys.ensureUser({ userId, userRole: role, models: request.models ?? [], teamId: request.team_id ?? null });
    if (!created) throw errors.invalidValue('user_id', `User '${userId}' already exists.`);
    const key = await this.generateKey({ user_id: userId, team_id: request.team_id, models: request.models, key_alias: request.key_alias, duration: request.duration });
    return { user_id: userId, user_role: role, team_id: request.team_id ?? null, models: request.models ?? [], key: key.key, key_name: key.key_name, expires: key.expires };
  }

  /** Info on a key; non-admins may only ask about their own key. */
  async keyInfo(caller: Principal, key: string | undefined, callerKey: string | undefined) {
    const asked = key ?? callerKey;
    if (!asked) throw errors.missingField('key');
    const found = await this.keys.findKey(hashKey(asked));
    if (!found || (!caller.isAdmin && found.key.tokenHash !== caller.keyHash)) throw errors.notFound('key', `sk-...${asked.slice(-4)}`, 'key');
    return { key: found.key.keyName, info: describeKey(found.key) };
  }

  async deleteKeys(caller: Principal, keys: string[]) {
    const hashes = keys.map(hashKey);
    if (!caller.isAdmin && hashes.some((hash) => hash !== caller.keyHash)) throw errors.adminOnly();
    const deleted = await this.keys.deleteKeys(hashes);
    // A lookup under way may have read the key before it was deleted: not cached (epoch).
    if (deleted.length > 0) this.epoch += 1;
    for (const hash of deleted) {
      this.cache.delete(hash);
      this.pending.delete(hash);
      await this.bus?.publish('key', hash);
    }
    return { deleted_keys: keys.filter((_, index) => deleted.includes(hashes[index]!)) };
  }

  async userInfo(caller: Principal, userId: string | undefined) {
    const wanted = userId ?? caller.userId;
    if (!wanted) throw errors.missingField('user_id');
    if (!caller.isAdmin && wanted !== caller.userId) throw errors.notFound('user', wanted, 'user_id');
    const user = await this.keys.findUser(wanted);
    if (!user) throw errors.notFound('user', wanted, 'user_id');
    const keys = await this.keys.keysOfUser(wanted);
    return { user_id: user.userId, user_info: describeUser(user), keys: keys.map(describeKey) };
  }
}

/** A user may not take an owner id the gateway mints itself (it would own those resources). */
function checkUserId(userId: string): void {
  if (isReservedOwnerId(userId)) {
    throw errors.invalidValue('user_id', `Invalid user_id '${userId}': '${ADMIN_OWNER_ID}' and ids starting with '${KEY_OWNER_PREFIX}' are reserved.`);
  }
}

function principalFor(key: KeyRow, user: UserRow | null): Principal {
  return {
    isAdmin: user?.userRole === 'proxy_admin',
    ownerId: key.userId ?? `${KEY_OWNER_PREFIX}${key.tokenHash.slice(0, 32)}`,
    userId: key.userId,
    teamId: key.teamId ?? user?.teamId ?? null,
    allowedModels: key.models.length > 0 ? key.models : (user?.models ?? []),
    keyHash: key.tokenHash,
  };
}

function describeKey(row: KeyRow) {
  return {
    key_name: row.keyName,
    key_alias: row.keyAlias,
    token: row.tokenHash,
    user_id: row.userId,
    team_id: row.teamId,
    models: row.models,
    metadata: row.metadata,
    expires: row.expiresAt ? row.expiresAt.toISOString() : null,
    created_at: row.createdAt.toISOString(),
  };
}

function describeUser(row: UserRow) {
  return { user_id: row.userId, user_role: row.userRole, team_id: row.teamId, models: row.models, created_at: row.createdAt.toISOString() };
}
