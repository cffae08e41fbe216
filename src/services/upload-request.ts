/**
 * Validates the form fields of POST /files as OpenAI does (docs/wire-formats.md §1.4) and separates the
 * gateway's own fields, which are never forwarded upstream.
 */
import { errors } from '../core/errors.ts';
import { unsafeTextReason } from '../core/text-safety.ts';
import { UPLOAD_PURPOSES, type ExpiresAfter } from '../core/openai-types.ts';

export interface UploadRequest {
  purpose: string;
  expiresAfter: ExpiresAfter | undefined;
  /** Present (non-empty) → managed file. */
  targetModelNames: string[];
  customLlmProvider: string | undefined;
  /** LiteLLM model-based routing: the form field `model` picks that model's deployment. */
  model: string | undefined;
}

const MIN_EXPIRY = 3600;
const MAX_EXPIRY = 2_592_000;

/** `a, b` or repeated `target_model_names[]` fields → de-duplicated names in order. */
export function parseModelNames(values: readonly string[]): string[] {
  const names = values.flatMap((value) => value.split(',')).map((name) => name.trim()).filter(Boolean);
  return [...new Set(names)];
}

/**
 * Form text (field names, values, filenames) goes through the same check as every other input
 * (core/text-safety.ts: no NUL, no lone surrogate); in a multipart form U+FFFD also means the
 * client's bytes were not valid UTF-8 (busboy decodes with replacement), so it is refused too
 * (README "Endpoints" (errors): 400, never a 5xx).
 */
export function checkFormText(value: string, param: string): void {
  const reason = unsafeTextReason(value) ?? (value.includes('\ufffd') ? 'is not valid UTF-8' : undefined);
  if (reason) throw errors.invalidValue(param, `Invalid ${param === 'filename' || param === 'field name' ? param : `form field '${param}'`}: it ${reason}.`);
}

/**
 * The file part's own Content-Type travels upstream as a header and into the database: control
 * characters (NUL included) or characters outside Latin-1 cannot be either (RFC 9110 §5.5 field
 * values), so they are refused here rather than failing later as a 502 or a 503.
 */
export function checkPartType(value: string): void {
  if (/[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/.test(value)) {
    throw errors.invalidValue('file', "The file part's Content-Type contains control characters or characters outside Latin-1.");
  }
}

export function parseUploadRequest(fields: ReadonlyMap<string, readonly string[]>): UploadRequest {
  const first = (name: string) => fields.get(name)?.[0];
  const purpose = first('purpose');
  if (purpose === undefined || purpose === '') throw errors.missingField('purpose');
  if (!(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
    throw errors.invalidValue('purpose', `Invalid purpose '${purpose}'. Must be one of: ${UPLOAD_PURPOSES.join(', ')}.`);
  }
  // openai-node sends expires_after[anchor]; Azure's docs send expires_after.anchor (docs/wire-formats.md §2.3).
  const anchor = first('expires_after[anchor]') ?? first('expires_after.anchor');
  const seconds = first('expires_after[seconds]') ?? first('expires_after.seconds');
  let expiresAfter: ExpiresAfter | undefined;
  if (anchor !== undefined || seconds !== undefined) {
    if (anchor === undefined) throw errors.missingField('expires_after[anchor]');
    if (seconds === undefined) throw errors.missingField('expires_after[seconds]');
    if (anchor !== 'created_at') {
      throw errors.invalidValue('expires_after[anchor]', `Invalid expires_after[anchor] '${anchor}': the only supported anchor is 'created_at'.`);
    }
    const value = Number(seconds);
    if (!/^\d+$/.test(seconds.trim()) || value < MIN_EXPIRY || value > MAX_EXPIRY) {
      throw errors.invalidValue(
        'expires_after[seconds]',
        `Invalid expires_after[seconds] '${seconds}': must be an integer between ${MIN_EXPIRY} (1 hour) and ${MAX_EXPIRY} (30 days).`,
      );
    }
    expiresAfter = { anchor: 'created_at', seconds: value };
  }
  return {
    purpose,
    expiresAfter,
    targetModelNames: parseModelNames([...(fields.get('target_model_names') ?? []), ...(fields.get('target_model_names[]') ?? [])]),
    customLlmProvider: first('custom_llm_provider'),
    model: first('model') || undefined,
  };
}
