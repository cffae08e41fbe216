/**
 * /batches (README "Batches"): create with odd input files (other owners' files, files of the wrong
 * purpose, odd ids), odd endpoints and windows; retrieve and cancel odd or unknown batch ids.
 */
import { rawCase } from './case-kit.ts';
import { isForeign, POOL_KINDS, POOL_SLOTS, type Actor, type CaseDraft, type Owner, type PoolRef } from './case-types.ts';
import { ODD_ID_SEGMENTS, oddJsonValue } from './hostile-values.ts';
import type { Random } from './random.ts';

function pickActor(random: Random): Actor {
  return random.weighted<Actor>([
    [4, 'alice'],
    [3, 'bob'],
    [1, 'carol'],
    [2, 'admin'],
    [0.5, 'revoked'],
    [0.5, 'none'],
  ]);
}

type BatchClass = (random: Random) => CaseDraft;

const create: BatchClass = (random) => {
  const actor = pickActor(random);
  const usePool = random.chance(0.7);
  const ref: PoolRef = { kind: random.pick(POOL_KINDS), owner: random.pick<Owner>(['admin', 'alice', 'bob', 'carol']), slot: random.int(POOL_SLOTS - 1) };
  const oddId = random.pick<unknown>([...ODD_ID_SEGMENTS.slice(0, 12), null, 12, '', ['file-x'], 'batch_uf_AAAAAAAAAAAAAAAAAAAAAAAA']);
  const endpoint = random.pick<unknown>(['/v1/chat/completions', '/v1/chat/completions', '/v1/embeddings', '/v1/nosuch', '', null, 12, '/v1/chat/completions\u0000']);
  const window = random.pick<unknown>(['24h', '24h', '1h', '', null, 24]);
  const metadata = random.chance(0.3) ? { metadata: oddJsonValue(random) } : {};
  const path = random.pick(['/v1/batches', '/batches', '/openai/v1/batches', '/azure/v1/batches']);
  return rawCase(
    {
      klass: usePool ? 'batches.create.pool-file' : 'batches.create.odd-input',
      route: 'POST /v1/batches',
      actor,
      detail: `${path} input=${usePool ? `${ref.kind} file of ${ref.owner}` : JSON.stringify(oddId).slice(0, 60)} endpoint=${JSON.stringify(endpoint)} window=${JSON.stringify(window)}`,
      owed: 'answer',
      // The pool holds purpose=user_data files only: no batch may start from them (and never from someone else's).
      expect: 'failure',
      ...(usePool && isForeign(actor, ref.owner) ? { foreign: true } : {}),
    },
    (world) => ({
      spec: {
        method: 'POST',
        target: path,
        headers: [['content-type', 'application/json']],
        body: Buffer.from(JSON.stringify({ input_file_id: usePool ? world.poolId(ref) : oddId, endpoint, completion_window: window, ...metadata })),
      },
    }),
  );
};

const byId: BatchClass = (random) => {
  const actor = pickActor(random);
  const id = random.pick([...ODD_ID_SEGMENTS, 'batch_uf_AAAAAAAAAAAAAAAAAAAAAAAA', 'batch_abc123']);
  const cancel = random.chance(0.4);
  const path = random.pick(['/v1', '', '/openai/v1']);
  return rawCase(
    { klass: cancel ? 'batches.cancel.odd-id' : 'batches.retrieve.odd-id', route: cancel ? 'POST /v1/batches/{batch_id}/cancel' : 'GET /v1/batches/{batch_id}', actor, detail: `${path}/batches/${id.slice(0, 60)}`, owed: 'answer', expect: 'failure' },
    () => ({ spec: { method: cancel ? 'POST' : 'GET', target: `${path}/batches/${id}${cancel ? '/cancel' : ''}`, headers: [] } }),
  );
};

const list: BatchClass = (random) => {
  const actor = pickActor(random);
  const query = random.pick(['', '?limit=0', '?limit=1&limit=2', '?after=%00', '?after=batch_uf_AAAAAAAAAAAAAAAAAAAAAAAA', '?limit=abc', '?limit=100001']);
  return rawCase({ klass: 'batches.list.odd-query', route: 'GET /v1/batches', actor, detail: query || '(none)', owed: 'answer' }, () => ({ spec: { method: 'GET', target: `/v1/batches${query}`, headers: [] } }));
};

export const BATCH_CLASSES: ReadonlyArray<readonly [number, BatchClass]> = [
  [3, create],
  [2, byId],
  [1, list],
];
