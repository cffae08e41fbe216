/**
 * Default deployment ids (README "Configuration reference"): `model_info.id` when given, else a stable hash of the
 * model_name and the **non-secret** identity of the deployment. Secrets (api_key,
 * vertex_credentials, anything named *key*, *secret*, *token*, *credential*, *password*) and
 * tuning knobs (timeout, retries, rpm/tpm, weight) are left out, so rotating a key or tuning a
 * timeout keeps the id, and with it every managed copy stored under it. URL userinfo and query
 * strings are left out too (they can carry credentials).
 *
 * Versions up to 0.1.0 hashed every param after `os.environ/` resolution, secrets included:
 * `previousDeploymentIds` recomputes those ids from the same config so that startup can re-key
 * rows stored under them (persistence/deployment-rekey.ts).
 */
import { createHash } from 'node:crypto';

const SECRET_NAME = /key|secret|token|credential|password|passwd/i;
const TUNING = new Set(['timeout', 'stream_timeout', 'max_retries', 'rpm', 'tpm', 'weight']);
/** The litellm_params keys the 0.1.0 schema knew: it dropped every other key before hashing. */
const KEYS_0_1_0 = [
  'model', 'custom_llm_provider', 'api_key', 'api_base', 'api_version', 'organization', 'vertex_project', 'vertex_location',
  'vertex_credentials', 'bucket_name', 'gcs_bucket_name', 'gcs_api_base', 'rpm', 'tpm', 'timeout', 'stream_timeout', 'max_retries', 'weight',
];

export function stableHash(value: unknown): string {
  const sorted = (input: unknown): unknown =>
    Array.isArray(input)
      ? input.map(sorted)
      : input && typeof input === 'object'
        ? Object.fromEntries(Object.keys(input).sort().map((key) => [key, sorted((input as Record<string, unknown>)[key])]))
        : input;
  return createHash('sha256').update(JSON.stringify(sorted(value))).digest('hex');
}

/** The params that say which deployment this is, without secrets or tuning. */
export function identityParams(params: Record<string, unknown>): Record<string, unknown> {
  const keep = (value: unknown): unknown => {
    if (typeof value === 'string') return withoutUrlSecrets(value);
    if (Array.isArray(value)) return value.map(keep);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).filter(([key]) => !SECRET_NAME.test(key)).map(([key, item]) => [key, keep(item)]));
    }
    return value;
  };
  return Object.fromEntries(
    Object.entries(params)
      .filter(([key, value]) => value !== undefined && !SECRET_NAME.test(key) && !TUNING.has(key))
      .map(([key, value]) => [key, keep(value)]),
  );
}

function withoutUrlSecrets(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    const url = new URL(value);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return value;
  }
}

/**
 * The default id of a deployment. `occurrence` (0 for the first) tells apart deployments of one
 * model_name whose identities are equal, e.g. two accounts that differ only by api_key: their
 * ids then depend on their order in model_list, which is why the loader warns about them.
 */
export function defaultDeploymentId(input: { modelName: string; params: Record<string, unknown>; occurrence: number }): string {
  const identity = { v: 2, model_name: input.modelName, params: identityParams(input.params) };
  return stableHash(input.occurrence === 0 ? identity : { ...identity, occurrence: input.occurrence });
}

/** Ids older versions gave this deployment: every param (0.1.0's known keys, or all of them). */
export function previousDeploymentIds(modelName: string, params: Record<string, unknown>): string[] {
  const known = Object.fromEntries(Object.entries(params).filter(([key, value]) => KEYS_0_1_0.includes(key) && value !== undefined));
  const all = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
  return [...new Set([stableHash({ model_name: modelName, params: known }), stableHash({ model_name: modelName, params: all })])];
}
