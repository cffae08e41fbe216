/** Who may see what (SPEC §2). Pure functions over the caller and a resource's owner. */

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

export function isModelAllowed(principal: Principal, modelName: string): boolean {
  return principal.allowedModels.length === 0 || principal.allowedModels.includes(modelName);
}

export function disallowedModels(principal: Principal, modelNames: readonly string[]): string[] {
  return modelNames.filter((name) => !isModelAllowed(principal, name));
}

export const ADMIN_OWNER_ID = 'default_user_id';

export function adminPrincipal(): Principal {
  return { isAdmin: true, ownerId: ADMIN_OWNER_ID, userId: ADMIN_OWNER_ID, teamId: null, allowedModels: [], keyHash: null };
}
