/** POST /files: well-formed uploads (both field orders) and every way a form can be broken. */
import { toFile } from 'openai';
import { clientCase, rawCase } from './case-kit.ts';
import type { Actor, CaseDraft, Owed } from './case-types.ts';
import { oddFilename, oddString } from './hostile-values.ts';
import { buildForm, field, filePart, midFileOffset, type FormPart } from './multipart.ts';
import type { Random } from './random.ts';
import type { Ending, Framing } from './raw-http.ts';
import { allowedModels, boundaryFor, fileBytes, pickTarget, pickUploadActor, purposeField, wellFormedParts, type UploadTarget } from './upload-shapes.ts';

const AUTHORISED: readonly Actor[] = ['admin', 'alice', 'bob', 'carol'];

function contentTypeFor(boundary: string): string {
  return /^[A-Za-z0-9-]+$/.test(boundary) ? `multipart/form-data; boundary=${boundary}` : `multipart/form-data; boundary="${boundary}"`;
}

interface RawUpload {
  klass: string;
  actor: Actor;
  target: UploadTarget;
  body: Buffer;
  detail: string;
  /** null: no Content-Type header at all. */
  contentType?: string | null;
  framing?: Framing;
  ending?: Ending;
  owed?: Owed;
  /** failure: the form is bad, so a 2xx is a finding (only judged for authorised actors). */
  expect?: 'success' | 'failure';
}

function routeOf(target: UploadTarget): string {
  return target.path.startsWith('/nosuch') ? 'POST /{unknown-provider}/v1/files' : 'POST /v1/files';
}

function rawUpload(upload: RawUpload, boundary: string): CaseDraft {
  const authorised = AUTHORISED.includes(upload.actor);
  return rawCase(
    {
      klass: upload.klass,
      route: routeOf(upload.target),
      actor: upload.actor,
      detail: `${upload.target.label} → ${upload.target.path}; ${upload.detail}`,
      owed: upload.owed ?? 'answer',
      ...(authorised && upload.expect ? { expect: upload.expect } : authorised ? {} : { expect: 'failure' as const }),
      effect: { kind: 'upload' },
      ...tagOf(upload.body),
    },
    () => ({
      spec: {
        method: 'POST',
        target: upload.target.path,
        headers: [...(upload.contentType === null ? [] : ([['content-type', upload.contentType ?? contentTypeFor(boundary)]] as Array<[string, string]>)), ...upload.target.headers],
        body: upload.body,
        framing: upload.framing ?? { kind: 'length' },
      },
      ending: upload.ending ?? 'complete',
    }),
  );
}

type UploadClass = (random: Random) => CaseDraft;

/** The file part's name (`fuzz-xxxxxx.ext`), found in the form's first bytes. */
function tagOf(body: Buffer): { tag?: string } {
  const match = /filename="(fuzz-[a-z0-9]+\.[a-z]+)"/.exec(body.subarray(0, 200_000).toString('latin1'));
  return match ? { tag: match[1]! } : {};
}

/** The official client: file first, then purpose (and the gateway's fields) — the SDK order. */
const validClient: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const data = fileBytes(random);
  const filename = `fuzz-${random.word(5)}.${random.pick(['txt', 'pdf', 'bin', 'json'])}`;
  const expiry = random.chance(0.3) ? { anchor: 'created_at' as const, seconds: random.between(3600, 2_592_000) } : undefined;
  const extra: Record<string, unknown> = {};
  for (const part of target.fields) extra[part.name] = part.data.toString();
  const prefix = target.path.replace(/\/files$/, '');
  return clientCase(
    {
      klass: 'upload.valid.client',
      route: 'POST /v1/files',
      actor,
      detail: `${target.label} via ${prefix || '/'} ${target.headers.map(([name, value]) => `${name}: ${value}`).join(' ')} ${data.length} bytes`,
      owed: 'answer',
      expect: AUTHORISED.includes(actor) ? 'success' : 'failure',
      effect: { kind: 'upload' },
      tag: filename,
    },
    async (client) =>
      client.files.create(
        { file: await toFile(data, filename), purpose: 'user_data', ...(expiry ? { expires_after: expiry } : {}), ...extra } as never,
        { headers: Object.fromEntries(target.headers) },
      ),
    { baseURL: (world) => `${world.url}${prefix === '/files' || prefix === '' ? '' : prefix}` },
  );
};

const validFieldsFirst: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const { parts } = wellFormedParts(random, target, true);
  const chunked = random.chance(0.3);
  return rawUpload(
    {
      klass: 'upload.valid.fields-first',
      actor,
      target,
      body: buildForm(boundary, parts),
      detail: `fields first${chunked ? ', chunked' : ''}`,
      framing: chunked ? { kind: 'chunked', chunkSize: random.between(1, 4096) } : { kind: 'length' },
      expect: 'success',
    },
    boundary,
  );
};

/** Cut inside the file part: framing that still adds up (must answer), or a connection cut, half-closed or stalled. */
const cutMidFile: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts } = wellFormedParts(random, target, fieldsFirst, random.bytes(random.between(2000, 200_000)));
  const body = buildForm(boundary, parts);
  const cutAt = midFileOffset(body, boundary);
  const mode = random.weighted<[string, Framing, Ending, Owed]>([
    [3, ['length ends at the cut', { kind: 'length' }, 'complete', 'answer']],
    [2, ['declared more, then abort', { kind: 'declared-more', cutAt }, 'abort', 'nothing']],
    [2, ['declared more, then FIN', { kind: 'declared-more', cutAt }, 'half-close', 'answer-or-close']],
    [2, ['chunked without last chunk, then abort', { kind: 'chunked-unterminated', cutAt }, 'abort', 'nothing']],
    [1, ['chunked without last chunk, then FIN', { kind: 'chunked-unterminated', cutAt }, 'half-close', 'answer-or-close']],
    [1, ['declared more, then stall', { kind: 'declared-more', cutAt }, 'stall', 'answer-or-close']],
  ]);
  return rawUpload(
    {
      klass: `upload.cut-mid-file.${mode[2]}`,
      actor,
      target,
      body: mode[1].kind === 'length' ? body.subarray(0, cutAt) : body,
      detail: `${fieldsFirst ? 'fields first' : 'file first'}, cut at ${cutAt}/${body.length}: ${mode[0]}`,
      framing: mode[1],
      ending: mode[2],
      owed: mode[3],
      expect: 'failure',
    },
    boundary,
  );
};

/** Part header blocks that replace a part's own: [class suffix, header bytes for the part's name]. */
const JUNK_HEADERS: ReadonlyArray<readonly [string, (name: string) => Buffer]> = [
  ['no-disposition', () => Buffer.from('Content-Type: text/plain')],
  ['unterminated-quote', (name) => Buffer.from(`Content-Disposition: form-data; name="${name}"; filename="unterminated`)],
  ['no-colon', () => Buffer.from('this line has no colon at all')],
  ['binary', () => Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x41, 0x3a, 0x00])],
  ['20-kib-parameter', (name) => Buffer.from(`Content-Disposition: form-data; name="${name}"; ${'x'.repeat(20_000)}`)],
  ['attachment', (name) => Buffer.from(`Content-Disposition: attachment; name="${name}"; filename="a.txt"`)],
  ['no-name', () => Buffer.from('Content-Disposition: form-data; filename="a.txt"')],
  ['nul-content-type', (name) => Buffer.from(`Content-Disposition: form-data; name=${name}; filename=a.txt\r\nContent-Type: \u0000`)],
  ['surrogate-filename-star', (name) => Buffer.from(`Content-Disposition: form-data; name="${name}"; filename*=UTF-8''%ED%A0%80.txt`)],
  ['2000-headers', (name) => Buffer.from(`Content-Disposition: form-data; name="${name}"\r\n${'X-Junk: y\r\n'.repeat(2000)}`)],
];

const junkPartHeaders: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts, file } = wellFormedParts(random, target, fieldsFirst);
  const victimIndex = random.chance(0.6) ? parts.indexOf(file) : random.int(parts.length);
  const junk = random.int(JUNK_HEADERS.length);
  const [junkName, junkHeaders] = JUNK_HEADERS[junk]!;
  const broken = parts.map((part, index) => (index === victimIndex ? { ...part, rawHeaders: junkHeaders(part.name) } : part));
  return rawUpload(
    { klass: `upload.junk-part-headers.${junkName}`, actor, target, body: buildForm(boundary, broken), detail: `junk #${junk} in part ${parts[victimIndex]!.name}, ${fieldsFirst ? 'fields first' : 'file first'}` },
    boundary,
  );
};

const boundaryInData: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const variant = random.int(4);
  const inner = [
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data`,
    `\r\n--${boundary}--\r\nafter the end`,
    `--${boundary}--`, // not preceded by CRLF: plain data
    `\r\n--${boundary}\r\n\r\nno headers here`,
  ][variant]!;
  const data = Buffer.concat([random.bytes(random.between(10, 3000)), Buffer.from(inner), random.bytes(random.between(0, 3000))]);
  const { parts } = wellFormedParts(random, target, fieldsFirst, data);
  return rawUpload(
    { klass: 'upload.boundary-inside-data', actor, target, body: buildForm(boundary, parts), detail: `variant ${variant}, ${fieldsFirst ? 'fields first' : 'file first'}` },
    boundary,
  );
};

const noFinalBoundary: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts } = wellFormedParts(random, target, fieldsFirst);
  const chunked = random.chance(0.3);
  return rawUpload(
    {
      klass: 'upload.missing-final-boundary',
      actor,
      target,
      body: buildForm(boundary, parts, { noFinalBoundary: true, ...(random.chance(0.3) ? { epilogue: Buffer.from('garbage') } : {}) }),
      detail: `${fieldsFirst ? 'fields first' : 'file first'}${chunked ? ', chunked' : ''}`,
      framing: chunked ? { kind: 'chunked', chunkSize: random.between(1, 8192) } : { kind: 'length' },
      expect: 'failure',
    },
    boundary,
  );
};

const duplicateFile: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts, file } = wellFormedParts(random, target, fieldsFirst);
  const second = random.chance(0.7) ? filePart(fileBytes(random), 'second.txt') : { ...filePart(fileBytes(random), 'other.txt'), name: random.pick(['file2', 'files[]', '']) };
  const at = random.chance(0.5) ? parts.indexOf(file) + 1 : parts.length;
  const withSecond = [...parts.slice(0, at), second, ...parts.slice(at)];
  return rawUpload(
    { klass: 'upload.duplicate-file-part', actor, target, body: buildForm(boundary, withSecond), detail: `second file part '${second.name}' at ${at}`, expect: 'failure' },
    boundary,
  );
};

const tooManyFields: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts, file } = wellFormedParts(random, target, fieldsFirst);
  const count = random.pick([21, 25, 101, 150, 1000]);
  const name = random.chance(0.5) ? 'purpose' : undefined;
  const extra = Array.from({ length: count }, (_, index) => field(name ?? `extra_${index}`, 'user_data'));
  const after = random.chance(0.5);
  const ordered = after ? [...parts, ...extra] : [...extra, ...parts];
  return rawUpload(
    {
      klass: 'upload.too-many-fields',
      actor,
      target,
      body: buildForm(boundary, ordered),
      detail: `${count} extra fields${name ? ` named ${name}` : ''} ${after ? 'after' : 'before'} a ${fieldsFirst ? 'fields-first' : 'file-first'} form (${file.data.length} byte file)`,
      expect: 'failure',
    },
    boundary,
  );
};

const largeField: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts } = wellFormedParts(random, target, fieldsFirst);
  const size = random.pick([64 * 1024 + 1, 200_000, 1_100_000]);
  const name = random.pick(['purpose', 'target_model_names', 'litellm_metadata', 'junk']);
  const big = field(name, Buffer.alloc(size, 0x61));
  const at = random.int(parts.length + 1);
  return rawUpload(
    { klass: 'upload.field-too-large', actor, target, body: buildForm(boundary, [...parts.slice(0, at), big, ...parts.slice(at)]), detail: `${name} of ${size} bytes at ${at}`, expect: 'failure' },
    boundary,
  );
};

const oddFilenameClass: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts, file } = wellFormedParts(random, target, fieldsFirst);
  const filename = oddFilename(random);
  const renamed = parts.map((part) => (part === file ? { ...part, filename } : part));
  const hasNul = filename.includes(0);
  return rawUpload(
    {
      klass: hasNul ? 'upload.nul-in-filename' : 'upload.odd-filename',
      actor,
      target,
      body: buildForm(boundary, renamed),
      detail: `filename bytes ${filename.subarray(0, 40).toString('hex')}${filename.length > 40 ? '…' : ''} (${filename.length})`,
      ...(hasNul ? { expect: 'failure' as const } : {}),
    },
    boundary,
  );
};

/** Bad purpose / expires_after / provider values, and NUL or lone surrogates in them. */
const badFields: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const { parts, file } = wellFormedParts(random, target, fieldsFirst);
  const bad = random.pick<[string, FormPart[]]>([
    ['purpose', [field('purpose', random.pick(['', 'nosuch', 'user_data\u0000', '\ud800', 'USER_DATA', 'batch_output', 'fine-tune-results', oddString(random)]))]],
    ['expires_after anchor', [field('expires_after[anchor]', random.pick(['now', '', 'created_at\u0000', 'CREATED_AT'])), field('expires_after[seconds]', '3600')]],
    ['expires_after seconds', [field('expires_after[anchor]', 'created_at'), field('expires_after[seconds]', random.pick(['0', '3599', '2592001', '-3600', '1e4', '3600.5', ' ', 'abc', '99999999999999999999', '\u0000'])) ]],
    ['expires_after half', [field(random.pick(['expires_after[anchor]', 'expires_after[seconds]', 'expires_after.seconds']), random.pick(['created_at', '3600']))]],
    ['custom_llm_provider', [field('custom_llm_provider', random.pick(['nosuch', '', '\u0000', 'OPENAI', 'vertex_ai\ud800', 'anthropic', '__proto__']))]],
    ['target unknown', [field('target_model_names', random.pick(['nosuch-model', 'gpt-4o-mini-openai,nosuch', 'nosuch,,', '\u0000', 'gemini-2.0-flash\ud800']))]],
  ]);
  const replaces = (part: FormPart) =>
    bad[1].some((badPart) => badPart.name === part.name) || (bad[0].startsWith('expires_after') && part.name.startsWith('expires_after'));
  const kept = parts.filter((part) => !replaces(part));
  const at = fieldsFirst ? 0 : kept.length;
  const replaced = [...kept.slice(0, at), ...bad[1], ...kept.slice(at)];
  const stillValid = bad[0] === 'custom_llm_provider' && bad[1][0]!.data.toString() === '' && !target.managed;
  return rawUpload(
    {
      klass: `upload.bad-field.${bad[0].replace(/ /g, '-')}`,
      actor,
      target: bad[0] === 'target unknown' ? { ...target, managed: true } : target,
      body: buildForm(boundary, replaced),
      detail: `${bad[0]}: ${JSON.stringify(bad[1].map((part) => `${part.name}=${part.data.toString().slice(0, 40)}`))}, file ${file.data.length} bytes ${fieldsFirst ? 'after' : 'before'} them`,
      ...(stillValid || bad[0] === 'custom_llm_provider' ? {} : { expect: 'failure' as const }),
    },
    boundary,
  );
};

/** Routing fields after the file when purpose came first: the file may already be upstream. */
const lateFields: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const file = filePart(random.bytes(random.between(100, 60_000)), `fuzz-${random.word(6)}.txt`);
  const late = random.pick<[string, FormPart[]]>([
    ['expires_after', [field('expires_after[anchor]', 'created_at'), field('expires_after[seconds]', random.pick(['3600', '5', 'x']))]],
    ['target_model_names', [field('target_model_names', random.pick(allowedModels(actor)))]],
    ['custom_llm_provider', [field('custom_llm_provider', random.pick(['azure', 'vertex_ai', 'nosuch']))]],
    ['second purpose', [field('purpose', random.pick(['assistants', 'nosuch']))]],
    ['unknown target', [field('target_model_names', 'nosuch-model')]],
  ]);
  const before = [purposeField(random), ...target.fields];
  return rawUpload(
    { klass: 'upload.late-routing-field', actor, target, body: buildForm(boundary, [...before, file, ...late[1]]), detail: `purpose first, ${late[0]} after the file` },
    boundary,
  );
};

const hugeTargets: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  const variant = random.int(4);
  const fields = [
    [field('target_model_names', Array.from({ length: 10_000 }, (_, index) => `model-${index}`).join(','))],
    [field('target_model_names', 'gpt-4o-mini-openai,'.repeat(3000))],
    Array.from({ length: 300 }, () => field('target_model_names[]', 'gpt-4o-mini-openai')),
    [field('target_model_names', `${'g'.repeat(60_000)}`)],
  ][variant]!;
  const { parts } = wellFormedParts(random, { ...target, fields: [] }, fieldsFirst);
  const at = fieldsFirst ? 0 : parts.length;
  return rawUpload(
    { klass: 'upload.huge-target-model-names', actor, target: { ...target, managed: true }, body: buildForm(boundary, [...parts.slice(0, at), ...fields, ...parts.slice(at)]), detail: `variant ${variant}`, expect: variant === 1 ? undefined : 'failure' },
    boundary,
  );
};

const badContentType: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const { parts } = wellFormedParts(random, target, random.chance(0.5));
  const form = buildForm(boundary, parts);
  const variant = random.pick<[string, string | undefined, Buffer]>([
    ['no boundary', 'multipart/form-data', form],
    ['other boundary', 'multipart/form-data; boundary=not-the-one', form],
    ['boundary of 200', `multipart/form-data; boundary=${'b'.repeat(200)}`, form],
    ['json', 'application/json', Buffer.from('{"purpose":"user_data","file":"aGVsbG8="}')],
    ['text', 'text/plain', form],
    ['mixed', `multipart/mixed; boundary=${boundary}`, form],
    ['urlencoded', 'application/x-www-form-urlencoded', Buffer.from('purpose=user_data&file=abc')],
    ['none', undefined, form],
    ['NUL in type', `multipart/form-data; boundary=${boundary}\u0000`, form],
    ['empty body', `multipart/form-data; boundary=${boundary}`, Buffer.alloc(0)],
  ]);
  return rawUpload(
    {
      klass: 'upload.bad-content-type',
      actor,
      target,
      body: variant[2],
      detail: variant[0],
      contentType: variant[1] ?? null,
      expect: 'failure',
    },
    boundary,
  );
};

const tooLarge: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target = pickTarget(random, actor);
  const boundary = boundaryFor(random);
  const fieldsFirst = random.chance(0.5);
  // The fuzz gateway runs with max_upload_size_mb: 1.
  const { parts } = wellFormedParts(random, target, fieldsFirst, Buffer.alloc(1024 * 1024 + random.between(1, 100_000), 0x62));
  return rawUpload(
    { klass: 'upload.too-large', actor, target, body: buildForm(boundary, parts), detail: `${fieldsFirst ? 'fields first' : 'file first'}, just over 1 MiB`, expect: 'failure' },
    boundary,
  );
};

const unknownProvider: UploadClass = (random) => {
  const actor = pickUploadActor(random);
  const target: UploadTarget = { label: 'unknown provider', path: random.pick(['/nosuch/v1/files', '/gemini%00/v1/files', '/OPENAI/v1/files', '/%ED%A0%80/v1/files']), headers: [], fields: [], managed: false };
  const boundary = boundaryFor(random);
  const { parts } = wellFormedParts(random, target, random.chance(0.5));
  return rawUpload({ klass: 'upload.unknown-provider-prefix', actor, target, body: buildForm(boundary, parts), detail: 'well-formed form', expect: 'failure' }, boundary);
};

export const UPLOAD_CLASSES: ReadonlyArray<readonly [number, UploadClass]> = [
  [6, validClient],
  [4, validFieldsFirst],
  [6, cutMidFile],
  [3, junkPartHeaders],
  [3, boundaryInData],
  [2, noFinalBoundary],
  [2, duplicateFile],
  [2, tooManyFields],
  [1.5, largeField],
  [2, oddFilenameClass],
  [4, badFields],
  [3, lateFields],
  [1, hugeTargets],
  [2, badContentType],
  [1, tooLarge],
  [1, unknownProvider],
];
