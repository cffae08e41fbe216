/**
 * Listing managed files on Postgres: 100,000 files owned by one user (+ hidden rows of theirs and
 * rows of other owners), inserted with SQL after the gateway migrated the database. Measures
 * GET /v1/files?limit=100 — first page and deep pages (`after=` an id in the middle / near the
 * end) — with autocannon for that user's key, and EXPLAINs the query the repository issues.
 * Target (issue 10): p50 ≤ 5 ms — judged on the 1-connection rows (the latency of one page); the
 * 10-connection rows are printed against it too, but there p50 ≈ connections ÷ req/s (queueing
 * behind the gateway's CPU on a 2-core machine shared with the load generator and Postgres).
 *
 *   node --import tsx bench/list-managed.ts [--files 100000] [--duration 10] [--connections 10]
 */
import autocannon from 'autocannon';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Principal } from '../src/core/access-policy.ts';
import type { Db } from '../src/persistence/database.ts';
import { ManagedFileRepository, type ManagedListQuery } from '../src/persistence/managed-file-repository.ts';
import { jsonRequest } from './support/child-process.ts';
import { startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { commandText, flag, measurePhase } from './support/measure.ts';
import { cpuBetween, cpuOfOwnPostgresBackends, memoryStatus } from './support/proc-stats.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';

const FILES = flag('files', 100_000);
const DURATION = flag('duration', 10);
const CONNECTIONS = flag('connections', 10);
const OTHER_OWNERS = 200;
const OTHER_FILES_EACH = 500;
const HIDDEN_FILES = 4_000;
const P50_TARGET_MS = 5;
const PAGE = 100;

/** Ids as the gateway mints them: `file-uf_` + 24 URL-safe characters (here hex, unique by row number). */
const idSql = (salt: string) => `'file-uf_' || substr(md5('${salt}' || g::text), 1, 16) || lpad(to_hex(g), 8, '0')`;

async function seed(client: pg.Client, ownerId: string): Promise<void> {
  const started = performance.now();
  // Three files per second of created_at, so the id tie-break of the keyset cursor is exercised.
  await client.query(
    `INSERT INTO managed_files (id, owner_id, purpose, filename, bytes, mime_type, target_model_names, created_at)
     SELECT ${idSql('u')}, $1, 'user_data', 'doc-' || g || '.pdf', 1000 + g, 'application/pdf', ARRAY['gpt-4o-mini-openai'],
            timestamptz '2025-01-01' + (g / 3) * interval '1 second'
     FROM generate_series(1, $2::int) AS g`,
    [ownerId, FILES],
  );
  // The same user's deleted tombstones and expired files, interleaved in time: the list must skip them.
  await client.query(
    `INSERT INTO managed_files (id, owner_id, purpose, filename, bytes, mime_type, target_model_names, created_at, status, expires_at)
     SELECT ${idSql('h')}, $1, 'user_data', 'gone-' || g || '.pdf', 1, 'application/pdf', ARRAY['gpt-4o-mini-openai'],
            timestamptz '2025-01-01' + (g * ($2::int / $3::int) / 3) * interval '1 second',
            CASE WHEN g % 2 = 0 THEN 'deleted' ELSE 'active' END, CASE WHEN g % 2 = 0 THEN NULL ELSE timestamptz '2025-01-02' END
     FROM generate_series(1, $3::int) AS g`,
    [ownerId, FILES, HIDDEN_FILES],
  );
  await client.query(
    `INSERT INTO managed_files (id, owner_id, team_id, purpose, filename, bytes, mime_type, target_model_names, created_at)
     SELECT ${idSql('o')}, 'other-owner-' || (g % $1::int), CASE WHEN g % 4 = 0 THEN 'team-' || (g % 10) END, 'batch', 'other-' || g || '.jsonl',
            2000 + g, 'application/jsonl', ARRAY['gpt-4o-mini-openai'], timestamptz '2025-01-01' + (g / 3) * interval '1 second'
     FROM generate_series(1, $2::int) AS g`,
    [OTHER_OWNERS, OTHER_OWNERS * OTHER_FILES_EACH],
  );
  await client.query(
    `INSERT INTO managed_file_copies (file_id, deployment_id, model_name, provider, provider_file_id)
     SELECT id, 'oai-1', 'gpt-4o-mini-openai', 'openai', 'file-' || substr(md5(id), 1, 24) FROM managed_files`,
  );
  await client.query('ANALYZE managed_files; ANALYZE managed_file_copies');
  const total = (await client.query<{ count: string }>('SELECT count(*) FROM managed_files')).rows[0]!.count;
  process.stderr.write(`seeded ${total} managed files (+ one copy each) in ${fixed((performance.now() - started) / 1000)} s\n`);
}

/** The SQL text and parameters ManagedFileRepository.list sends for this caller and query. */
async function repositorySql(principal: Principal, query: ManagedListQuery): Promise<{ sql: string; params: unknown[] }> {
  const dialect = new PgDialect();
  let captured: { sql: string; params: unknown[] } | undefined;
  const capture = { execute: async (statement: Parameters<PgDialect['sqlToQuery']>[0]) => ((captured = dialect.sqlToQuery(statement)), { rows: [] }) };
  await new ManagedFileRepository(capture as unknown as Db).list(principal, query);
  if (!captured) throw new Error('the repository issued no query');
  return captured;
}

async function explain(client: pg.Client, principal: Principal, after: string | undefined): Promise<string> {
  const { sql, params } = await repositorySql(principal, { limit: PAGE, order: 'desc', after, targetModelNames: [] });
  const result = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
  return result.rows.map((row) => row['QUERY PLAN']).join('\n');
}

interface Case {
  name: string;
  path: string;
  after?: string;
}

/** Transactions committed in the gateway's database so far (each autocommit query is one). */
async function transactions(client: pg.Client): Promise<number> {
  await sleep(1100); // backends flush their statistics at most once a second
  await client.query('SELECT pg_stat_clear_snapshot()');
  const result = await client.query<{ xact_commit: string }>('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()');
  return Number(result.rows[0]!.xact_commit);
}

/** One autocannon run, with the gateway's peak RSS, the CPU of gateway, client and all postgres processes, and queries. */
async function load(gateway: GatewayProcess, client: pg.Client, request: { key: string; path: string; seconds: number; connections: number }) {
  const transactionsBefore = await transactions(client);
  const postgresBefore = cpuOfOwnPostgresBackends();
  const measured = await measurePhase(gateway, {}, () =>
    autocannon({
      url: `${gateway.url}${request.path}`,
      connections: request.connections,
      duration: request.seconds,
      headers: { authorization: `Bearer ${request.key}` },
    }),
  );
  measured.stats.cpu.postgres = cpuBetween(postgresBefore, cpuOfOwnPostgresBackends());
  // Our own two statistics reads commit one transaction each.
  const queries = (await transactions(client)) - transactionsBefore - 2;
  return { ...measured, queriesPerRequest: queries / measured.result.requests.total };
}

async function main(): Promise<void> {
  await checkQuietMachine();
  const gateway = await startGateway({ config: { general_settings: {} } });
  const client = new pg.Client({ connectionString: gateway.database!.url });
  await client.connect();
  try {
    const user = await gateway.newUser({ user_id: 'bench-list-user' });
    await seed(client, user.user_id);
    const ordered = async (offset: number) =>
      (await client.query<{ id: string }>(
        `SELECT id FROM managed_files WHERE owner_id = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > now())
         ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
        [user.user_id, offset],
      )).rows[0]!.id;
    const cases: Case[] = [
      { name: 'first page', path: `/v1/files?limit=${PAGE}` },
      { name: `after the ${FILES / 2}th file`, path: '', after: await ordered(FILES / 2 - 1) },
      { name: `after the ${FILES - 2 * PAGE}th file`, path: '', after: await ordered(FILES - 2 * PAGE - 1) },
    ].map((item) => (item.after ? { ...item, path: `/v1/files?limit=${PAGE}&after=${item.after}` } : item));
    const runs = [...cases.map((item) => ({ ...item, connections: CONNECTIONS })), { ...cases[0]!, connections: 1 }, { ...cases[1]!, connections: 1 }];

    // Correctness first: every page has 100 of this user's files, right after the cursor.
    for (const item of cases) {
      const page = await jsonRequest<{ data: Array<{ id: string }>; has_more: boolean }>(`${gateway.url}${item.path}`, { key: user.key });
      const expectedFirst = item.after ? await nextAfter(client, user.user_id, item.after) : await ordered(0);
      if (page.data.length !== PAGE || !page.has_more || page.data[0]!.id !== expectedFirst) {
        throw new Error(`${item.name}: got ${page.data.length} files starting ${page.data[0]?.id}, expected ${PAGE} starting ${expectedFirst}`);
      }
    }

    const idleMb = memoryStatus(gateway.pid).rssMb;
    await load(gateway, client, { key: user.key, path: cases[0]!.path, seconds: 3, connections: CONNECTIONS }); // warm-up (JIT, pool), not reported
    const rows: Array<Array<string | number>> = [];
    for (const item of runs) {
      process.stderr.write(`${item.name}: ${DURATION} s at ${item.connections} connection(s) …\n`);
      const { result, stats, queriesPerRequest } = await load(gateway, client, { key: user.key, path: item.path, seconds: DURATION, connections: item.connections });
      const failed = result.errors + result.timeouts + result.non2xx;
      const perRequest = (seconds: number) => fixed((seconds * 1000) / result.requests.total, 2);
      const ms = (value: number) => (value < 1 ? '<1' : fixed(value)); // 1 ms histogram buckets
      rows.push([
        item.name,
        item.connections,
        ms(result.latency.p50),
        ms(result.latency.p97_5),
        ms(result.latency.p99),
        fixed(result.latency.average, 2),
        fixed(result.requests.average, 0),
        failed === 0 ? '0' : `**${failed}**`,
        fixed(stats.peakMb),
        `${perRequest(stats.cpu.gateway!)} / ${perRequest(stats.cpu.postgres!)}`,
        fixed(queriesPerRequest, 1),
        fixed(stats.cpu.client!),
      ]);
    }
    const principal: Principal = { isAdmin: false, ownerId: user.user_id, userId: user.user_id, teamId: null, allowedModels: [], keyHash: 'bench' };
    const firstPlan = await explain(client, principal, undefined);
    const deepPlan = await explain(client, principal, cases[1]!.after);
    const body = [
      `Data: ${FILES} visible managed files of one user (+ ${HIDDEN_FILES} of theirs deleted/expired, interleaved), ${OTHER_OWNERS * OTHER_FILES_EACH} of ${OTHER_OWNERS} other owners, one copy row each; Postgres 15 on loopback.`,
      `Load: autocannon (in the benchmark process) for ${DURATION} s per row after a 3 s warm-up, the user's own key, GET \`/v1/files?limit=${PAGE}[&after=…]\`.`,
      `Gateway: ${gateway.runtime}, log level warn, idle RSS ${fixed(idleMb)} MiB. Latency in ms (autocannon's histogram has 1 ms resolution).`,
      '',
      table(
        ['page', 'connections', 'p50 ms', 'p97.5 ms', 'p99 ms', 'mean ms', 'req/s', 'errors', 'gateway peak RSS MiB', 'CPU ms per request: gateway / its postgres backends', 'queries per request', 'autocannon CPU s'],
        rows,
      ),
      '',
      ...verdicts(rows),
      'At 10 connections the gateway process is the bottleneck (about one core busy): latency ≈ connections ÷ req/s, so p50 mostly',
      "measures queueing behind the gateway's CPU time per request; the 1-connection row shows the unloaded latency.",
      '',
      'Plans of the exact SQL `ManagedFileRepository.list` issues (captured from the repository, run with EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)):',
      '',
      'First page:',
      '```',
      firstPlan,
      '```',
      '',
      `Deep page (after the ${FILES / 2}th file):`,
      '```',
      deepPlan,
      '```',
    ].join('\n');
    await publish({ key: 'list-managed', title: `Listing managed files: ${FILES.toLocaleString('en-US')} files of one user on Postgres`, command: commandText('bench/list-managed.ts'), body });
  } finally {
    await client.end();
    await gateway.stop();
  }
}

/** Target lines: the 1-connection rows decide; the loaded rows are reported against the same number. */
function verdicts(rows: Array<Array<string | number>>): string[] {
  const within = (row: Array<string | number>) => row[2] === '<1' || Number(row[2]) <= P50_TARGET_MS;
  const single = rows.filter((row) => row[1] === 1);
  const loaded = rows.filter((row) => row[1] !== 1);
  const list = (selected: Array<Array<string | number>>) => selected.map((row) => `${row[0]} ${row[2]} ms`).join(', ');
  return [
    `Target p50 ≤ ${P50_TARGET_MS} ms for a page of ${PAGE} (1 connection: ${list(single)}) → **${single.every(within) ? 'met' : 'missed'}**.`,
    `At ${CONNECTIONS} connections (${list(loaded)}): ${loaded.every(within) ? `also within ${P50_TARGET_MS} ms` : `**over ${P50_TARGET_MS} ms** on ${loaded.filter((row) => !within(row)).length} of ${loaded.length} rows`}.`,
  ];
}

/** The id that must come first on the page after `after` (same order and visibility as the API). */
async function nextAfter(client: pg.Client, ownerId: string, after: string): Promise<string> {
  const result = await client.query<{ id: string }>(
    `SELECT id FROM managed_files WHERE owner_id = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > now())
       AND (created_at, id) < (SELECT created_at, id FROM managed_files WHERE id = $2)
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [ownerId, after],
  );
  return result.rows[0]!.id;
}

await main();
