/**
 * Batches across instances and plain batches (README "Batches"): the background refresher, shared by two
 * gateways on one database, finishes a batch nobody polls; a raw provider file recorded as the
 * caller's runs as a plain batch, and the provider's line errors come back with their line
 * number; a plain batch's outputs follow its ownership. (Two instances retrieving one batch
 * concurrently: the per-provider suites in support/batch-suite.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import { BatchRepository } from '../src/persistence/batch-repository.ts';
import { BatchRefresher } from '../src/services/batch-refresh.ts';
import { testContext } from './support/silent-logger.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { BATCH_MODELS, batchLines, notFound, outputLines, pollUntil, rows, uploadBatchFile } from './support/batch-suite.ts';

let first: Harness;
let second: Harness;
before(async () => {
  first = await startHarness({ config: (emulators) => ({ model_list: BATCH_MODELS(emulators.urls) }), general: { batch_refresh_interval_seconds: 0.1 } });
  second = await startHarness({
    config: (emulators) => ({ model_list: BATCH_MODELS(emulators.urls) }),
    general: { batch_refresh_interval_seconds: 0.1 },
    emulators: first.emulators,
    database: first.database,
  });
});
after(async () => {
  await second.close();
  await first.close();
});

async function providerBatchStatus(id: string): Promise<string | undefined> {
  const [row] = await rows(first, sql`SELECT provider_batch_id FROM batches WHERE id = ${id}`);
  return first.emulators.openai.batches.batches.get(String(row!.provider_batch_id))?.status;
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('deleting the input of a batch that ended upstream (nobody looked yet) goes through', async () => {
  const owner = await first.newUser({ user_id: 'late-deleter' });
  const client = first.client(owner.key);
  const file = await uploadBatchFile(client, batchLines(5, 'gpt-4o-mini-openai'), 'gpt-4o-mini-openai');
  const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await waitFor(async () => (await providerBatchStatus(created.id)) === 'completed', 'the provider to finish');
  assert.equal((await client.files.delete(file.id)).deleted, true);
  const [row] = await rows(first, sql`SELECT status FROM batches WHERE id = ${created.id}`);
  assert.equal(row!.status, 'completed', 'the delete refreshed the batch it would have blocked on');
});

test('the background refresher finishes a batch nobody polls, shared between instances', async () => {
  const owner = await first.newUser({ user_id: 'unpolled-owner' });
  const client = first.client(owner.key);
  const file = await uploadBatchFile(client, batchLines(300, 'gpt-4o-mini-openai'), 'gpt-4o-mini-openai');
  const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  first.runtime.startBackgroundWork(testContext.logger);
  second.runtime.startBackgroundWork(testContext.logger);
  await waitFor(async () => (await rows(first, sql`SELECT status FROM batches WHERE id = ${created.id}`))[0]!.status === 'completed', 'the refresher to finish the batch');
  const [stored] = await rows(first, sql`SELECT batch_object FROM batches WHERE id = ${created.id}`);
  const object = stored!.batch_object as { output_file_id: string; request_counts: { completed: number } };
  assert.equal(object.request_counts.completed, 300);
  assert.match(object.output_file_id, /^file-uf_/);
  // The client's first look: the stored object, already with its managed output.
  const seen = await client.batches.retrieve(created.id);
  assert.equal(seen.output_file_id, object.output_file_id);
  assert.equal((await outputLines(client, seen.output_file_id!)).length, 300);
  assert.ok((await client.files.list()).data.some((item) => item.id === seen.output_file_id && item.purpose === 'batch_output'));
});

test('a raw provider file recorded as the caller\'s runs as a plain batch; a malformed line fails it naming the line', async () => {
  const owner = await first.newUser({ user_id: 'plain-owner' });
  const client = first.client(owner.key);
  const text = `${batchLines(2, 'gpt-4o-mini')}\nthis line is not JSON\n${batchLines(1, 'gpt-4o-mini', 'tail')}\n`;
  const raw = await client.files.create({ file: await toFile(Buffer.from(text), 'plain.jsonl'), purpose: 'batch' });
  assert.match(raw.id, /^file-(?!uf_)/, 'a plain upload keeps the provider id');
  const stranger = first.client((await first.newUser({ user_id: 'plain-stranger' })).key);
  const callsBefore = first.emulators.openai.calls.length;
  await assert.rejects(stranger.batches.create({ input_file_id: raw.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), notFound);
  assert.equal(first.emulators.openai.calls.length, callsBefore, 'another user\'s raw file never reaches the provider');

  const created = await client.batches.create({ input_file_id: raw.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  assert.match(created.id, /^batch_uf_/);
  assert.equal(created.input_file_id, raw.id);
  const failed = await pollUntil(client, created.id, ['failed', 'completed']);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.errors!.data![0]!.line, 3);
  assert.equal(failed.output_file_id, null, 'no output: null, not an error loop');
  assert.equal(failed.error_file_id, null);
});

test('a plain batch\'s output and error files: its creator reads them under a key limited to some models, nobody else does', async () => {
  // Tied to no model (the input was a raw provider file): the model limit of the creator's key
  // has nothing to act on, so the files follow the batch's own rule — ownership (README "Security").
  const owner = await first.newUser({ user_id: 'plain-limited', models: ['gpt-4o-mini-openai'] });
  const client = first.client(owner.key);
  const bad = JSON.stringify({ custom_id: 'broken', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: 'not a list' } });
  const raw = await client.files.create({ file: await toFile(Buffer.from(`${batchLines(3, 'gpt-4o-mini')}\n${bad}\n`), 'plain.jsonl'), purpose: 'batch' });
  const created = await client.batches.create({ input_file_id: raw.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const done = await pollUntil(client, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed', JSON.stringify(done.errors));
  assert.deepEqual(done.request_counts, { total: 4, completed: 3, failed: 1 });
  const targets = await rows(first, sql`SELECT target_model_names FROM managed_files WHERE id IN (${done.output_file_id}, ${done.error_file_id})`);
  assert.deepEqual(targets.map((row) => row.target_model_names), [[], []], 'recorded without target models');
  const lines = await outputLines(client, done.output_file_id!);
  assert.deepEqual(lines.map((line) => line.custom_id).sort(), ['req-0', 'req-1', 'req-2']);
  const errorLines = await outputLines(client, done.error_file_id!);
  assert.deepEqual(errorLines.map((line) => [line.custom_id, line.response.status_code]), [['broken', 400]]);
  assert.equal((await client.files.retrieve(done.output_file_id!)).purpose, 'batch_output');
  const listed = (await client.files.list({ purpose: 'batch_output' })).data.map((file) => file.id).sort();
  assert.deepEqual(listed, [done.output_file_id, done.error_file_id].sort(), 'listed for the limited key');

  // Another user limited the same way is a stranger: 404, no provider call. A second key of the
  // creator, limited to another model, is the same owner: it reads them too.
  const stranger = first.client((await first.newUser({ user_id: 'plain-limited-stranger', models: ['gpt-4o-mini-openai'] })).key);
  const callsBefore = first.emulators.openai.calls.length;
  await assert.rejects(stranger.files.content(done.output_file_id!), notFound);
  await assert.rejects(stranger.files.retrieve(done.error_file_id!), notFound);
  await assert.rejects(stranger.batches.retrieve(created.id), notFound);
  assert.deepEqual((await stranger.files.list({ purpose: 'batch_output' })).data, []);
  assert.equal(first.emulators.openai.calls.length, callsBefore, 'no provider call for a stranger');
  const generated = await first.fetch('/key/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'plain-limited', models: ['azure-gpt'] }) });
  const otherKey = first.client(((await generated.json()) as { key: string }).key);
  assert.equal((await outputLines(otherKey, done.output_file_id!)).length, 3);
});

test('batch request validation: 400 naming the parameter, nothing sent upstream', async () => {
  const owner = await first.newUser({ user_id: 'validation-owner' });
  const client = first.client(owner.key);
  const file = await uploadBatchFile(client, batchLines(1, 'gpt-4o-mini-openai'), 'gpt-4o-mini-openai');
  const callsBefore = first.emulators.openai.calls.filter((call) => call.path.includes('/batches')).length;
  const bad = (error: { status?: number; error?: { param?: string } }, param: string) => error.status === 400 && error.error?.param === param;
  await assert.rejects(client.batches.create({ input_file_id: file.id, endpoint: '/v1/nope' as '/v1/chat/completions', completion_window: '24h' }), (error: never) => bad(error, 'endpoint'));
  await assert.rejects(client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '48h' as '24h' }), (error: never) => bad(error, 'completion_window'));
  await assert.rejects(
    client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }),
    (error: never) => bad(error, 'metadata'),
  );
  await assert.rejects(client.batches.list({ limit: 101 }), (error: never) => bad(error, 'limit'));
  const chatFile = await client.files.create({ file: await toFile(Buffer.from('hello'), 'a.txt'), purpose: 'user_data', // @ts-expect-error gateway field
    target_model_names: 'gpt-4o-mini-openai' });
  await assert.rejects(client.batches.create({ input_file_id: chatFile.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), (error: never) => bad(error, 'input_file_id'));
  assert.equal(first.emulators.openai.calls.filter((call) => call.path.includes('/batches')).length, callsBefore);
});

test('the batch routes also answer without /v1 and under /{provider}/v1', async () => {
  const owner = await first.newUser({ user_id: 'route-owner' });
  const client = first.client(owner.key);
  const raw = await client.files.create({ file: await toFile(Buffer.from(batchLines(2, 'gpt-4o-mini')), 'r.jsonl'), purpose: 'batch' });
  const prefixed = first.client(owner.key, { baseURL: `${first.url}/openai/v1` });
  const created = await prefixed.batches.create({ input_file_id: raw.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const bare = await first.fetch(`/batches/${created.id}`, { key: owner.key });
  assert.equal(bare.status, 200);
  assert.equal(((await bare.json()) as { id: string }).id, created.id);
  const listed = await first.fetch('/batches?limit=1', { key: owner.key });
  assert.deepEqual(((await listed.json()) as { data: Array<{ id: string }> }).data.map((batch) => batch.id), [created.id]);
  await pollUntil(prefixed, created.id, ['completed']);
  // The prefix fixes the provider: the raw OpenAI id is not recorded on Azure → 404, nothing sent.
  const onAzure = first.client(owner.key, { baseURL: `${first.url}/azure/v1` });
  await assert.rejects(onAzure.batches.create({ input_file_id: raw.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), notFound);
  const cancelled = await first.fetch(`/batches/${created.id}/cancel`, { method: 'POST', key: owner.key });
  assert.equal(((await cancelled.json()) as { status: string }).status, 'completed', 'cancelling a finished batch answers it');
});

test('a finished batch another instance is recording is waited for, and taken over when that instance\'s lease ends', async () => {
  const owner = await first.newUser({ user_id: 'lease-waiter' });
  const client = second.client(owner.key);
  const file = await uploadBatchFile(client, batchLines(5, 'gpt-4o-mini-openai'), 'gpt-4o-mini-openai');
  // Slow enough that the lease below is set long before the provider finishes.
  first.emulators.openai.batches.setClock({ stepMs: 400 });
  let created;
  try {
    created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    // An instance that stopped while recording the outputs: its lease ends 2.5 s from now.
    await first.runtime.database.db.execute(sql`UPDATE batches SET lease_owner = 'stopped-instance', lease_until = now() + interval '2500 milliseconds' WHERE id = ${created.id}`);
    await waitFor(async () => (await providerBatchStatus(created!.id)) === 'completed', 'the provider to finish');
  } finally {
    first.emulators.openai.batches.setClock({ stepMs: 20 });
  }
  const [unrecorded] = await rows(first, sql`SELECT status, lease_owner FROM batches WHERE id = ${created.id}`);
  assert.deepEqual(unrecorded, { status: 'validating', lease_owner: 'stopped-instance' }, 'nobody recorded it meanwhile');
  const started = Date.now();
  const done = await client.batches.retrieve(created.id);
  assert.equal(done.status, 'completed');
  assert.ok(Date.now() - started >= 500, `the retrieve waited for the lease (${Date.now() - started} ms)`);
  assert.match(done.output_file_id!, /^file-uf_/);
  assert.equal((await outputLines(client, done.output_file_id!)).length, 5);
  const [row] = await rows(first, sql`SELECT lease_owner FROM batches WHERE id = ${created.id}`);
  assert.equal(row!.lease_owner, null, 'released once recorded');
});

test('a refresh that waits too long for another instance recording a finished batch answers "finalizing" and records nothing', async () => {
  const owner = await first.newUser({ user_id: 'lease-finalizing' });
  const client = first.client(owner.key);
  const file = await uploadBatchFile(client, batchLines(3, 'gpt-4o-mini-openai'), 'gpt-4o-mini-openai');
  first.emulators.openai.batches.setClock({ stepMs: 400 });
  let created;
  try {
    created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await first.runtime.database.db.execute(sql`UPDATE batches SET lease_owner = 'busy-instance', lease_until = now() + interval '1 hour' WHERE id = ${created.id}`);
    await waitFor(async () => (await providerBatchStatus(created!.id)) === 'completed', 'the provider to finish');
  } finally {
    first.emulators.openai.batches.setClock({ stepMs: 20 });
  }
  // The runtime's own refresher, with a short wait instead of the default 20 s.
  const repository = new BatchRepository(first.runtime.database.db);
  const refresher = new BatchRefresher(first.runtime.registry, repository, { intervalMs: 100, finishWaitMs: 300 });
  const started = Date.now();
  const answer = await refresher.refresh((await repository.find(created.id))!, testContext);
  assert.ok(Date.now() - started >= 300, 'it waited');
  assert.equal(answer.status, 'finalizing');
  assert.equal(answer.output_file_id, null);
  const [row] = await rows(first, sql`SELECT status, lease_owner FROM batches WHERE id = ${created.id}`);
  assert.deepEqual(row, { status: 'validating', lease_owner: 'busy-instance' }, 'nothing saved, the lease untouched');
  assert.equal((await rows(first, sql`SELECT count(*)::int AS n FROM batch_output_files WHERE batch_id = ${created.id}`))[0]!.n, 0);
  // The lease ends: the next retrieve records it.
  await first.runtime.database.db.execute(sql`UPDATE batches SET lease_until = now() - interval '1 second' WHERE id = ${created.id}`);
  assert.equal((await client.batches.retrieve(created.id)).status, 'completed');
});
