/**
 * The batches end-to-end suite (README "Batches"), run once per provider (OpenAI, Azure) with the
 * official openai client against the gateway and the emulators over real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import OpenAI, { toFile } from 'openai';
import type { AzureEmulator } from '../../src/emulators/azure-emulator.ts';
import type { OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import { startHarness, type Harness } from './gateway-harness.ts';

export interface BatchSuiteTarget {
  /** Model name in the config. */
  model: string;
  /** What the emulator's echo names as the model it ran (`openai:gpt-4o-mini`, `azure:<deployment>`). */
  echoLabel: string;
  /** The deployment's own model (OpenAI) or deployment name (Azure): what a raw file's lines name. */
  deploymentModel: string;
  /** The emulator the batch runs on. */
  emulator: (harness: Harness) => OpenAIEmulator | AzureEmulator;
  /** Path of the provider's batch collection on the emulator. */
  batchesPath: string;
}

export const BATCH_MODELS = (urls: { openai: string; azure: string }) => [
  { model_name: 'gpt-4o-mini-openai', litellm_params: { model: 'openai/gpt-4o-mini', api_base: urls.openai, api_key: 'sk-emulator-openai' }, model_info: { id: 'oai-1' } },
  { model_name: 'azure-gpt', litellm_params: { model: 'azure/my-gpt-deployment', api_base: urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' }, model_info: { id: 'azure-1' } },
];

export const notFound = (error: { status?: number }) => error.status === 404;

export function batchLines(count: number, model: string, prefix = 'req'): string {
  return Array.from({ length: count }, (_, index) =>
    JSON.stringify({ custom_id: `${prefix}-${index}`, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: `question ${index}` }] } }),
  ).join('\n');
}

export async function rows(harness: Harness, query: ReturnType<typeof sql>): Promise<Array<Record<string, unknown>>> {
  return ((await harness.runtime.database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
}

export async function uploadBatchFile(client: OpenAI, text: string, model: string): Promise<OpenAI.Files.FileObject> {
  return client.files.create({
    file: await toFile(Buffer.from(text), 'requests.jsonl', { type: 'application/jsonl' }),
    purpose: 'batch',
    // @ts-expect-error gateway field
    target_model_names: model,
  });
}

/** Polls retrieve until the batch reaches one of `statuses` (bounded). */
export async function pollUntil(client: OpenAI, id: string, statuses: readonly string[], timeoutMs = 30_000): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function outputLines(client: OpenAI, fileId: string): Promise<Array<{ custom_id: string; response: { status_code: number; body: { choices: Array<{ message: { content: string } }> } } }>> {
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

export function runBatchSuite(target: BatchSuiteTarget): void {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ config: (emulators) => ({ model_list: BATCH_MODELS(emulators.urls) }) });
  });
  after(async () => {
    await harness.close();
  });
  const batchCalls = (harness: Harness) => target.emulator(harness).calls.filter((call) => call.path.includes('/batches'));

  test(`a 1,000-line managed batch on ${target.model}: every custom_id answered through the unified output id`, async () => {
    const owner = await harness.newUser({ user_id: `owner-${target.model}` });
    const client = harness.client(owner.key);
    const file = await uploadBatchFile(client, batchLines(1000, target.model), target.model);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'nightly' } });
    assert.match(created.id, /^batch_uf_[A-Za-z0-9_-]{24}$/);
    assert.equal(created.input_file_id, file.id);
    assert.deepEqual(created.metadata, { job: 'nightly' });
    const [copy] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${file.id}`);
    const createCall = batchCalls(harness).find((call) => call.method === 'POST' && !call.path.endsWith('/cancel'));
    assert.equal((createCall!.json as { input_file_id: string }).input_file_id, copy!.provider_file_id, 'the deployment ran its own copy');

    const done = await pollUntil(client, created.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.errors));
    assert.deepEqual(done.request_counts, { total: 1000, completed: 1000, failed: 0 });
    assert.match(done.output_file_id!, /^file-uf_/);
    assert.equal(done.error_file_id, null);
    const lines = await outputLines(client, done.output_file_id!);
    assert.equal(lines.length, 1000);
    const byId = new Map(lines.map((line) => [line.custom_id, line]));
    for (let index = 0; index < 1000; index++) {
      const line = byId.get(`req-${index}`)!;
      assert.equal(line.response.status_code, 200);
      assert.equal(line.response.body.choices[0]!.message.content, `Echo from ${target.echoLabel}: question ${index}`);
    }
    const listed = await client.files.list();
    const output = listed.data.find((item) => item.id === done.output_file_id);
    assert.equal(output?.purpose, 'batch_output');
    assert.equal(output?.filename, `${created.id}_output.jsonl`);
    // Terminal: the stored copy is served without another provider call.
    const before = batchCalls(harness).length;
    assert.deepEqual(await client.batches.retrieve(created.id), done);
    assert.equal(batchCalls(harness).length, before);
    assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM batch_output_files WHERE batch_id = ${created.id}`))[0]!.n, 1);

    // Another user: 404 on the batch, its cancel and its output, and no provider call.
    const stranger = harness.client((await harness.newUser({ user_id: `stranger-${target.model}` })).key);
    const callsBefore = target.emulator(harness).calls.length;
    await assert.rejects(stranger.batches.retrieve(created.id), notFound);
    await assert.rejects(stranger.batches.cancel(created.id), notFound);
    await assert.rejects(stranger.files.content(done.output_file_id!), notFound);
    await assert.rejects(stranger.batches.retrieve('batch_uf_AAAAAAAAAAAAAAAAAAAAAAAA'), notFound);
    await assert.rejects(stranger.batches.retrieve('batch_abc123'), notFound);
    assert.deepEqual((await stranger.batches.list()).data, []);
    assert.equal(target.emulator(harness).calls.length, callsBefore, 'no provider call for a not-yours id');
    const response = await harness.fetch(`/v1/batches/${created.id}`, { key: (await harness.newUser({})).key });
    assert.equal(response.status, 404);
    assert.deepEqual(Object.keys(((await response.json()) as { error: object }).error).sort(), ['code', 'message', 'param', 'type']);
  });

  test(`list on ${target.model}: the caller's batches, newest first, keyset pages with exact has_more`, async () => {
    const owner = await harness.newUser({ user_id: `lister-${target.model}` });
    const client = harness.client(owner.key);
    const file = await uploadBatchFile(client, batchLines(3, target.model), target.model);
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      ids.push((await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    }
    const first = await client.batches.list({ limit: 2 });
    assert.deepEqual(first.data.map((batch) => batch.id), [ids[2], ids[1]]);
    assert.equal(first.has_more, true);
    const second = await client.batches.list({ limit: 2, after: ids[1] });
    assert.deepEqual(second.data.map((batch) => batch.id), [ids[0]]);
    assert.equal(second.has_more, false);
    const exact = await client.batches.list({ limit: 3 });
    assert.equal(exact.has_more, false, 'has_more is exact when the page ends with the last batch');
    const all: string[] = [];
    for await (const batch of client.batches.list({ limit: 1 })) all.push(batch.id);
    assert.deepEqual(all, [...ids].reverse());
    for (const id of ids) await pollUntil(client, id, ['completed']);
  });

  test(`cancel on ${target.model}: cancelling → cancelled, idempotent, partial output readable; delete blocked while running`, async () => {
    const owner = await harness.newUser({ user_id: `canceller-${target.model}` });
    const client = harness.client(owner.key);
    const emulator = target.emulator(harness);
    emulator.batches.setClock({ stepMs: 150, linesPerStep: 50 });
    try {
      const file = await uploadBatchFile(client, batchLines(1000, target.model), target.model);
      const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const running = await harness.fetch(`/v1/files/${file.id}`, { method: 'DELETE', key: owner.key });
      assert.equal(running.status, 409);
      const refusal = (await running.json()) as { error: { message: string; code: string } };
      assert.equal(refusal.error.code, 'file_in_use');
      assert.ok(refusal.error.message.includes(created.id), 'the 409 names the batch');
      const progressing = await pollUntilProgress(client, created.id);
      assert.equal(progressing.status, 'in_progress');
      const cancelling = await client.batches.cancel(created.id);
      assert.ok(['cancelling', 'cancelled'].includes(cancelling.status));
      const again = await client.batches.cancel(created.id);
      assert.ok(['cancelling', 'cancelled'].includes(again.status), 'cancel is idempotent');
      const cancelled = await pollUntil(client, created.id, ['cancelled']);
      assert.ok(cancelled.cancelled_at! >= cancelled.cancelling_at!);
      assert.match(cancelled.output_file_id!, /^file-uf_/);
      const lines = await outputLines(client, cancelled.output_file_id!);
      assert.ok(lines.length > 0 && lines.length < 1000, `partial output: ${lines.length} lines`);
      assert.equal(lines.length, cancelled.request_counts!.completed);
      for (const line of lines) assert.match(line.response.body.choices[0]!.message.content, new RegExp(`^Echo from ${target.echoLabel}: question \\d+$`));
      assert.equal((await client.batches.cancel(created.id)).status, 'cancelled', 'cancelling a cancelled batch answers it');
      // The batch has ended: its input may go now.
      const deleted = await client.files.delete(file.id);
      assert.equal(deleted.deleted, true);
    } finally {
      emulator.batches.setClock({ stepMs: 20, linesPerStep: 250 });
    }
  });

  test(`a malformed line on ${target.model}: the managed upload names it, nothing uploaded`, async () => {
    const owner = await harness.newUser({ user_id: `malformed-${target.model}` });
    const client = harness.client(owner.key);
    const uploadsBefore = target.emulator(harness).calls.filter((call) => call.method === 'POST' && call.path.endsWith('/files')).length;
    const bad = `${batchLines(2, target.model)}\n{"custom_id":"x","method":"POST"\n`;
    await assert.rejects(uploadBatchFile(client, bad, target.model), (error: { status?: number; message: string }) => error.status === 400 && /Line 3/.test(error.message));
    const missing = `${batchLines(1, target.model)}\n${JSON.stringify({ custom_id: 'y', method: 'POST', body: {} })}\n`;
    await assert.rejects(uploadBatchFile(client, missing, target.model), (error: { status?: number; message: string }) => error.status === 400 && /Line 2.*"url"/.test(error.message));
    const repeated = `${batchLines(2, target.model)}\n${batchLines(1, target.model)}`;
    await assert.rejects(uploadBatchFile(client, repeated, target.model), (error: { status?: number; message: string }) => error.status === 400 && /Line 3.*req-0/.test(error.message));
    const otherModel = batchLines(2, 'not-a-target');
    await assert.rejects(uploadBatchFile(client, otherModel, target.model), (error: { status?: number; message: string }) => error.status === 400 && /Line 1.*not-a-target/.test(error.message));
    await assert.rejects(uploadBatchFile(client, 'just text, not JSONL', target.model), (error: { status?: number; message: string }) => error.status === 400 && /Line 1/.test(error.message));
    const uploadsAfter = target.emulator(harness).calls.filter((call) => call.method === 'POST' && call.path.endsWith('/files')).length;
    assert.equal(uploadsAfter, uploadsBefore, 'nothing was uploaded anywhere');
    assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files WHERE owner_id = ${owner.user_id}`))[0]!.n, 0);
  });

  test(`a raw file with a malformed line on ${target.model}: the provider fails the plain batch, errors name the line`, async () => {
    const owner = await harness.newUser({ user_id: `raw-malformed-${target.model}` });
    const client = harness.client(owner.key);
    const text = `${batchLines(2, target.deploymentModel)}\nthis line is not JSON\n${batchLines(1, target.deploymentModel, 'tail')}\n`;
    // A plain upload routed to the model's deployment (x-litellm-model): its provider, its account.
    const raw = await client.files.create({ file: await toFile(Buffer.from(text), 'plain.jsonl'), purpose: 'batch' }, { headers: { 'x-litellm-model': target.model } });
    assert.doesNotMatch(raw.id, /uf_/);
    // Azure answers the upload `pending` and takes only processed files (docs/wire-formats.md §2.4): the
    // gateway waits for it (bounded) before creating the batch, as it does for managed copies.
    if (target.batchesPath.startsWith('/openai/')) assert.equal(raw.status, 'uploaded', 'Azure is still processing it');
    const created = await client.batches.create({ input_file_id: raw.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const createCall = batchCalls(harness).filter((call) => call.method === 'POST' && !call.path.endsWith('/cancel')).at(-1)!;
    assert.equal((createCall.json as { input_file_id: string }).input_file_id, raw.id, 'the raw id went upstream as it is');
    const failed = await pollUntil(client, created.id, ['failed', 'completed']);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.errors!.data![0]!.line, 3, 'the third line is named, as a number (Azure may send a string)');
    assert.equal(failed.output_file_id, null);
    assert.equal(failed.error_file_id, null);
  });

  test(`two instances retrieving one finished ${target.model} batch concurrently: the same object, output files made once`, async (t) => {
    if (!harness.database.url) return t.diagnostic('PGlite is one process: the two-instance case needs TEST_DATABASE_URL (Postgres)');
    const second = await startHarness({ config: (emulators) => ({ model_list: BATCH_MODELS(emulators.urls) }), emulators: harness.emulators, database: harness.database });
    try {
      const owner = await harness.newUser({ user_id: `concurrent-${target.model}` });
      const clients = [harness.client(owner.key), second.client(owner.key)];
      const file = await uploadBatchFile(clients[0]!, batchLines(200, target.model), target.model);
      const created = await clients[0]!.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const [row] = await rows(harness, sql`SELECT provider_batch_id FROM batches WHERE id = ${created.id}`);
      const upstream = target.emulator(harness).batches.batches.get(String(row!.provider_batch_id))!;
      // The provider finishes first; nobody has seen it yet, so every retrieve below races to record it.
      for (const deadline = Date.now() + 30_000; upstream.status !== 'completed'; await new Promise((resolve) => setTimeout(resolve, 20))) {
        assert.ok(Date.now() < deadline, `the provider batch is still ${upstream.status}`);
      }
      const answers = await Promise.all(Array.from({ length: 24 }, (_, index) => clients[index % 2]!.batches.retrieve(created.id)));
      for (const answer of answers) assert.deepEqual(answer, answers[0]);
      assert.equal(answers[0]!.status, 'completed');
      const mappings = await rows(harness, sql`SELECT file_id FROM batch_output_files WHERE batch_id = ${created.id}`);
      assert.deepEqual(mappings.map((mapping) => mapping.file_id), [answers[0]!.output_file_id]);
      const outputs = await rows(harness, sql`SELECT id FROM managed_files WHERE owner_id = ${owner.user_id} AND purpose = 'batch_output'`);
      assert.deepEqual(outputs.map((output) => output.id), [answers[0]!.output_file_id], 'no second managed file was made');
      assert.equal((await outputLines(clients[1]!, answers[0]!.output_file_id!)).length, 200);
    } finally {
      await second.close();
    }
  });
}

/** Polls until the batch has answered some lines (so a cancel lands part-way). */
async function pollUntilProgress(client: OpenAI, id: string): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (batch.status === 'in_progress' && batch.request_counts!.completed > 0) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} made no progress`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
