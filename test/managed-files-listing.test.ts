/**
 * Managed listing (README "Endpoints" (managed files)): keyset pages over 1,000 files with mixed purposes and targets are
 * complete, ordered newest first with id tie-break, stable, with exact has_more; filters and
 * asc order work; and two gateway instances on one Postgres behave as one.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import { buildApp } from '../src/app.ts';
import { createRuntime } from '../src/runtime.ts';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { MASTER_KEY } from './support/gateway-harness.ts';
import { startManagedHarness, type ManagedHarness } from './support/managed-config.ts';
import OpenAI from 'openai';

let harness: ManagedHarness;
let second: OpenAIEmulator;
let ownerKey: string;
type Made = { id: string; purpose: string; targets: string };
const made: Made[] = [];

before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
  ownerKey = (await harness.newUser({ user_id: 'lister' })).key;
  const client = harness.client(ownerKey);
  const plan = Array.from({ length: 1000 }, (_, index) => ({
    purpose: ['user_data', 'assistants', 'batch'][index % 3]!,
    targets: index % 5 === 0 ? 'gpt-4o-mini-openai,gemini-2.0-flash' : 'gemini-2.0-flash',
    index,
  }));
  // 20 at a time, like a busy client.
  for (let start = 0; start < plan.length; start += 20) {
    await Promise.all(
      plan.slice(start, start + 20).map(async ({ purpose, targets, index }) => {
        const line = JSON.stringify({ custom_id: `r${index}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-2.0-flash', messages: [] } });
        const file = await client.files.create({ file: await toFile(Buffer.from(line + '\n'), `f${index}.jsonl`), purpose, target_model_names: targets } as never);
        made.push({ id: file.id, purpose, targets });
      }),
    );
  }
});
after(() => harness.close()); // closes the second emulator too

async function collect(query: Record<string, unknown>, pageSize: number): Promise<{ ids: string[]; pages: number; createdAt: number[] }> {
  const ids: string[] = [];
  const createdAt: number[] = [];
  let pages = 0;
  let page = await harness.client(ownerKey).files.list({ limit: pageSize, ...query });
  for (;;) {
    pages += 1;
    ids.push(...page.data.map((file) => file.id));
    createdAt.push(...page.data.map((file) => file.created_at));
    if (!page.hasNextPage()) break;
    page = await page.getNextPage();
  }
  return { ids, pages, createdAt };
}

test('pages of 97 cover all 1,000 files exactly once, newest first, with exact has_more', async () => {
  const { ids, pages, createdAt } = await collect({}, 97);
  assert.equal(ids.length, 1000);
  assert.equal(new Set(ids).size, 1000);
  assert.deepEqual(new Set(ids), new Set(made.map((file) => file.id)));
  assert.equal(pages, Math.ceil(1000 / 97), 'no empty trailing page: has_more was exact');
  for (let index = 1; index < createdAt.length; index += 1) assert.ok(createdAt[index - 1]! >= createdAt[index]!);
  const ascending = await collect({ order: 'asc' }, 250);
  assert.deepEqual(ascending.ids, [...ids].reverse(), 'asc is exactly the reverse order');
  const exact = await harness.client(ownerKey).files.list({ limit: 1000 });
  assert.equal(exact.data.length, 1000);
  assert.equal((exact as unknown as { has_more: boolean }).has_more, false);
});

test('purpose and target_model_names filters, alone and together', async () => {
  const batch = await collect({ purpose: 'batch' }, 100);
  assert.deepEqual(new Set(batch.ids), new Set(made.filter((file) => file.purpose === 'batch').map((file) => file.id)));
  const gpt = await collect({ target_model_names: 'gpt-4o-mini-openai' }, 100);
  assert.deepEqual(new Set(gpt.ids), new Set(made.filter((file) => file.targets.includes('gpt')).map((file) => file.id)));
  const both = await collect({ target_model_names: ['gpt-4o-mini-openai', 'gemini-2.0-flash'], purpose: 'user_data' }, 50);
  assert.deepEqual(new Set(both.ids), new Set(made.filter((file) => file.targets.includes('gpt') && file.purpose === 'user_data').map((file) => file.id)));
  assert.ok(both.ids.length > 0);
});

test('a bad limit or an unknown cursor is a 400 naming the parameter', async () => {
  for (const [query, param] of [['limit=0', 'limit'], ['limit=10001', 'limit'], ['order=sideways', 'order'], ['after=file-uf_AAAAAAAAAAAAAAAAAAAAAAAA', 'after']] as const) {
    const response = await harness.fetch(`/v1/files?${query}`, { key: ownerKey });
    assert.equal(response.status, 400, query);
    assert.equal(((await response.json()) as { error: { param: string } }).error.param, param);
  }
});

test('two gateway instances on one Postgres behave as one', async (t) => {
  if (!harness.database.url) return t.skip('needs TEST_DATABASE_URL (a shared Postgres); PGlite is single-process');
  const runtime = await createRuntime(harness.config);
  const app = await buildApp(runtime, { logLevel: 'silent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const address = app.server.address() as { port: number };
    const otherInstance = new OpenAI({ apiKey: ownerKey, baseURL: `http://127.0.0.1:${address.port}/v1`, maxRetries: 0 });
    const file = await otherInstance.files.create({ file: await toFile(Buffer.from('shared state'), 'shared.txt'), purpose: 'user_data', target_model_names: 'gemini-2.0-flash' } as never);
    assert.equal((await harness.client(ownerKey).files.retrieve(file.id)).id, file.id, 'seen by the first instance');
    const answer = await harness.client(ownerKey).chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: file.id } }] }] });
    assert.ok(answer.choices[0]!.message.content);
    assert.deepEqual(await harness.client(ownerKey).files.delete(file.id), { id: file.id, object: 'file', deleted: true });
    await assert.rejects(otherInstance.files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
    const masterOnOther = new OpenAI({ apiKey: MASTER_KEY, baseURL: `http://127.0.0.1:${address.port}/v1`, maxRetries: 0 });
    assert.ok((await masterOnOther.models.list()).data.length > 0);
  } finally {
    const closing = app.close();
    app.server.closeAllConnections();
    await closing;
    await runtime.close();
  }
});
