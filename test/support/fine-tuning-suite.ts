/**
 * The fine-tuning end-to-end suite, run once per provider (test/fine-tuning-openai.test.ts,
 * test/fine-tuning-azure.test.ts): the official openai client against the gateway, the gateway
 * against a real emulator; asserts what the client got, what the emulator received and what the
 * database holds.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import OpenAI, { toFile } from 'openai';
import type { AllEmulators } from '../../src/emulators/start-all.ts';
import type { RecordedCall } from '../../src/emulators/emulator-kit.ts';
import type { EmulatedFineTuning } from '../../src/emulators/fine-tuning-jobs.ts';
import { startHarness, type Harness } from './gateway-harness.ts';

export interface SuiteOptions {
  provider: 'openai' | 'azure';
  /** The public model_name under test, and the model a job names upstream (OpenAI: the deployment's model; Azure: its base model). */
  modelName: string;
  deploymentModel: string;
  emulator(emulators: AllEmulators): { calls: RecordedCall[]; fineTuning: EmulatedFineTuning; url: string };
  /** The emulator's path of the jobs collection, e.g. /v1/fine_tuning/jobs. */
  jobsPath: string;
  /** A recorded chat call answered by the fine-tuned model `name`. */
  chatCallFor(call: RecordedCall, name: string): boolean;
}

const TRAINING = ['hi', 'there', 'friend'].map((word) => JSON.stringify({ messages: [{ role: 'user', content: word }, { role: 'assistant', content: word.toUpperCase() }] })).join('\n');
const notFound = (error: { status?: number }) => error.status === 404;
const status = (code: number, pattern?: RegExp) => (error: { status?: number; message?: string; error?: unknown }) =>
  error.status === code && (pattern === undefined || pattern.test(String(error.message)));

export function config(emulators: AllEmulators) {
  return {
    files_settings: [
      { custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
      { custom_llm_provider: 'azure', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' },
    ],
    model_list: [
      { model_name: 'tune-openai', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }, model_info: { id: 'oai-ft' } },
      // Azure fine-tunes the base model the deployment serves (LiteLLM's model_info.base_model).
      { model_name: 'tune-azure', litellm_params: { model: 'azure/my-ft-deployment', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' }, model_info: { id: 'azure-ft', base_model: 'azure/gpt-4o-mini-2024-07-18' } },
      { model_name: 'azure-no-base', litellm_params: { model: 'azure/serving-only', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' } },
      { model_name: 'other-model', litellm_params: { model: 'openai/gpt-4o', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } },
    ],
  };
}

export function fineTuningSuite(options: SuiteOptions): void {
  let harness: Harness;
  let emulator: ReturnType<SuiteOptions['emulator']>;
  const jobCalls = () => emulator.calls.filter((call) => call.path.includes('/fine_tuning/'));
  const creates = () => jobCalls().filter((call) => call.method === 'POST' && call.path === options.jobsPath);

  before(async () => {
    harness = await startHarness({ config: config });
    emulator = options.emulator(harness.emulators);
    emulator.fineTuning.stepMs = 40;
  });
  after(async () => harness.close());

  async function rows(query: ReturnType<typeof sql>) {
    return ((await harness.runtime.database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
  }

  async function upload(client: OpenAI, purpose: 'fine-tune' | 'batch' = 'fine-tune', body = TRAINING): Promise<string> {
    const file = await client.files.create({ file: await toFile(Buffer.from(body), 'train.jsonl'), purpose, target_model_names: options.modelName } as never);
    return file.id;
  }

  async function finished(client: OpenAI, id: string): Promise<OpenAI.FineTuning.FineTuningJob> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const job = await client.fineTuning.jobs.retrieve(id);
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
      assert.ok(Date.now() < deadline, `job ${id} still ${job.status}`);
      await delay(25); // the emulator's clock moves on; poll like a client does
    }
  }

  test(`${options.provider}: create, ownership, progress, events, result file, chat under the tuned name`, async () => {
    const owner = await harness.newUser({ user_id: `${options.provider}-owner` });
    const other = await harness.newUser({ user_id: `${options.provider}-other` });
    const client = harness.client(owner.key);
    const stranger = harness.client(other.key);
    const training = await upload(client);
    const validation = await upload(client);

    const job = await client.fineTuning.jobs.create({
      model: options.modelName,
      training_file: training,
      validation_file: validation,
      suffix: 'mine',
      hyperparameters: { n_epochs: 2 },
      metadata: { team: 'blue' },
    });
    assert.match(job.id, /^ftjob-uf_[A-Za-z0-9_-]{24}$/);
    assert.equal(job.object, 'fine_tuning.job');
    assert.equal(job.model, options.modelName);
    assert.equal(job.training_file, training);
    assert.equal(job.validation_file, validation);
    assert.equal(job.status, 'validating_files');
    assert.equal(job.fine_tuned_model, null);

    // Upstream saw the deployment's own model and file ids, never a unified id.
    const [copies] = [await rows(sql`SELECT file_id, provider_file_id FROM managed_file_copies WHERE file_id IN (${training}, ${validation})`)];
    const providerId = (id: string) => String(copies!.find((row) => row.file_id === id)!.provider_file_id);
    const sent = creates().at(-1)!.json as Record<string, unknown>;
    assert.deepEqual(sent, {
      model: options.deploymentModel,
      training_file: providerId(training),
      validation_file: providerId(validation),
      hyperparameters: { n_epochs: 2 },
      suffix: 'mine',
      metadata: { team: 'blue' },
    });
    const [stored] = await rows(sql`SELECT owner_id, provider, deployment_id, plain, provider_job_id FROM fine_tuning_jobs WHERE id = ${job.id}`);
    assert.equal(stored!.owner_id, `${options.provider}-owner`);
    assert.equal(stored!.plain, false);
    assert.ok(!job.id.includes(String(stored!.provider_job_id)));

    // Another user: 404 for every call and no provider call at all.
    const before = jobCalls().length;
    await assert.rejects(stranger.fineTuning.jobs.retrieve(job.id), notFound);
    await assert.rejects(stranger.fineTuning.jobs.cancel(job.id), notFound);
    await assert.rejects(stranger.fineTuning.jobs.listEvents(job.id), notFound);
    assert.deepEqual((await stranger.fineTuning.jobs.list()).data, []);
    await assert.rejects(client.fineTuning.jobs.retrieve('ftjob-uf_AAAAAAAAAAAAAAAAAAAAAAAA'), notFound);
    await assert.rejects(client.fineTuning.jobs.retrieve(String(stored!.provider_job_id)), notFound, 'a raw provider job id is not a gateway id');
    assert.equal(jobCalls().length, before, 'no provider call for unknown or foreign job ids');

    const done = await finished(client, job.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.id, job.id);
    assert.ok(done.fine_tuned_model, 'a fine-tuned model name');
    assert.ok(done.trained_tokens! > 0);
    assert.equal(done.result_files.length, 1);
    assert.match(done.result_files[0]!, /^file-uf_/);

    // Terminal: served from the database.
    const polled = jobCalls().length;
    assert.deepEqual(await client.fineTuning.jobs.retrieve(job.id), done);
    assert.equal(jobCalls().length, polled);

    // Events, newest first, paged by the SDK.
    const events = [];
    for await (const event of client.fineTuning.jobs.listEvents(job.id, { limit: 2 })) events.push(event);
    const messages = events.map((event) => event.message);
    assert.equal(messages[0], 'The job has successfully completed');
    assert.ok(messages.includes('Fine-tuning job started'));
    assert.equal(messages.at(-1), 'Created fine-tuning job');

    // The result file is a managed file of the owner, readable through its unified id.
    const resultId = done.result_files[0]!;
    const content = await (await client.files.content(resultId)).text();
    assert.match(content, /^step,train_loss,/);
    const meta = await client.files.retrieve(resultId);
    assert.equal(meta.purpose, 'fine-tune-results');
    assert.ok((await client.files.list({ purpose: 'fine-tune-results' })).data.some((file) => file.id === resultId));
    await assert.rejects(stranger.files.content(resultId), notFound);

    // Chat under the tuned name: the owner only, on the deployment that trained it.
    const tuned = done.fine_tuned_model!;
    const answer = await client.chat.completions.create({ model: tuned, messages: [{ role: 'user', content: 'hello tuned' }] });
    assert.ok(answer.choices[0]!.message.content);
    assert.ok(emulator.calls.some((call) => options.chatCallFor(call, tuned)), 'the emulator answered under the tuned name');
    // Counted by path: the emulator records a file download when its stream closes, which under
    // load can land after the download above has been read.
    const chatCalls = () => emulator.calls.filter((call) => /\/chat\/completions$/.test(call.path)).length;
    const chats = chatCalls();
    await assert.rejects(stranger.chat.completions.create({ model: tuned, messages: [{ role: 'user', content: 'x' }] }), notFound);
    assert.equal(chatCalls(), chats, 'no chat sent for a stranger');
    const models = (await client.models.list()).data.map((model) => model.id);
    assert.ok(models.includes(tuned));
    assert.ok(!(await stranger.models.list()).data.some((model) => model.id === tuned));
  });

  test(`${options.provider}: checkpoints — listed newest first with the gateway's job id, cursor paging passed through, others 404 with no provider call`, async () => {
    const owner = await harness.newUser({ user_id: `${options.provider}-checkpoints` });
    const other = await harness.newUser({});
    const client = harness.client(owner.key);
    const job = await client.fineTuning.jobs.create({ model: options.modelName, training_file: await upload(client) });
    const done = await finished(client, job.id);
    assert.equal(done.status, 'succeeded');
    const [stored] = await rows(sql`SELECT provider_job_id FROM fine_tuning_jobs WHERE id = ${job.id}`);
    const providerJob = String(stored!.provider_job_id);
    const checkpointCalls = () => jobCalls().filter((call) => call.path.endsWith('/checkpoints'));

    const before = checkpointCalls().length;
    const listed = [];
    for await (const checkpoint of client.fineTuning.jobs.checkpoints.list(job.id, { limit: 2 })) listed.push(checkpoint);
    assert.deepEqual(listed.map((checkpoint) => checkpoint.step_number), [3, 2, 1], 'newest first, every page');
    for (const checkpoint of listed) {
      assert.equal(checkpoint.object, 'fine_tuning.job.checkpoint');
      assert.match(checkpoint.id, /^ftckpt_/);
      assert.equal(checkpoint.fine_tuning_job_id, job.id, "the gateway's job id, not the provider's");
      assert.equal(checkpoint.fine_tuned_model_checkpoint, `${done.fine_tuned_model}:ckpt-step-${checkpoint.step_number}`);
      assert.equal(typeof checkpoint.metrics.train_loss, 'number');
    }
    // Upstream: the provider's own job id, the client's cursor and page size as sent.
    const sent = checkpointCalls().slice(before);
    assert.equal(sent.length, 2, 'two pages');
    assert.equal(sent[0]!.path, `${options.jobsPath}/${providerJob}/checkpoints`);
    assert.equal(sent[0]!.query.limit, '2');
    assert.equal(sent[1]!.query.after, listed[1]!.id);
    const page = await client.fineTuning.jobs.checkpoints.list(job.id);
    assert.equal(page.data.length, 3);
    assert.equal(checkpointCalls().at(-1)!.query.limit, '10', "OpenAI's default page size");

    // The same under the other route forms; a wrong provider prefix, a stranger, an unknown id: 404, no call.
    for (const path of [`/fine_tuning/jobs/${job.id}/checkpoints?limit=1`, `/${options.provider}/v1/fine_tuning/jobs/${job.id}/checkpoints?limit=1`]) {
      const response = await harness.fetch(path, { key: owner.key });
      assert.equal(response.status, 200, path);
      const body = (await response.json()) as { data: Array<{ id: string }>; first_id: string; last_id: string; has_more: boolean };
      assert.deepEqual([body.data.length, body.first_id, body.last_id, body.has_more], [1, listed[0]!.id, listed[0]!.id, true], path);
    }
    const calls = checkpointCalls().length;
    const otherProvider = options.provider === 'openai' ? 'azure' : 'openai';
    const wrong = await harness.fetch(`/${otherProvider}/v1/fine_tuning/jobs/${job.id}/checkpoints`, { key: owner.key });
    assert.equal(wrong.status, 404);
    await assert.rejects(harness.client(other.key).fineTuning.jobs.checkpoints.list(job.id), notFound);
    await assert.rejects(client.fineTuning.jobs.checkpoints.list('ftjob-uf_AAAAAAAAAAAAAAAAAAAAAAAA'), notFound);
    await assert.rejects(client.fineTuning.jobs.checkpoints.list(providerJob), notFound, 'a raw provider job id is not a gateway id');
    assert.equal(checkpointCalls().length, calls, 'no provider call');
    await assert.rejects(client.fineTuning.jobs.checkpoints.list(job.id, { limit: 101 }), status(400));
  });

  test(`${options.provider}: result files are made once under concurrent retrieves`, async () => {
    const owner = await harness.newUser({});
    const client = harness.client(owner.key);
    const job = await client.fineTuning.jobs.create({ model: options.modelName, training_file: await upload(client) });
    const [stored] = await rows(sql`SELECT provider_job_id FROM fine_tuning_jobs WHERE id = ${job.id}`);
    // Wait on the emulator itself (not the gateway) until the provider job succeeded.
    const direct = emulator.fineTuning;
    const deadline = Date.now() + 10_000;
    while (!(await direct.advance().then(() => direct.tunedModels().length > 0 && directStatus(direct, String(stored!.provider_job_id)) === 'succeeded'))) {
      assert.ok(Date.now() < deadline);
      await delay(20);
    }
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.fineTuning.jobs.retrieve(job.id)));
    assert.ok(answers.every((answer) => answer.status === 'succeeded'));
    assert.equal(new Set(answers.map((answer) => JSON.stringify(answer.result_files))).size, 1, 'every retrieve names the same result file');
    const made = await rows(sql`SELECT count(*)::int AS n FROM fine_tuning_result_files WHERE job_id = ${job.id}`);
    assert.equal(made[0]!.n, 1);
    const managed = await rows(sql`SELECT count(*)::int AS n FROM managed_files WHERE purpose = 'fine-tune-results' AND id = ${answers[0]!.result_files[0]!}`);
    assert.equal(managed[0]!.n, 1);
  });

  test(`${options.provider}: cancel (idempotent) and list paging`, async () => {
    const owner = await harness.newUser({});
    const client = harness.client(owner.key);
    emulator.fineTuning.stepMs = 600_000;
    try {
      const training = await upload(client);
      const ids: string[] = [];
      for (let index = 0; index < 3; index += 1) ids.push((await client.fineTuning.jobs.create({ model: options.modelName, training_file: training })).id);
      const cancelled = await client.fineTuning.jobs.cancel(ids[1]!);
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(cancelled.id, ids[1]);
      const cancels = jobCalls().filter((call) => call.path.endsWith('/cancel')).length;
      assert.equal((await client.fineTuning.jobs.cancel(ids[1]!)).status, 'cancelled');
      assert.equal(jobCalls().filter((call) => call.path.endsWith('/cancel')).length, cancels, 'a cancelled job is not cancelled again upstream');
      const events = await client.fineTuning.jobs.listEvents(ids[1]!);
      assert.equal(events.data[0]!.message, 'Fine-tuning job cancelled');

      const first = await client.fineTuning.jobs.list({ limit: 2 });
      assert.deepEqual(first.data.map((job) => job.id), [ids[2], ids[1]]);
      assert.equal(first.has_more, true);
      const second = await client.fineTuning.jobs.list({ limit: 2, after: ids[1]! });
      assert.deepEqual(second.data.map((job) => job.id), [ids[0]]);
      assert.equal(second.has_more, false);
      const all = [];
      for await (const job of client.fineTuning.jobs.list({ limit: 1 })) all.push(job.id);
      assert.deepEqual(all, [...ids].reverse());
      const exact = await client.fineTuning.jobs.list({ limit: 3 });
      assert.equal(exact.has_more, false, 'has_more is exact on a full last page');
      // Without /v1 and with the provider prefix.
      const bare = await harness.fetch(`/fine_tuning/jobs/${ids[0]}`, { key: owner.key });
      assert.equal(bare.status, 200);
      const prefixed = await harness.fetch(`/${options.provider}/v1/fine_tuning/jobs?limit=5`, { key: owner.key });
      assert.deepEqual(((await prefixed.json()) as { data: Array<{ id: string }> }).data.map((job) => job.id), [...ids].reverse());
      const elsewhere = options.provider === 'openai' ? 'azure' : 'openai';
      assert.equal((await harness.fetch(`/${elsewhere}/v1/fine_tuning/jobs/${ids[0]}`, { key: owner.key })).status, 404);
      // A key of the same user limited to another model reaches none of these jobs (README "Security").
      const generated = await harness.fetch('/key/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: owner.user_id, models: ['other-model'] }) });
      const limited = harness.client(((await generated.json()) as { key: string }).key);
      const calls = jobCalls().length;
      await assert.rejects(limited.fineTuning.jobs.retrieve(ids[0]!), notFound);
      await assert.rejects(limited.fineTuning.jobs.cancel(ids[0]!), notFound);
      assert.deepEqual((await limited.fineTuning.jobs.list()).data, []);
      assert.equal(jobCalls().length, calls);
      for (const id of [ids[0]!, ids[2]!]) await client.fineTuning.jobs.cancel(id);
      const document = (await (await harness.fetch('/openapi.json')).json()) as { paths: Record<string, unknown> };
      assert.ok(document.paths['/v1/fine_tuning/jobs/{fine_tuning_job_id}/events'], 'the routes are documented');
    } finally {
      emulator.fineTuning.stepMs = 40;
    }
  });

  test(`${options.provider}: bad input is a 4xx envelope and nothing is created upstream`, async () => {
    const owner = await harness.newUser({});
    const other = await harness.newUser({});
    const client = harness.client(owner.key);
    const training = await upload(client);
    const theirs = await upload(harness.client(other.key));
    const batch = await upload(client, 'batch', JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: options.modelName, messages: [] } }));
    const createsBefore = creates().length;
    const [{ n: rowsBefore }] = (await rows(sql`SELECT count(*)::int AS n FROM fine_tuning_jobs`)) as Array<{ n: number }>;
    const create = (body: Record<string, unknown>) => client.fineTuning.jobs.create(body as never);
    await assert.rejects(create({ model: 'no-such-model', training_file: training }), status(400, /no-such-model/));
    await assert.rejects(create({ model: options.modelName, training_file: theirs }), status(404, /No such File/));
    await assert.rejects(create({ model: options.modelName, training_file: 'file-uf_AAAAAAAAAAAAAAAAAAAAAAAA' }), status(404));
    await assert.rejects(create({ model: options.modelName, training_file: batch }), status(400, /purpose 'batch'/));
    await assert.rejects(create({ model: options.modelName, training_file: training, validation_file: batch }), status(400, /purpose 'batch'/));
    await assert.rejects(create({ model: options.modelName, training_file: training, validation_file: theirs }), status(404));
    await assert.rejects(create({ training_file: training }), status(400, /'model'/));
    await assert.rejects(create({ model: options.modelName }), status(400, /'training_file'/));
    await assert.rejects(create({ model: options.modelName, training_file: training, suffix: 'a\u0000b' }), status(400, /NUL/));
    await assert.rejects(create({ model: options.modelName, training_file: training, suffix: 'x'.repeat(65) }), status(400, /suffix/));
    await assert.rejects(create({ model: 'other-model', training_file: training }), status(400, /not available for model/));
    await assert.rejects(create({ model: options.modelName, training_file: 'file-rawnotmine123' }), status(404));
    const raw = await harness.fetch('/v1/fine_tuning/jobs', { key: owner.key, method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
    assert.equal(raw.status, 400);
    const envelope = (await raw.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(envelope.error).sort(), ['code', 'message', 'param', 'type']);
    const nul = await harness.fetch('/v1/fine_tuning/jobs/ftjob-%00', { key: owner.key });
    assert.equal(nul.status, 400);
    assert.equal(creates().length, createsBefore, 'nothing was created upstream');
    const [{ n: rowsAfter }] = (await rows(sql`SELECT count(*)::int AS n FROM fine_tuning_jobs`)) as Array<{ n: number }>;
    assert.equal(rowsAfter, rowsBefore);
  });

  if (options.provider === 'azure') {
    test('azure: a deployment whose base model the config does not name cannot be fine-tuned (400 naming the key), nothing sent', async () => {
      const owner = await harness.newUser({});
      const client = harness.client(owner.key);
      const training = (await client.files.create({ file: await toFile(Buffer.from(TRAINING), 'train.jsonl'), purpose: 'fine-tune', target_model_names: 'azure-no-base' } as never)).id;
      const createsBefore = creates().length;
      await assert.rejects(client.fineTuning.jobs.create({ model: 'azure-no-base', training_file: training }), status(400, /azure-no-base.*model_info\.base_model/));
      assert.equal(creates().length, createsBefore);
    });
  }

  test(`${options.provider}: a raw provider file id recorded as the caller's makes a plain job on that provider`, async () => {
    const owner = await harness.newUser({});
    const other = await harness.newUser({});
    const plainClient = (key: string) => harness.client(key, { baseURL: `${harness.url}/${options.provider}/v1` });
    const file = await plainClient(owner.key).files.create({ file: await toFile(Buffer.from(TRAINING), 'raw.jsonl'), purpose: 'fine-tune' });
    assert.doesNotMatch(file.id, /uf_/);
    const createsBefore = creates().length;
    await assert.rejects(harness.client(other.key).fineTuning.jobs.create({ model: options.modelName, training_file: file.id }), notFound);
    assert.equal(creates().length, createsBefore);
    // Azure answers the upload `pending`: the gateway waits until it is processed (bounded).
    if (options.provider === 'azure') assert.equal(file.status, 'uploaded');
    const client = harness.client(owner.key);
    const job = await client.fineTuning.jobs.create({ model: options.modelName, training_file: file.id });
    assert.match(job.id, /^ftjob-uf_/);
    assert.equal(job.training_file, file.id);
    assert.equal((creates().at(-1)!.json as { training_file: string }).training_file, file.id);
    const [stored] = await rows(sql`SELECT plain FROM fine_tuning_jobs WHERE id = ${job.id}`);
    assert.equal(stored!.plain, true);
    const done = await finished(client, job.id);
    assert.equal(done.status, 'succeeded');
    const resultId = done.result_files[0]!;
    assert.doesNotMatch(resultId, /uf_/, 'a plain job reports raw result ids');
    const content = await (await plainClient(owner.key).files.content(resultId)).text();
    assert.match(content, /^step,/);
    await assert.rejects(plainClient(other.key).files.content(resultId), notFound);
  });
}

function directStatus(fineTuning: EmulatedFineTuning, id: string): string | undefined {
  return fineTuning.status(id);
}
