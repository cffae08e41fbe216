/**
 * The background fine-tuning refresher (README "Batches"), on OpenAI and Azure: a job nobody polls
 * finishes — its result files become managed files of its owner and its fine-tuned model is
 * usable in chat by the owner only, on the deployment that trained it — with two instances
 * sharing the work on one database, and an instance that stopped (its lease left behind) replaced
 * by another one.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import { config } from './support/fine-tuning-suite.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { testContext } from './support/silent-logger.ts';
import { waitFor } from './support/wait-for.ts';

const TRAINING = ['a', 'b'].map((word) => JSON.stringify({ messages: [{ role: 'user', content: word }, { role: 'assistant', content: word }] })).join('\n');
const general = { fine_tuning_refresh_interval_seconds: 0.1 };
let first: Harness;
let second: Harness;

before(async () => {
  first = await startHarness({ config, general });
  second = await startHarness({ config, general, emulators: first.emulators, database: first.database });
  first.emulators.openai.fineTuning.stepMs = 40;
  first.emulators.azure.fineTuning.stepMs = 40;
});
after(async () => {
  await second.close();
  await first.close();
});

async function rows(query: ReturnType<typeof sql>): Promise<Array<Record<string, unknown>>> {
  return ((await first.runtime.database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
}

const jobRetrieves = (calls: Array<{ method: string; path: string }>, providerJobId: string) =>
  calls.filter((call) => call.method === 'GET' && call.path.endsWith(`/fine_tuning/jobs/${providerJobId}`)).length;

test('jobs nobody polls finish in the background: managed result files, the tuned model in chat for the owner only', async () => {
  first.runtime.startBackgroundWork(testContext.logger);
  second.runtime.startBackgroundWork(testContext.logger);
  const owner = await first.newUser({ user_id: 'unpolled-tuner' });
  const client = first.client(owner.key);
  const stranger = second.client((await second.newUser({ user_id: 'unpolled-stranger' })).key);
  const targets = [
    { model: 'tune-openai', deployment: 'oai-ft', emulator: first.emulators.openai, chatPath: () => '/v1/chat/completions' },
    { model: 'tune-azure', deployment: 'azure-ft', emulator: first.emulators.azure, chatPath: (tuned: string) => `/openai/deployments/${encodeURIComponent(tuned)}/chat/completions` },
  ];
  for (const target of targets) {
    const training = await client.files.create({ file: await toFile(Buffer.from(TRAINING), 'train.jsonl'), purpose: 'fine-tune', target_model_names: target.model } as never);
    const created = await client.fineTuning.jobs.create({ model: target.model, training_file: training.id });
    // From here on the client only reads stored state: the list serves stored jobs, no provider call.
    const [stored] = await rows(sql`SELECT provider_job_id FROM fine_tuning_jobs WHERE id = ${created.id}`);
    const providerJobId = String(stored!.provider_job_id);
    const done = await waitFor(async () => {
      const [job] = (await client.fineTuning.jobs.list({ limit: 1 })).data;
      return job?.id === created.id && job.status === 'succeeded' && job.result_files.length === 1 ? job : undefined;
    }, `the ${target.model} job to finish in the background`);
    assert.ok(jobRetrieves(target.emulator.calls, providerJobId) > 0, 'the refresher asked the provider');
    assert.match(done.result_files[0]!, /^file-uf_/, 'the result file is a managed file');
    assert.ok(done.fine_tuned_model);

    // The owner reads the result file and finds it in their list; the stranger does not.
    const resultId = done.result_files[0]!;
    assert.match(await (await client.files.content(resultId)).text(), /^step,train_loss,/);
    assert.ok((await client.files.list({ purpose: 'fine-tune-results' })).data.some((file) => file.id === resultId));
    await assert.rejects(stranger.files.content(resultId), (error: { status?: number }) => error.status === 404);
    const [result] = await rows(sql`SELECT f.owner_id, c.deployment_id FROM managed_files f JOIN managed_file_copies c ON c.file_id = f.id WHERE f.id = ${resultId}`);
    assert.deepEqual(result, { owner_id: 'unpolled-tuner', deployment_id: target.deployment });

    // The tuned model answers the owner (on either instance) on the deployment that trained it.
    const tuned = done.fine_tuned_model!;
    for (const instance of [first, second]) {
      const answer = await instance.client(owner.key).chat.completions.create({ model: tuned, messages: [{ role: 'user', content: 'hello tuned' }] });
      assert.ok(answer.choices[0]!.message.content);
    }
    const chats = target.emulator.calls.filter((call) => call.path === target.chatPath(tuned) && call.status === 200 && (target.model !== 'tune-openai' || (call.json as { model?: string }).model === tuned));
    assert.equal(chats.length, 2, 'both chats went to the training deployment under the tuned name');
    const before = target.emulator.calls.length;
    await assert.rejects(stranger.chat.completions.create({ model: tuned, messages: [{ role: 'user', content: 'x' }] }), (error: { status?: number }) => error.status === 404);
    assert.equal(target.emulator.calls.length, before, 'nothing sent for a stranger');
    const retrieved = await client.fineTuning.jobs.retrieve(created.id);
    assert.deepEqual(retrieved, done, 'retrieve serves what the refresher stored');
  }
  const [{ leased }] = (await rows(sql`SELECT count(*)::int AS leased FROM fine_tuning_jobs WHERE lease_owner IS NOT NULL AND status = 'succeeded'`)) as Array<{ leased: number }>;
  assert.equal(leased, 0, 'finished jobs hold no lease');
});

test('a job leased by an instance that stopped is finished by another one once the lease ends', async () => {
  const owner = await first.newUser({ user_id: 'orphaned-tuner' });
  const client = first.client(owner.key);
  const training = await client.files.create({ file: await toFile(Buffer.from(TRAINING), 'train.jsonl'), purpose: 'fine-tune', target_model_names: 'tune-openai' } as never);
  first.emulators.openai.fineTuning.stepMs = 300; // done upstream after ~0.9 s, well inside the lease below
  const created = await client.fineTuning.jobs.create({ model: 'tune-openai', training_file: training.id });
  first.emulators.openai.fineTuning.stepMs = 40;
  // As if an instance had claimed it and died: its lease runs on and blocks the others. (Taken
  // when no live refresher holds the job, so none is mid-refresh when it starts.)
  await waitFor(async () => {
    const taken = await rows(sql`UPDATE fine_tuning_jobs SET lease_owner = 'fine-tuning-refresher-gone', lease_until = now() + interval '2 seconds' WHERE id = ${created.id} AND lease_owner IS NULL AND status <> 'succeeded' RETURNING id`);
    return taken.length === 1 ? true : undefined;
  }, 'the job to be free to lease');
  const [{ leasedUntil }] = (await rows(sql`SELECT lease_until AS "leasedUntil" FROM fine_tuning_jobs WHERE id = ${created.id}`)) as Array<{ leasedUntil: Date }>;
  const finishedAt = await waitFor(async () => {
    const [row] = await rows(sql`SELECT status FROM fine_tuning_jobs WHERE id = ${created.id}`);
    return row!.status === 'succeeded' ? Date.now() : undefined;
  }, 'another instance to finish the job');
  assert.ok(finishedAt >= new Date(leasedUntil).getTime(), 'not before the dead lease ended');
  const [mapped] = await rows(sql`SELECT count(*)::int AS n FROM fine_tuning_result_files WHERE job_id = ${created.id}`);
  assert.equal(mapped!.n, 1);
});
