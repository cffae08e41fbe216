/**
 * The emulators' fine-tuning jobs (docs/wire-formats.md §1.11), driven by the official openai client
 * straight at the emulators: validation, progression with events, result file, failure of a bad
 * training file, cancel, paging, and chat accepting a tuned model only once it exists.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { startAzureEmulator, type AzureEmulator } from '../../src/emulators/azure-emulator.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';

const TRAINING = JSON.stringify({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] });
let openai: OpenAIEmulator;
let azure: AzureEmulator;
let client: OpenAI;
let azureClient: AzureOpenAI;

before(async () => {
  openai = await startOpenAIEmulator({ models: ['gpt-4o-mini'], fineTuningStepMs: 30 });
  azure = await startAzureEmulator({ deployments: ['my-ft'], fineTuningStepMs: 30 });
  client = new OpenAI({ apiKey: openai.apiKey, baseURL: openai.apiBase, maxRetries: 0 });
  azureClient = new AzureOpenAI({ endpoint: azure.url, apiKey: azure.apiKey, apiVersion: '2024-10-21', maxRetries: 0 });
});
after(async () => {
  await openai.close();
  await azure.close();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    assert.ok(Date.now() < deadline, 'condition not reached in time');
    await delay(15);
  }
}

const terminal = (job: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(job.status);

test('OpenAI: a job runs to success with events, a result CSV, and a tuned model chat accepts only then', async () => {
  const file = await client.files.create({ file: await toFile(Buffer.from(TRAINING), 't.jsonl'), purpose: 'fine-tune' });
  const job = await client.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: file.id, suffix: 'demo' });
  assert.match(job.id, /^ftjob-[A-Za-z0-9]{24}$/);
  assert.equal(job.status, 'validating_files');
  await assert.rejects(client.chat.completions.create({ model: 'ft:gpt-4o-mini:emulator-org:demo:zzzzzzzz', messages: [{ role: 'user', content: 'x' }] }), { status: 404 });
  const done = await until(() => client.fineTuning.jobs.retrieve(job.id), terminal);
  assert.equal(done.status, 'succeeded');
  assert.match(done.fine_tuned_model!, /^ft:gpt-4o-mini:emulator-org:demo:[A-Za-z0-9]{8}$/);
  const result = await client.files.retrieve(done.result_files[0]!);
  assert.equal(result.purpose, 'fine-tune-results');
  assert.match(await (await client.files.content(result.id)).text(), /^step,train_loss/);
  const events = (await client.fineTuning.jobs.listEvents(job.id)).data.map((event) => event.message);
  assert.deepEqual(events, ['The job has successfully completed', 'New fine-tuned model created', 'Fine-tuning job started', 'Fine-tuning job queued', 'Created fine-tuning job']);
  const page = await client.fineTuning.jobs.listEvents(job.id, { limit: 2 });
  assert.equal(page.data.length, 2);
  assert.equal(page.has_more, true);
  const answer = await client.chat.completions.create({ model: done.fine_tuned_model!, messages: [{ role: 'user', content: 'hello' }] });
  assert.equal(answer.model, done.fine_tuned_model);
  await assert.rejects(client.fineTuning.jobs.cancel(job.id), { status: 400 });
});

test('OpenAI: missing and wrong files, unknown models and bad fields are 400 and create nothing', async () => {
  const batch = await client.files.create({ file: await toFile(Buffer.from('{}'), 'b.jsonl'), purpose: 'batch' });
  const before = (await client.fineTuning.jobs.list()).data.length;
  const create = (body: Record<string, unknown>) => client.fineTuning.jobs.create(body as never);
  await assert.rejects(create({ model: 'gpt-4o-mini', training_file: 'file-nope' }), (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400 && error.param === 'training_file');
  await assert.rejects(create({ model: 'gpt-4o-mini', training_file: batch.id }), (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400 && /purpose/.test(error.message));
  await assert.rejects(create({ model: 'gpt-9', training_file: batch.id }), (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400 && error.param === 'model');
  await assert.rejects(create({ training_file: batch.id }), (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400 && error.param === 'model');
  assert.equal((await client.fineTuning.jobs.list()).data.length, before);
  await assert.rejects(client.fineTuning.jobs.retrieve('ftjob-unknown'), { status: 404 });
});

test('OpenAI: a training file that is not chat JSONL fails the job; cancel and list paging', async () => {
  const bad = await client.files.create({ file: await toFile(Buffer.from('not json\n'), 'bad.jsonl'), purpose: 'fine-tune' });
  const created = await client.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: bad.id });
  const job = await until(() => client.fineTuning.jobs.retrieve(created.id), terminal);
  assert.equal(job.status, 'failed');
  assert.equal(job.error?.code, 'invalid_training_file');

  openai.fineTuning.stepMs = 600_000;
  const good = await client.files.create({ file: await toFile(Buffer.from(TRAINING), 't.jsonl'), purpose: 'fine-tune' });
  const slow = await client.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: good.id });
  const cancelled = await client.fineTuning.jobs.cancel(slow.id);
  assert.equal(cancelled.status, 'cancelled');
  assert.equal((await client.fineTuning.jobs.cancel(slow.id)).status, 'cancelled');
  openai.fineTuning.stepMs = 30;
  const all = (await client.fineTuning.jobs.list({ limit: 100 })).data.map((item) => item.id);
  assert.equal(all[0], slow.id, 'newest first');
  const first = await client.fineTuning.jobs.list({ limit: 1 });
  assert.equal(first.has_more, true);
  const second = await client.fineTuning.jobs.list({ limit: 100, after: first.data[0]!.id });
  assert.deepEqual(second.data.map((item) => item.id), all.slice(1));
  assert.equal(second.has_more, false);
});

test('Azure: unprocessed files and deployment names are refused; the tuned model answers as a deployment once the job succeeded', async () => {
  const file = await azureClient.files.create({ file: await toFile(Buffer.from(TRAINING), 't.jsonl'), purpose: 'fine-tune' });
  assert.equal(file.status, 'pending');
  await assert.rejects(azureClient.fineTuning.jobs.create({ model: 'gpt-4o-mini-2024-07-18', training_file: file.id }), (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400 && /processed/.test(error.message));
  await until(() => azureClient.files.retrieve(file.id), (value) => value.status === 'processed');
  // A deployment (my-ft) is not a base model: Azure tunes model ids only.
  await assert.rejects(
    azureClient.fineTuning.jobs.create({ model: 'my-ft', training_file: file.id }),
    (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400 && /base model does not support fine-tuning/.test(error.message),
  );
  const job = await azureClient.fineTuning.jobs.create({ model: 'gpt-4o-mini-2024-07-18', training_file: file.id });
  assert.match(job.id, /^ftjob-[0-9a-f]{32}$/);
  const done = await until(() => azureClient.fineTuning.jobs.retrieve(job.id), terminal);
  assert.equal(done.status, 'succeeded');
  assert.match(done.fine_tuned_model!, /^gpt-4o-mini-2024-07-18\.ft-[0-9a-f]{32}$/);
  const tuned = new AzureOpenAI({ endpoint: azure.url, apiKey: azure.apiKey, apiVersion: '2024-10-21', deployment: done.fine_tuned_model!, maxRetries: 0 });
  const answer = await tuned.chat.completions.create({ model: done.fine_tuned_model!, messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(answer.choices[0]!.message.content);
  assert.ok(azure.calls.some((call) => call.path === `/openai/deployments/${done.fine_tuned_model}/chat/completions` && call.status === 200));
  const v1 = new OpenAI({ apiKey: azure.apiKey, baseURL: `${azure.url}/openai/v1`, maxRetries: 0 });
  assert.equal((await v1.fineTuning.jobs.retrieve(job.id)).status, 'succeeded', 'the v1 surface sees the same job');
});
