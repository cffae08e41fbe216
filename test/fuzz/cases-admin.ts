/** /key/generate, /user/new, /key/info, /key/delete, /user/info: wrong types, absurd values, repeats. */
import { rawCase } from './case-kit.ts';
import type { Actor, CaseDraft } from './case-types.ts';
import { ODD_QUERY_VALUES, oddJsonValue, oddString } from './hostile-values.ts';
import type { Random } from './random.ts';

function pickActor(random: Random): Actor {
  return random.weighted<Actor>([
    [6, 'admin'],
    [2, 'alice'],
    [1, 'carol'],
    [0.5, 'revoked'],
    [0.5, 'garbage'],
    [0.5, 'none'],
  ]);
}

function prefix(random: Random): string {
  return random.weighted<string>([[5, ''], [1, '/v1']]);
}

const DURATIONS: readonly unknown[] = ['999999999999d', '99999999999999999999s', '-1d', '1.5h', '0s', '1y', '30 d', 'd', '1d\u0000', 12, null, '', true, ['1d'], '1e9d', '4294967296d'];
const USER_IDS: readonly unknown[] = ['default_user_id', 'key:0123456789abcdef', 'alice', 'bob', '', '\u0000', 'x'.repeat(5000), 12, null, ['a'], '\ud800', 'fuzz-user', ' '];

function oddBody(random: Random, fields: Record<string, () => unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) if (random.chance(0.5)) body[name] = value();
  if (random.chance(0.2)) body[random.pick(['extra', '__proto__', 'user_role', 'token'])] = oddJsonValue(random);
  return body;
}

function jsonBody(random: Random, value: unknown): Buffer {
  if (random.chance(0.1)) return Buffer.from(random.pick(['', '{', 'null', '[]', '"x"', '{"models":', `{"keys":${'['.repeat(3000)}`]));
  return Buffer.from(JSON.stringify(value));
}

type AdminClass = (random: Random) => CaseDraft;

const generateKey: AdminClass = (random) => {
  const actor = pickActor(random);
  const body = oddBody(random, {
    models: () => random.pick<unknown>([['gpt-4o-mini-openai'], ['nosuch'], 'gpt-4o-mini-openai', [null], [1], [], ['\u0000'], Array.from({ length: 5000 }, () => 'gpt-4o-mini-openai')]),
    user_id: () => random.pick(USER_IDS),
    team_id: () => random.pick<unknown>(['fuzz-team', '', null, 12, '\u0000']),
    key_alias: () => oddString(random),
    duration: () => random.pick(DURATIONS),
    metadata: () => random.pick<unknown>([{}, [], 'x', null, { a: oddJsonValue(random) }, JSON.parse(`{"a":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`)]),
  });
  const path = `${prefix(random)}/key/generate`;
  const raw = jsonBody(random, body);
  return rawCase(
    { klass: 'keys.generate.odd-body', route: 'POST /key/generate', actor, detail: raw.subarray(0, 160).toString(), owed: 'answer', effect: { kind: 'user' } },
    () => ({ spec: { method: 'POST', target: path, headers: [['content-type', 'application/json']], body: raw } }),
  );
};

const newUser: AdminClass = (random) => {
  const actor = pickActor(random);
  const body = oddBody(random, {
    user_id: () => random.pick(USER_IDS),
    models: () => random.pick<unknown>([['gpt-4o-mini-openai'], ['nosuch'], 'x', [null], null]),
    user_role: () => random.pick<unknown>(['proxy_admin', 'internal_user', 'nosuch', '', null, 12, 'PROXY_ADMIN', '\u0000']),
    team_id: () => random.pick<unknown>(['fuzz-team', '', null, '\u0000']),
    duration: () => random.pick(DURATIONS),
  });
  const path = `${prefix(random)}/user/new`;
  const raw = jsonBody(random, body);
  return rawCase(
    { klass: 'users.new.odd-body', route: 'POST /user/new', actor, detail: raw.subarray(0, 160).toString(), owed: 'answer', effect: { kind: 'user' } },
    () => ({ spec: { method: 'POST', target: path, headers: [['content-type', 'application/json']], body: raw } }),
  );
};

const keyInfo: AdminClass = (random) => {
  const actor = pickActor(random);
  const count = random.pick([0, 1, 1, 2, 3]);
  const values = Array.from({ length: count }, () => random.pick<string>(['own', 'revoked', ...ODD_QUERY_VALUES, 'sk-nosuch']));
  const headerKey = random.chance(0.2);
  const path = `${prefix(random)}/key/info`;
  return rawCase(
    { klass: count > 1 ? 'keys.info.repeated-key' : 'keys.info.odd-key', route: 'GET /key/info', actor, detail: `key=${values.map((value) => value.slice(0, 30)).join('&key=')}${headerKey ? ' + x-litellm-key header' : ''}`, owed: 'answer' },
    (world) => {
      const resolve = (value: string) => (value === 'own' ? (world.keyOf(actor) ?? '') : value === 'revoked' ? world.keyOf('revoked')! : value);
      const query = values.map((value) => `key=${value === 'own' || value === 'revoked' ? encodeURIComponent(resolve(value)) : value}`).join('&');
      return { spec: { method: 'GET', target: `${path}${query ? `?${query}` : ''}`, headers: headerKey ? [['x-litellm-key', resolve('own')]] : [] } };
    },
  );
};

const deleteKeys: AdminClass = (random) => {
  const actor = pickActor(random);
  const keys = random.pick<unknown>([[], ['sk-nosuch'], 'sk-x', [null], [1], ['\u0000'], Array.from({ length: 2000 }, (_, index) => `sk-${index}`), null, ['revoked'], [{}]]);
  const path = `${prefix(random)}/key/delete`;
  return rawCase(
    { klass: 'keys.delete.odd-body', route: 'POST /key/delete', actor, detail: JSON.stringify(keys).slice(0, 120), owed: 'answer' },
    (world) => {
      const resolved = Array.isArray(keys) ? keys.map((key) => (key === 'revoked' ? world.keyOf('revoked') : key)) : keys;
      return { spec: { method: 'POST', target: path, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify({ keys: resolved })) } };
    },
  );
};

const userInfo: AdminClass = (random) => {
  const actor = pickActor(random);
  const count = random.pick([0, 1, 1, 2]);
  const values = Array.from({ length: count }, () => random.pick<string>(['alice', 'bob', 'carol', 'default_user_id', ...ODD_QUERY_VALUES]));
  const path = `${prefix(random)}/user/info`;
  const query = values.map((value) => `user_id=${value}`).join('&');
  return rawCase(
    {
      klass: count > 1 ? 'users.info.repeated-user-id' : 'users.info.odd-user-id',
      route: 'GET /user/info',
      actor,
      detail: query.slice(0, 160),
      owed: 'answer',
      ...((actor === 'alice' || actor === 'carol') && values.length === 1 && ['bob', 'default_user_id'].includes(values[0]!) ? { foreign: true } : {}),
    },
    () => ({ spec: { method: 'GET', target: `${path}${query ? `?${query}` : ''}`, headers: [] } }),
  );
};

export const ADMIN_CLASSES: ReadonlyArray<readonly [number, AdminClass]> = [
  [3, generateKey],
  [2, newUser],
  [2, keyInfo],
  [1.5, deleteKeys],
  [1.5, userInfo],
];
