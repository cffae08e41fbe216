/**
 * A fine-tuning job survives a gateway restart (README "Batches"): the real CLI is stopped while the job
 * runs, started again on the same database, and its background refresher finishes the job with no
 * client ever retrieving it (the client only lists, which serves stored jobs): the result file is
 * the owner's managed file and the tuned model answers in chat.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { startCliGateway, type CliGateway } from './support/cli-gateway.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';
import { waitFor } from './support/wait-for.ts';

const MASTER = 'sk-ft-restart-master';
const TRAINING = ['x', 'y'].map((word) => JSON.stringify({ messages: [{ role: 'user', content: word }, { role: 'assistant', content: word }] })).join('\n');
let emulators: AllEmulators;
let database: TestDatabase;
let gateway: CliGateway | undefined;

const configText = (openaiBase: string, storage: string) => `
model_list:
  - model_name: tune-openai
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openaiBase}
      api_key: sk-emulator-openai
    model_info:
      id: oai-ft
general_settings:
  master_key: ${MASTER}
  ${storage}
  fine_tuning_refresh_interval_seconds: 0.2
`;

before(async () => {
  emulators = await startAllEmulators();
  database = await createTestDatabase();
});
after(async () => {
  await gateway?.stop();
  await emulators.close();
  await database.drop();
});

test('stopped while a fine-tuning job runs, started again: the job finishes without any client polling', async () => {
  const storage = database.url ? `database_url: ${database.url}` : `data_dir: ${join(mkdtempSync(join(tmpdir(), 'unifile-ft-restart-')), 'data')}`;
  const config = configText(emulators.urls.openai, storage);
  emulators.openai.fineTuning.stepMs = 1_500; // long enough that the first gateway stops mid-job
  gateway = await startCliGateway(config);
  const userResponse = await fetch(`${gateway.base}/user/new`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'ft-restart-owner' }) });
  const { key } = (await userResponse.json()) as { key: string };
  let client = new OpenAI({ apiKey: key, baseURL: `${gateway.base}/v1`, maxRetries: 0 });
  const training = await client.files.create({ file: await toFile(Buffer.from(TRAINING), 'train.jsonl'), purpose: 'fine-tune', target_model_names: 'tune-openai' } as never);
  const created = await client.fineTuning.jobs.create({ model: 'tune-openai', training_file: training.id });
  emulators.openai.fineTuning.stepMs = 40;
  assert.equal(await gateway.stop(), 0);
  const [stopped] = (await new OpenAI({ apiKey: 'sk-emulator-openai', baseURL: emulators.urls.openai, maxRetries: 0 }).fineTuning.jobs.list({ limit: 1 })).data;
  assert.notEqual(stopped!.status, 'succeeded', 'the gateway stopped while the job was still running');

  gateway = await startCliGateway(config);
  client = new OpenAI({ apiKey: key, baseURL: `${gateway.base}/v1`, maxRetries: 0 });
  const done = await waitFor(async () => {
    const [job] = (await client.fineTuning.jobs.list({ limit: 1 })).data;
    return job?.status === 'succeeded' && job.result_files.length === 1 ? job : undefined;
  }, 'the restarted gateway to finish the job');
  assert.equal(done.id, created.id);
  assert.ok(emulators.openai.calls.some((call) => call.method === 'GET' && call.path === `/v1/fine_tuning/jobs/${stopped!.id}`), 'the refresher asked the provider');
  assert.match(done.result_files[0]!, /^file-uf_/);
  assert.match(await (await client.files.content(done.result_files[0]!)).text(), /^step,/);
  const answer = await client.chat.completions.create({ model: done.fine_tuned_model!, messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(answer.choices[0]!.message.content);
});
