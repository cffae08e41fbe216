/** Who may see what (README "Security"). Pure functions over the caller and a resource's owner. */

/** The authenticated caller, resolved from a key. */
export interface Principal {
  /** Master key, open mode, or a user with role proxy_admin. */
  isAdmin: boolean;
  /** Owner stamped on what this caller creates: the key's user_id, else `key:<hash prefix>`. */
  ownerId: string;
  userId: string | null;
  teamId: string | null;
  /** model_names this key may use; empty means all. */
  allowedModels: readonly string[];
  /** sha256 of the key, null for the master key and open mode. */
  keyHash: string | null;
}

export interface OwnedResource {
  ownerId: string;
  teamId: string | null;
}

export function canAccess(principal: Principal, resource: OwnedResource): boolean {
  if (principal.isAdmin) return true;
  if (resource.ownerId === principal.ownerId) return true;
  return principal.teamId !== null && resource.teamId === principal.teamId;
}

/**
 * A managed file (or anything with target models) is reachable when the caller may access it and,
 * for a key limited to some models, through at least one of them (README "Security": a key reaches a
 * file only through models it may use). Otherwise it answers like an unknown id.
 *
 * A resource with no target models is tied to no model: the output and error files of a plain
 * batch (a raw provider input, README "Batches" "the same ownership rules"). The model limit has nothing
 * to act on, so such a file is reached exactly as its batch is — by ownership alone.
 */
export function canReach(principal: Principal, resource: OwnedResource & { targetModelNames: readonly string[] }): boolean {
  if (!canAccess(principal, resource)) return false;
  if (principal.isAdmin || principal.allowedModels.length === 0 || resource.targetModelNames.length === 0) return true;
  return resource.targetModelNames.some((name) => principal.allowedModels.includes(name));
}

export function isModelAllowed(principal: Principal, modelName: string): boolean {
  return principal.allowedModels.length === 0 || principal.allowedModels.includes(modelName);
}

export function disallowedModels(principal: Principal, modelNames: readonly string[]): string[] {
  return modelNames.filter((name) => !isModelAllowed(principal, name));
}

export const ADMIN_OWNER_ID = 'default_user_id';
/** Prefix of the owner id of resources created by a key without a user_id. */
export const KEY_OWNER_PREFIX = 'key:';

/** Owner ids the gateway mints itself: a user created under one would inherit those resources. */
export function isReservedOwnerId(userId: string): boolean {
  return userId === ADMIN_OWNER_ID || userId.toLowerCase().startsWith(KEY_OWNER_PREFIX);
}

export function adminPrincipal(): Principal {
  return { isAdmin: true, ownerId: ADMIN_OWNER_ID, userId: ADMIN_OWNER_ID, teamId: null, allowedModels: [], keyHash: null };
}
