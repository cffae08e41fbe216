/** GET /files, GET|DELETE /files/{id}, POST /files/{id}/delete, GET /files/{id}/content. */
import { clientCase, rawCase } from './case-kit.ts';
import { isForeign, POOL_KINDS, POOL_SLOTS, type Actor, type CaseDraft, type Owner, type PoolKind, type PoolRef, type World } from './case-types.ts';
import { ODD_ID_SEGMENTS, ODD_QUERY_VALUES } from './hostile-values.ts';
import type { Random } from './random.ts';

const OWNERS: readonly Owner[] = ['admin', 'alice', 'bob', 'carol'];

function pickActor(random: Random): Actor {
  return random.weighted<Actor>([
    [4, 'alice'],
    [4, 'bob'],
    [2, 'carol'],
    [2, 'admin'],
    [0.5, 'revoked'],
    [0.5, 'garbage'],
    [0.5, 'none'],
  ]);
}

const PROVIDER_OF: Record<PoolKind, string | undefined> = { openai: 'openai', azure: 'azure', vertex: 'vertex_ai', gemini: 'gemini', managed: undefined };

/** How the provider is named for a plain id: path prefix, header, query, or not at all. */
interface Addressing {
  prefix: string;
  headers: Array<[string, string]>;
  query: string;
  label: string;
}

function addressing(random: Random, provider: string | undefined): Addressing {
  const name = provider ?? random.pick(['openai', 'azure', 'vertex_ai', 'gemini']);
  const how = provider === undefined ? random.weighted<number>([[4, 0], [1, 1], [1, 2], [1, 3]]) : random.between(1, 3);
  if (how === 0) return { prefix: random.pick(['/v1', '']), headers: [], query: '', label: 'no provider' };
  if (how === 1) return { prefix: `/${name}/v1`, headers: [], query: '', label: `/${name}/v1` };
  if (how === 2) return { prefix: '/v1', headers: [['custom-llm-provider', name]], query: '', label: `header ${name}` };
  return { prefix: '/v1', headers: [], query: `custom_llm_provider=${name}`, label: `query ${name}` };
}

interface IdChoice {
  /** The id as it goes into the path (encoded), resolved at run time. */
  segment: (world: World) => string;
  /** The same id unencoded, for the openai client (which encodes path parameters itself). */
  rawId: (world: World) => string;
  provider: string | undefined;
  label: string;
  ref?: PoolRef;
  foreign: boolean;
  /** An id the openai client can send as it is. */
  clientSafe: boolean;
  /** The caller's own file in a slot no case deletes: retrieve/content must work. */
  ownStable: boolean;
}

function pickId(random: Random, actor: Actor, options: { forDelete: boolean }): IdChoice {
  if (random.chance(0.35)) {
    const segment = random.pick(ODD_ID_SEGMENTS);
    return { segment: () => segment, rawId: () => tryDecode(segment), provider: undefined, label: `odd id ${segment.slice(0, 60)}`, foreign: false, ownStable: false, clientSafe: false };
  }
  const kind = random.pick(POOL_KINDS);
  const owner = random.chance(0.5) && OWNERS.includes(actor as Owner) ? (actor as Owner) : random.pick(OWNERS);
  // Only slot POOL_SLOTS-1 is ever deleted, so the other slots stay reachable by their owners.
  const slot = options.forDelete ? POOL_SLOTS - 1 : random.int(POOL_SLOTS);
  const ref: PoolRef = { kind, owner, slot };
  const mangle = random.weighted<number>([[8, 0], [1, 1], [1, 2], [1, 3], [1, 4]]);
  const manglers = [
    (id: string) => id,
    (id: string) => `${id}\u0000`,
    (id: string) => encodeURIComponent(id),
    (id: string) => id.toUpperCase(),
    (id: string) => `${id}${'x'.repeat(200)}`,
  ];
  return {
    segment: (world) => encodeURIComponent(manglers[mangle]!(world.poolId(ref))),
    rawId: (world) => manglers[mangle]!(world.poolId(ref)),
    provider: PROVIDER_OF[kind],
    label: `${kind} file of ${owner} #${slot}${mangle ? ` mangled ${mangle}` : ''}`,
    ref,
    foreign: mangle === 0 && isForeign(actor, owner),
    ownStable: mangle === 0 && actor === owner && slot !== POOL_SLOTS - 1,
    clientSafe: mangle === 0 || mangle === 3,
  };
}

function oddQuery(random: Random): string {
  const names = ['limit', 'order', 'after', 'purpose', 'target_model_names', 'target_model_names[]', 'custom_llm_provider', 'limit[]', 'x', '%00', 'after%00'];
  const count = random.between(1, 5);
  const pairs: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const name = random.pick(names);
    const repeat = random.chance(0.3) ? 2 : 1;
    for (let time = 0; time < repeat; time += 1) pairs.push(`${name}=${random.pick(ODD_QUERY_VALUES)}`);
  }
  return pairs.join('&');
}

function idRoute(method: string, suffix: string): string {
  return `${method} /v1/files/{file_id}${suffix}`;
}

type FilesClass = (random: Random) => CaseDraft;

const byId: FilesClass = (random) => {
  const actor = pickActor(random);
  const operation = random.weighted<'retrieve' | 'content' | 'delete' | 'post-delete'>([[4, 'retrieve'], [3, 'content'], [2, 'delete'], [1, 'post-delete']]);
  const forDelete = operation === 'delete' || operation === 'post-delete';
  const id = pickId(random, actor, { forDelete });
  const where = addressing(random, id.provider === undefined || random.chance(0.15) ? undefined : id.provider);
  const method = operation === 'retrieve' || operation === 'content' ? 'GET' : operation === 'delete' ? 'DELETE' : 'POST';
  const suffix = operation === 'content' ? '/content' : operation === 'post-delete' ? '/delete' : '';
  const jsonHeader = random.chance(0.3);
  const extraQuery = random.chance(0.2) ? oddQuery(random) : '';
  const query = [where.query, extraQuery].filter(Boolean).join('&');
  const wellAddressed = where.label === 'no provider' ? id.provider === undefined : id.provider !== undefined && where.label.endsWith(id.provider);
  const draft = {
    klass: `files.${operation}${jsonHeader ? '.json-empty-body' : ''}${extraQuery ? '.odd-query' : ''}`,
    route: idRoute(method, suffix),
    actor,
    detail: `${id.label} via ${where.label}${query ? ` ?${query.slice(0, 120)}` : ''}`,
    owed: 'answer' as const,
    ...(id.foreign ? { foreign: true } : {}),
    // The Gemini API has no content download (400 by design).
    ...(id.ownStable && wellAddressed && !forDelete && !extraQuery && !(operation === 'content' && id.provider === 'gemini') ? { expect: 'success' as const } : {}),
    ...(forDelete ? { effect: { kind: 'delete' as const, ref: id.ref } } : {}),
  };
  // The Python client's shape (JSON content type, empty body) and odd queries need raw bytes.
  // The client encodes ids itself and refuses some (`..`): only plain pool ids go through it.
  if (jsonHeader || extraQuery || !id.clientSafe || random.chance(0.4)) {
    return rawCase(draft, (world) => ({
      spec: {
        method,
        target: `${where.prefix}/files/${id.segment(world)}${suffix}${query ? `?${query}` : ''}`,
        headers: [...where.headers, ...(jsonHeader ? ([['content-type', 'application/json']] as Array<[string, string]>) : [])],
        ...(jsonHeader ? { body: Buffer.alloc(0) } : {}),
      },
    }));
  }
  return clientCase(
    draft,
    async (client, world) => {
      const fileId = id.rawId(world);
      const options = { headers: Object.fromEntries(where.headers), ...(where.query ? { query: Object.fromEntries(new URLSearchParams(where.query)) } : {}) };
      if (operation === 'retrieve') return client.files.retrieve(fileId, options);
      if (operation === 'content') return client.files.content(fileId, options);
      if (operation === 'delete') return client.files.delete(fileId, options);
      return client.post(`/files/${encodeURIComponent(fileId)}/delete`, options);
    },
    { baseURL: (world) => `${world.url}${where.prefix}` },
  );
};

function tryDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const list: FilesClass = (random) => {
  const actor = pickActor(random);
  const where = addressing(random, random.chance(0.6) ? undefined : random.pick(['openai', 'azure', 'vertex_ai', 'gemini']));
  const variant = random.weighted<number>([[3, 0], [3, 1], [2, 2], [1, 3]]);
  if (variant === 0) {
    // Well-formed, through the client.
    const limit = random.chance(0.5) ? random.between(1, 50) : undefined;
    const order = random.chance(0.5) ? random.pick(['asc', 'desc'] as const) : undefined;
    const purpose = random.chance(0.3) ? random.pick(['user_data', 'assistants', 'batch']) : undefined;
    return clientCase(
      {
        klass: 'files.list.valid',
        route: 'GET /v1/files',
        actor,
        detail: `via ${where.label} limit=${limit} order=${order} purpose=${purpose}`,
        owed: 'answer',
        // Vertex has no provider-side list here yet (400 unsupported_operation): not judged.
        ...(['admin', 'alice', 'bob', 'carol'].includes(actor) && !where.label.includes('vertex_ai') ? { expect: 'success' as const } : {}),
      },
      async (client) => {
        const page = await client.files.list({ ...(limit ? { limit } : {}), ...(order ? { order } : {}), ...(purpose ? { purpose } : {}) }, { headers: Object.fromEntries(where.headers), ...(where.query ? { query: Object.fromEntries(new URLSearchParams(where.query)) } : {}) });
        return page.data;
      },
      { baseURL: (world) => `${world.url}${where.prefix}` },
    );
  }
  if (variant === 1 || variant === 3) {
    // `after` = a pool id (maybe someone else's): must answer as for an unknown id.
    const id = pickId(random, actor, { forDelete: false });
    const more = variant === 3 ? `&${oddQuery(random)}` : '';
    return rawCase(
      {
        klass: `files.list.after-cursor${id.foreign ? '.foreign' : ''}${variant === 3 ? '.odd-query' : ''}`,
        route: 'GET /v1/files',
        actor,
        detail: `after=${id.label} via ${where.label}${more.slice(0, 120)}`,
        owed: 'answer',
        ...(id.foreign && where.label === 'no provider' ? { foreign: true } : {}),
      },
      (world) => ({ spec: { method: 'GET', target: `${where.prefix}/files?after=${id.segment(world)}${where.query ? `&${where.query}` : ''}${more}`, headers: where.headers } }),
    );
  }
  // Odd and repeated query parameters, optionally with a JSON body on a GET.
  const query = oddQuery(random);
  const body = random.chance(0.2) ? random.pick(['{"target_model_names":["nosuch",null,1]}', '{"target_model_names":"gpt-4o-mini-openai"}', '[]', 'null', '{', '']) : undefined;
  return rawCase(
    { klass: `files.list.odd-query${body !== undefined ? '.json-body' : ''}`, route: 'GET /v1/files', actor, detail: `?${query.slice(0, 160)} via ${where.label}${body !== undefined ? ` body ${body}` : ''}`, owed: 'answer' },
    () => ({
      spec: {
        method: 'GET',
        target: `${where.prefix}/files?${query}${where.query ? `&${where.query}` : ''}`,
        headers: [...where.headers, ...(body !== undefined ? ([['content-type', 'application/json']] as Array<[string, string]>) : [])],
        ...(body !== undefined ? { body: Buffer.from(body) } : {}),
      },
    }),
  );
};

export const FILES_CLASSES: ReadonlyArray<readonly [number, FilesClass]> = [
  [10, byId],
  [6, list],
];
