/**
 * What the gateway does with a chat request before the upstream call, in one process, without
 * HTTP: the virtual key's authentication, JSON.parse of the body, the shape check, the model and
 * stored-reference checks (ChatService.plan: the managed-file cache, ownership), the copy
 * readiness, the file-id rewrite and JSON.stringify of the upstream body. Plain body (b) vs a
 * managed file reference (c), as in chat-latency.ts, measured in CPU µs per request: this part
 * of the file-reference cost is invisible in chat-latency.ts's whole-gateway figures on a shared
 * machine (BENCHMARKS.md, chat-latency variants).
 *
 *   node --import tsx bench/chat-request-prep.ts [--database postgres|pglite] [--key virtual|master]
 *        [--iterations 100000] [--rounds 5]
 *
 * Real components: the emulators, a runtime on a fresh Postgres database (or an embedded PGlite
 * data dir) and the gateway's HTTP app for the set-up (user, managed upload). The request
 * preparation calls two private methods (ChatService.requestFor, OpenAIChat.upstreamBody) so
 * that it stops right before the network; it prints one line per round and the medians.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.ts';
import { buildConfig } from '../src/config/load-config.ts';
import { startAllEmulators } from '../src/emulators/start-all.ts';
import { createRuntime } from '../src/runtime.ts';
import { assertChatBodyShape } from '../src/services/chat-body-shape.ts';
import { parseChatBody } from '../src/services/chat-service.ts';
import { createBenchDatabase, createUserKey, EMULATOR_KEY, MASTER_KEY, MODEL, PROMPT, UPSTREAM_MODEL, uploadManagedFile } from './chat-support/setup.ts';

const { values: args } = parseArgs({
  options: {
    database: { type: 'string', default: 'postgres' },
    key: { type: 'string', default: 'virtual' },
    iterations: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    postgres: { type: 'string', default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const ITERATIONS = Number(args.iterations);
const ROUNDS = Number(args.rounds);
if (!['postgres', 'pglite'].includes(args.database!)) throw new Error('--database is postgres or pglite');
if (!['virtual', 'master'].includes(args.key!)) throw new Error('--key is virtual or master');

const emulators = await startAllEmulators();
const embedded = args.database === 'pglite';
const database = embedded ? undefined : await createBenchDatabase(args.postgres!);
const dataDir = embedded ? mkdtempSync(join(tmpdir(), 'unifile-bench-prep-')) : undefined;
const config = buildConfig(
  {
    model_list: [{ model_name: MODEL, litellm_params: { model: `openai/${UPSTREAM_MODEL}`, api_base: emulators.urls.openai, api_key: EMULATOR_KEY }, model_info: { id: 'openai-bench' } }],
    general_settings: { master_key: MASTER_KEY, ...(dataDir ? { data_dir: dataDir } : { database_url: database!.url }) },
  },
  {},
);
const runtime = await createRuntime(config);
const app = await buildApp(runtime, { logLevel: 'silent' });
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const gatewayUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

try {
  const key = args.key === 'virtual' ? await createUserKey(gatewayUrl) : MASTER_KEY;
  const file = await uploadManagedFile(gatewayUrl, key, database ?? { query: async () => [] } as never, embedded ? emulators.openai.url : undefined);
  const bodies = {
    b: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: PROMPT }] }),
    c: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT }, { type: 'file', file: { file_id: file.unifiedId } }] }] }),
  };
  const context = { requestId: 'bench', logger: { info() {}, warn() {}, error() {}, debug() {} } } as never;
  const chat = runtime.chat as unknown as { requestFor(...args: unknown[]): Promise<{ body: unknown; fileReferences: unknown }> };

  /** One request's preparation; returns the upstream body text. */
  const prepare = async (text: string): Promise<string> => {
    const principal = await runtime.keys.authenticateNow(key);
    const body: unknown = JSON.parse(text);
    assertChatBodyShape(body);
    const parsed = parseChatBody(body);
    const plan = await runtime.chat.plan(principal, parsed);
    const candidate = plan.candidates[0]!;
    const request = await chat.requestFor(candidate, parsed, plan, context);
    const adapterChat = candidate.adapter.chat as unknown as { upstreamBody(request: unknown, stream: boolean): unknown };
    return JSON.stringify(adapterChat.upstreamBody(request, false));
  };
  // The file answer must name the copy, not the unified id: the bench measures the real path.
  const upstream = await prepare(bodies.c);
  if (!upstream.includes(file.providerFileId) || upstream.includes(file.unifiedId)) throw new Error(`unexpected upstream body: ${upstream}`);

  const measure = async (text: string): Promise<number> => {
    const start = process.cpuUsage();
    for (let index = 0; index < ITERATIONS; index += 1) await prepare(text);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / ITERATIONS;
  };
  await measure(bodies.b);
  await measure(bodies.c);
  const results: Record<'b' | 'c', number[]> = { b: [], c: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const id of round % 2 === 0 ? (['b', 'c'] as const) : (['c', 'b'] as const)) results[id].push(await measure(bodies[id]));
    process.stdout.write(`round ${round + 1}: b ${results.b.at(-1)!.toFixed(2)} µs, c ${results.c.at(-1)!.toFixed(2)} µs\n`);
  }
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  const b = median(results.b);
  const c = median(results.c);
  process.stdout.write(
    `${args.database} ${args.key}: median CPU µs per request preparation — (b) no file ${b.toFixed(2)}, (c) managed file ${c.toFixed(2)}, c − b ${(c - b).toFixed(2)} (${ITERATIONS} × ${ROUNDS} rounds)\n`,
  );
} finally {
  await app.close();
  await runtime.close();
  await emulators.close();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
