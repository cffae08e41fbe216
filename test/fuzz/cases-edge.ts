/**
 * The HTTP layer itself: unknown routes, wrong methods, bad percent-encoding, oversize URLs and
 * headers, broken framing, odd keys — and generic hostile requests on every operation the
 * gateway's own OpenAPI document lists, so a route added later is fuzzed without being named here.
 */
import { rawCase } from './case-kit.ts';
import type { Actor, CaseDraft } from './case-types.ts';
import { ODD_ID_SEGMENTS, ODD_QUERY_VALUES, oddJsonValue } from './hostile-values.ts';
import type { Random } from './random.ts';
import type { Framing } from './raw-http.ts';

/** One operation of the OpenAPI document: `GET`, `/v1/files/{file_id}`. */
export interface Operation {
  method: string;
  path: string;
}

function pickActor(random: Random): Actor {
  return random.weighted<Actor>([
    [3, 'alice'],
    [2, 'admin'],
    [1, 'bob'],
    [1, 'revoked'],
    [1, 'garbage'],
    [1, 'none'],
  ]);
}

const UNKNOWN_PATHS: readonly string[] = [
  '/nosuch',
  '/v1/nosuch',
  '/v2/files',
  '/v1/files/a/b/c',
  '/v1//files',
  '//v1/files',
  '/v1/files/',
  '/%2e%2e/v1/files',
  '/v1/files;x=1',
  '/nosuch/v1/files',
  '/nosuch/v1/files/file-abc',
  '/nosuch/v1/chat/completions',
  '/v1/v1/files',
  '/openai/v1/chat/completions',
  '/V1/FILES',
  '/v1/files%2Fx',
  '/v1/%66iles',
  '/.env',
  '/v1/files/%',
  '/v1/fi%zzles',
  '/v1/%E0%A4/x',
  '/%00',
  '/v1/files/%00/content',
  '/v1/chat/completions/x',
  '/health',
  '/health/nosuch',
  '/docs/nosuch%00',
];

const METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO', 'get'];

type EdgeClass = (random: Random, operations: readonly Operation[]) => CaseDraft;

const unknownRoute: EdgeClass = (random) => {
  const actor = pickActor(random);
  const path = random.pick(UNKNOWN_PATHS);
  const method = random.pick(['GET', 'POST', 'DELETE']);
  const query = random.chance(0.3) ? `?${random.pick(['a=%00', 'x=%zz', 'a=1&a=2', 'key=sk-1'])}` : '';
  return rawCase(
    { klass: 'edge.unknown-route', route: '* (unknown route)', actor, detail: `${method} ${path}${query}`, owed: 'answer' },
    () => ({ spec: { method, target: `${path}${query}`, headers: method === 'POST' ? [['content-type', 'application/json']] : [], ...(method === 'POST' ? { body: Buffer.from('{}') } : {}) } }),
  );
};

const wrongMethod: EdgeClass = (random, operations) => {
  const actor = pickActor(random);
  const operation = random.pick(operations);
  const method = random.pick(METHODS.filter((name) => name !== operation.method));
  const path = operation.path.replace(/\{[^}]+\}/g, 'file-abc');
  // HEAD may be served for GET routes; unknown methods may be refused by the parser.
  return rawCase(
    { klass: `edge.wrong-method.${method === 'FOO' || method === 'get' || method === 'PROPFIND' ? 'unknown' : method.toLowerCase()}`, route: `${operation.method} ${operation.path}`, actor, detail: `${method} ${path}`, owed: method === 'FOO' || method === 'get' ? 'answer-or-close' : 'answer' },
    () => ({ spec: { method, target: path, headers: [] } }),
  );
};

const oversize: EdgeClass = (random) => {
  const actor = pickActor(random);
  const variant = random.int(7);
  const cases: Array<[string, string, Array<[string, string]>]> = [
    ['id of 20 KiB', `/v1/files/${'a'.repeat(20 * 1024)}`, []],
    ['id of 8 KiB', `/v1/files/${'a'.repeat(8 * 1024)}`, []],
    ['query of 15 KiB', `/v1/files?after=${'a'.repeat(15 * 1024)}`, []],
    ['header of 20 KiB', '/v1/files', [['x-fuzz', 'h'.repeat(20 * 1024)]]],
    ['200 headers', '/v1/models', Array.from({ length: 200 }, (_, index): [string, string] => [`x-fuzz-${index}`, 'v'.repeat(100)])],
    ['3000 small headers', '/v1/models', Array.from({ length: 3000 }, (_, index): [string, string] => [`x-${index}`, '1'])],
    ['key of 12 KiB', '/v1/models', [['x-api-key', 'k'.repeat(12 * 1024)]]],
  ];
  const [label, target, headers] = cases[variant]!;
  return rawCase(
    { klass: `edge.oversize.${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, route: variant === 4 || variant === 5 || variant === 6 ? 'GET /v1/models' : 'GET /v1/files', actor, detail: label, owed: 'answer' },
    () => ({ spec: { method: 'GET', target, headers } }),
  );
};

/** Framing and header syntax a server may refuse by closing, but must never answer 5xx or hang on. */
const badFraming: EdgeClass = (random) => {
  const actor = pickActor(random);
  const variant = random.int(11);
  const body = Buffer.from('{"model":"gpt-4o-mini-openai","messages":[{"role":"user","content":"x"}]}');
  const plain = { method: 'POST', target: '/v1/chat/completions' };
  const specs: Array<[string, Array<[string, string | Buffer]>, Buffer | undefined, Framing | undefined, string?]> = [
    ['NUL in a header value', [['content-type', 'application/json'], ['x-fuzz', Buffer.from('a\u0000b')]], body, { kind: 'length' }],
    ['CL and TE together', [['content-type', 'application/json'], ['content-length', '5']], body, { kind: 'chunked', chunkSize: 16 }],
    ['two content-lengths', [['content-type', 'application/json'], ['content-length', '3']], body, { kind: 'length' }],
    ['bad chunk size', [['content-type', 'application/json'], ['transfer-encoding', 'chunked']], Buffer.from('zz\r\nabc\r\n0\r\n\r\n'), { kind: 'none' }],
    ['transfer-encoding gzip', [['content-type', 'application/json'], ['transfer-encoding', 'gzip']], body, { kind: 'none' }],
    ['header without colon', [['content-type', 'application/json'], ['x-fuzz', 'a\r\nno colon here']], body, { kind: 'length' }],
    ['obs-fold', [['content-type', 'application/json'], ['x-fuzz', 'a\r\n b']], body, { kind: 'length' }],
    ['invalid header name', [['content-type', 'application/json'], ['x fuzz', 'a']], body, { kind: 'length' }],
    ['content-length negative', [['content-type', 'application/json'], ['content-length', '-1']], body, { kind: 'none' }],
    ['expect 100-continue', [['content-type', 'application/json'], ['expect', '100-continue']], body, { kind: 'length' }],
    ['expect nosuch', [['content-type', 'application/json'], ['expect', 'nosuch']], body, { kind: 'length' }],
  ];
  const [label, headers, payload, framing] = specs[variant]!;
  return rawCase(
    { klass: `edge.framing.${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, route: 'POST /v1/chat/completions', actor, detail: label, owed: variant === 9 ? 'answer' : 'answer-or-close' },
    () => ({ spec: { ...plain, headers, ...(payload ? { body: payload } : {}), ...(framing ? { framing } : {}) } }),
  );
};

const oddKeys: EdgeClass = (random) => {
  const variant = random.int(9);
  const all: Array<Array<[string, string | Buffer]>> = [
    [['authorization', 'Bearer']],
    [['authorization', 'Basic dXNlcjpwYXNz']],
    [['authorization', 'Bearer sk-a'], ['authorization', 'Bearer sk-b']],
    [['api-key', 'sk-\u0001x']],
    [['x-api-key', Buffer.from([0x73, 0x6b, 0x2d, 0xed, 0xa0, 0x80])]],
    [['authorization', `Bearer ${'k'.repeat(4000)}`]],
    [['authorization', 'Bearer sk-master-test-key ']],
    [['authorization', 'bearer   ']],
    [['api-key', ''], ['x-api-key', '']],
  ];
  const headers = all[variant]!;
  const target = random.pick(['/v1/models', '/v1/files', '/key/info', '/v1/files/file-abc']);
  return rawCase(
    { klass: 'edge.odd-key-headers', route: target === '/key/info' ? 'GET /key/info' : target === '/v1/models' ? 'GET /v1/models' : target === '/v1/files' ? 'GET /v1/files' : 'GET /v1/files/{file_id}', actor: 'none', detail: `variant ${variant} on ${target}`, owed: variant === 3 || variant === 4 ? 'answer-or-close' : 'answer' },
    () => ({ spec: { method: 'GET', target, headers }, noAuth: true }),
  );
};

const requestLine: EdgeClass = (random) => {
  const actor = pickActor(random);
  const variant = random.int(6);
  const lines: Array<[string, string | Buffer]> = [
    ['absolute-form target', 'http://127.0.0.1/v1/models'],
    ['asterisk target', '*'],
    ['no leading slash', 'v1/models'],
    ['raw NUL in path', Buffer.from('/v1/files/a\u0000b')],
    ['raw UTF-8 in path', Buffer.from('/v1/files/é💩')],
    ['space-less garbage', Buffer.from('/v1/models?x=\u007f\u0080')],
  ];
  const [label, target] = lines[variant]!;
  return rawCase(
    { klass: `edge.request-line.${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, route: 'GET /v1/models', actor, detail: label, owed: 'answer-or-close' },
    () => ({ spec: { method: 'GET', target, headers: [] } }),
  );
};

/** Any operation of the OpenAPI document with odd path parameters, query values and bodies. */
const generic: EdgeClass = (random, operations) => {
  const actor = pickActor(random);
  const operation = random.pick(operations);
  const path = operation.path.replace(/\{[^}]+\}/g, () => random.pick(ODD_ID_SEGMENTS));
  const pathVariant = random.pick([path, path.replace(/^\/v1/, ''), path.replace(/^\/v1/, '/openai/v1')]);
  const query = random.chance(0.5) ? `?${Array.from({ length: random.between(1, 4) }, () => `${random.pick(['key', 'user_id', 'limit', 'after', 'purpose', 'x', 'custom_llm_provider'])}=${random.pick(ODD_QUERY_VALUES)}`).join('&')}` : '';
  const withBody = operation.method === 'POST' || random.chance(0.2);
  const bodyKind = random.int(4);
  const body = !withBody
    ? undefined
    : bodyKind === 0
      ? Buffer.from(JSON.stringify(oddJsonValue(random)))
      : bodyKind === 1
        ? Buffer.from(JSON.stringify({ model: oddJsonValue(random), messages: oddJsonValue(random), keys: oddJsonValue(random), user_id: oddJsonValue(random) }))
        : bodyKind === 2
          ? Buffer.from(random.pick(['', '{', 'null', '1', '"x"', '{"a":1,"a":2}', '\u0000']))
          : random.bytes(random.between(1, 300));
  const type = random.pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data']);
  return rawCase(
    {
      klass: 'edge.generic',
      route: `${operation.method} ${operation.path}`,
      actor,
      detail: `${operation.method} ${pathVariant.slice(0, 120)}${query.slice(0, 80)}${body ? ` ${type} ${body.length} bytes` : ''}`,
      owed: 'answer',
      // An odd body may still be a valid one: users it creates are then known to the audit.
      ...(/\/(user\/new|key\/generate)$/.test(operation.path) ? { effect: { kind: 'user' as const } } : {}),
    },
    () => ({ spec: { method: operation.method, target: `${pathVariant}${query}`, headers: [...(body ? ([['content-type', type]] as Array<[string, string]>) : [])], ...(body ? { body } : {}) } }),
  );
};

/** The public routes: health, metrics, docs — with odd methods and queries. */
const publicRoutes: EdgeClass = (random) => {
  const actor = pickActor(random);
  const path = random.pick(['/health/liveliness', '/health/readiness', '/metrics', '/openapi.json', '/docs', '/docs/', '/docs/json', '/docs/static/index.html']);
  const query = random.chance(0.5) ? `?${random.pick(ODD_QUERY_VALUES.map((value) => `x=${value}`))}` : '';
  const method = random.pick(['GET', 'GET', 'HEAD', 'POST']);
  return rawCase(
    { klass: 'edge.public-routes', route: `GET ${path.startsWith('/docs') ? '/docs' : path}`, actor, detail: `${method} ${path}${query.slice(0, 60)}`, owed: 'answer', ...(method === 'GET' && !query.includes('%') && !path.startsWith('/docs/') ? {} : {}) },
    () => ({ spec: { method, target: `${path}${query}`, headers: method === 'POST' ? [['content-type', 'application/json']] : [], ...(method === 'POST' ? { body: Buffer.from('{}') } : {}) } }),
  );
};

export const EDGE_CLASSES: ReadonlyArray<readonly [number, EdgeClass]> = [
  [3, unknownRoute],
  [3, wrongMethod],
  [1.5, oversize],
  [2, badFraming],
  [1.5, oddKeys],
  [1, requestLine],
  [6, generic],
  [1.5, publicRoutes],
];
