/**
 * `model_list` entries this gateway cannot serve (README "Configuration reference"): a provider it does not speak
 * (LiteLLM configs list anthropic, groq, bedrock, …) or wildcard routing (`*`, `openai/*`).
 * They are set aside before validation with a warning naming them, so the same config.yaml
 * starts; requests naming them get a 400 saying so instead of "unknown model".
 */

export interface UnsupportedModel {
  /** The public model_name (may itself be a wildcard pattern). */
  modelName: string;
  /** Why: `provider 'anthropic'` or `wildcard routing ('openai/*')`. */
  reason: string;
}

type Env = Record<string, string | undefined>;

function resolved(value: unknown, env: Env): unknown {
  return typeof value === 'string' && value.startsWith('os.environ/') ? env[value.slice('os.environ/'.length)] : value;
}

/**
 * Finds the unsupported entries of a raw config and returns a copy where each is replaced by a
 * minimal valid stand-in (so later error paths keep their indices), with the entries by index.
 */
export function setAsideUnsupportedModels(
  raw: unknown,
  env: Env,
  isSupportedProvider: (provider: string) => boolean,
): { raw: unknown; skipped: Map<number, UnsupportedModel>; warnings: string[] } {
  const skipped = new Map<number, UnsupportedModel>();
  const warnings: string[] = [];
  const original = (raw as { model_list?: unknown } | null)?.model_list;
  if (!Array.isArray(original)) return { raw, skipped, warnings };
  const list: unknown[] = [...original];
  list.forEach((entry: unknown, index) => {
    if (!entry || typeof entry !== 'object') return;
    const { model_name: modelName, litellm_params: litellmParams, params } = entry as Record<string, unknown>;
    const entryParams = (litellmParams ?? params) as Record<string, unknown> | undefined;
    const model = resolved(entryParams?.model, env);
    const custom = resolved(entryParams?.custom_llm_provider, env);
    if (typeof modelName !== 'string' || typeof model !== 'string' || model === '') return;
    const slash = model.indexOf('/');
    const provider = typeof custom === 'string' && custom !== '' ? custom : slash === -1 ? 'openai' : model.slice(0, slash);
    let reason: string | undefined;
    if (!isSupportedProvider(provider)) reason = `provider '${provider}'`;
    else if (modelName.includes('*') || model.includes('*')) reason = `wildcard routing ('${model}')`;
    if (!reason) return;
    skipped.set(index, { modelName, reason });
    warnings.push(`model_list[${index}] (model_name '${modelName}'): ${reason} is not supported here; entry skipped`);
    list[index] = { model_name: modelName, litellm_params: { model: 'openai/unsupported' } };
  });
  return { raw: skipped.size > 0 ? { ...(raw as object), model_list: list } : raw, skipped, warnings };
}

/** Why a requested model name cannot be served here, when it names (or matches) a skipped entry. */
export function unsupportedReason(models: readonly UnsupportedModel[], name: string): string | undefined {
  const exact = models.find((model) => model.modelName === name);
  if (exact) return exact.reason;
  const pattern = models.find((model) => {
    if (!model.modelName.includes('*')) return false;
    const source = model.modelName.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return new RegExp(`^${source}$`).test(name);
  });
  return pattern?.reason;
}
