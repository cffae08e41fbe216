/** Shared pieces of the upload cases: where an upload goes and what a well-formed form holds. */
import type { Actor } from './case-types.ts';
import { field, filePart, type FormPart } from './multipart.ts';
import type { Random } from './random.ts';

export const MODELS = ['gpt-4o-mini-openai', 'gemini-2.0-flash', 'azure-gpt', 'gemini-api-flash'] as const;

/** Where a plain or managed upload is sent: path, extra headers, extra form fields. */
export interface UploadTarget {
  /** For the summary and findings. */
  label: string;
  path: string;
  headers: Array<[string, string]>;
  fields: FormPart[];
  managed: boolean;
}

export function pickUploadActor(random: Random): Actor {
  return random.weighted<Actor>([
    [3, 'alice'],
    [3, 'bob'],
    [2, 'carol'],
    [2, 'admin'],
    [0.4, 'revoked'],
    [0.4, 'garbage'],
    [0.4, 'none'],
  ]);
}

export function allowedModels(actor: Actor): readonly string[] {
  return actor === 'carol' ? ['gpt-4o-mini-openai'] : MODELS;
}

export function pickTarget(random: Random, actor: Actor): UploadTarget {
  const kind = random.weighted<'openai' | 'azure' | 'vertex' | 'gemini' | 'managed'>([
    [3, 'openai'],
    [2, 'azure'],
    [2, 'vertex'],
    [1.5, 'gemini'],
    [4, 'managed'],
  ]);
  if (kind === 'managed') {
    const allowed = allowedModels(actor);
    const names = allowed.filter(() => random.chance(0.6));
    const chosen = names.length > 0 ? names : [random.pick(allowed)];
    const repeated = random.chance(0.4);
    const fields = repeated ? chosen.map((name) => field('target_model_names[]', name)) : [field('target_model_names', chosen.join(random.pick([',', ', '])))];
    return { label: `managed(${chosen.join('+')})`, path: random.pick(['/v1/files', '/files']), headers: [], fields, managed: true };
  }
  const how = random.int(4);
  const base = { label: `plain ${kind}`, fields: [] as FormPart[], headers: [] as Array<[string, string]>, managed: false };
  const provider = kind === 'vertex' ? 'vertex_ai' : kind;
  if (kind === 'openai' && how === 0) return { ...base, path: random.pick(['/v1/files', '/files']) };
  if (how <= 1) return { ...base, path: `/${provider}/v1/files` };
  if (how === 2) return { ...base, path: '/v1/files', headers: [['custom-llm-provider', provider]] };
  return { ...base, path: '/v1/files', fields: [field('custom_llm_provider', provider)] };
}

export function fileBytes(random: Random, max = 24 * 1024): Buffer {
  const length = random.weighted<number>([
    [1, 0],
    [6, random.between(1, 2048)],
    [3, random.between(2048, max)],
  ]);
  return random.chance(0.5) ? random.bytes(length) : Buffer.from('fuzz line\n'.repeat(Math.ceil(length / 10)).slice(0, length));
}

export function purposeField(random: Random): FormPart {
  return field('purpose', random.pick(['user_data', 'assistants', 'user_data', 'vision']));
}

export function validExpiry(random: Random): FormPart[] {
  if (!random.chance(0.3)) return [];
  return [field('expires_after[anchor]', 'created_at'), field('expires_after[seconds]', String(random.between(3600, 2_592_000)))];
}

/** A well-formed form: the routing fields before or after the file. */
export function wellFormedParts(random: Random, target: UploadTarget, fieldsFirst: boolean, data?: Buffer): { parts: FormPart[]; file: FormPart } {
  const fields = [purposeField(random), ...validExpiry(random), ...target.fields];
  const file = filePart(data ?? fileBytes(random), `fuzz-${random.word(6)}.txt`, random.pick(['text/plain', 'application/octet-stream', 'application/pdf']));
  return { parts: fieldsFirst ? [...fields, file] : [file, ...fields], file };
}

export function boundaryFor(random: Random): string {
  return random.pick([`----fuzz${random.word(16)}`, `x${random.word(4)}`, `----WebKitFormBoundary${random.word(16)}`, `a'()+_,-./:=?${random.word(5)}`]);
}
