/**
 * The body of `POST /v1/fine_tuning/jobs` (README "Batches"; docs/wire-formats.md §1.11), checked before anything
 * is looked up or sent: required fields, types, suffix length, metadata limits, no NUL or lone
 * surrogate anywhere (README "Endpoints" (errors)).
 */
import { errors } from '../core/errors.ts';
import { assertSafeJson } from '../core/text-safety.ts';

export interface FineTuningCreateRequest {
  /** The public model_name. */
  model: string;
  /** Unified managed id, or a raw provider id recorded as the caller's. */
  trainingFile: string;
  validationFile?: string;
  hyperparameters?: Record<string, unknown>;
  suffix?: string;
  seed?: number;
  method?: Record<string, unknown>;
  metadata?: Record<string, string>;
}

/** Gateway-only fields a client may send (LiteLLM's), never forwarded. */
const GATEWAY_FIELDS = new Set(['custom_llm_provider', 'litellm_metadata', 'target_model_names']);
const KNOWN_FIELDS = new Set(['model', 'training_file', 'validation_file', 'hyperparameters', 'suffix', 'seed', 'method', 'metadata', 'integrations']);

export function parseFineTuningCreate(raw: unknown): FineTuningCreateRequest {
  if (!isRecord(raw)) throw errors.invalidRequest('The request body must be a JSON object.');
  assertSafeJson(raw);
  for (const name of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(name) && !GATEWAY_FIELDS.has(name)) throw errors.invalidValue(name, `Unrecognized request argument supplied: ${name}`);
  }
  const text = (name: string, required: boolean): string | undefined => {
    const value = raw[name];
    if (value === undefined || value === null) {
      if (required) throw errors.missingField(name);
      return undefined;
    }
    if (typeof value !== 'string') throw errors.invalidValue(name, `'${name}' must be a string.`);
    if (value === '') {
      if (required) throw errors.missingField(name);
      throw errors.invalidValue(name, `'${name}' must not be empty.`);
    }
    return value;
  };
  const request: FineTuningCreateRequest = { model: text('model', true)!, trainingFile: text('training_file', true)! };
  const validationFile = text('validation_file', false);
  if (validationFile !== undefined) request.validationFile = validationFile;
  const suffix = text('suffix', false);
  if (suffix !== undefined) {
    if (suffix.length > 64) throw errors.invalidValue('suffix', "'suffix' must be at most 64 characters.");
    request.suffix = suffix;
  }
  for (const name of ['hyperparameters', 'method'] as const) {
    const value = raw[name];
    if (value === undefined || value === null) continue;
    if (!isRecord(value)) throw errors.invalidValue(name, `'${name}' must be an object.`);
    request[name] = value;
  }
  if (raw.seed !== undefined && raw.seed !== null) {
    if (typeof raw.seed !== 'number' || !Number.isInteger(raw.seed)) throw errors.invalidValue('seed', "'seed' must be an integer.");
    request.seed = raw.seed;
  }
  if (raw.metadata !== undefined && raw.metadata !== null) request.metadata = parseMetadata(raw.metadata);
  return request;
}

/** OpenAI metadata: at most 16 pairs, keys ≤ 64 and values ≤ 512 characters, strings only. */
function parseMetadata(value: unknown): Record<string, string> {
  if (!isRecord(value)) throw errors.invalidValue('metadata', "'metadata' must be an object of strings.");
  const entries = Object.entries(value);
  if (entries.length > 16) throw errors.invalidValue('metadata', "'metadata' may hold at most 16 pairs.");
  for (const [key, item] of entries) {
    if (typeof item !== 'string') throw errors.invalidValue('metadata', `metadata['${key.slice(0, 64)}'] must be a string.`);
    if (key.length > 64 || item.length > 512) throw errors.invalidValue('metadata', 'metadata keys are at most 64 and values at most 512 characters.');
  }
  return value as Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
