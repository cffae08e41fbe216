/**
 * A batch survives a gateway restart (README "Batches"): the real CLI is stopped while the batch runs,
 * started again on the same database, and its background refresher finishes the batch with
 * no client ever retrieving it (the client only lists, which serves stored objects).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { batchLines, outputLines, uploadBatchFile } from './support/batch-suite.ts';
import { startCliGateway, type CliGateway } from './support/cli-gateway.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';
import { waitFor } from './support/wait-for.ts';

const MASTER = 'sk-restart-master';
let emulators: AllEmulators;
let database: TestDatabase;
let gateway: CliGateway | undefined;

const configText = (openaiBase: string, storage: string) => `
model_list:
  - model_name: gpt-4o-mini-openai
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openaiBase}
      api_key: sk-emulator-openai
general_settings:
  master_key: ${MASTER}
  ${storage}
  batch_refresh_interval_seconds: 0.2
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

test('stopped while a batch runs, started again: the batch completes without any client polling', async () => {
  const storage = database.url ? `database_url: ${database.url}` : `data_dir: ${join(mkdtempSync(join(tmpdir(), 'unifile-restart-')), 'data')}`;
  const config = configText(emulators.urls.openai, storage);
  emulators.openai.batches.setClock({ stepMs: 100, linesPerStep: 50 });
  gateway = await startCliGateway(config);
  const userResponse = await fetch(`${gateway.base}/user/new`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'restart-owner' }) });
  const { key } = (await userResponse.json()) as { key: string };
  let client = new OpenAI({ apiKey: key, baseURL: `${gateway.base}/v1`, maxRetries: 0 });
  const file = await uploadBatchFile(client, batchLines(1000, 'gpt-4o-mini-openai'), 'gpt-4o-mini-openai');
  const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const providerBatch = [...emulators.openai.batches.batches.values()].at(-1)!;
  await waitFor(async () => (providerBatch.status === 'in_progress' ? true : undefined), 'the batch to run');
  assert.equal(await gateway.stop(), 0);
  assert.notEqual(providerBatch.status, 'completed', 'the gateway stopped while the batch was still running');

  gateway = await startCliGateway(config);
  client = new OpenAI({ apiKey: key, baseURL: `${gateway.base}/v1`, maxRetries: 0 });
  const done = await waitFor(async () => {
    const [batch] = (await client.batches.list({ limit: 1 })).data;
    return batch?.status === 'completed' ? batch : undefined;
  }, 'the restarted gateway to finish the batch');
  assert.equal(done.id, created.id);
  assert.deepEqual(done.request_counts, { total: 1000, completed: 1000, failed: 0 });
  const retrievedByGateway = emulators.openai.calls.filter((call) => call.method === 'GET' && call.path === `/v1/batches/${providerBatch.id}`);
  assert.ok(retrievedByGateway.length > 0, 'the refresher asked the provider');
  const lines = await outputLines(client, done.output_file_id!);
  assert.equal(lines.length, 1000);
  assert.deepEqual(new Set(lines.map((line) => line.custom_id)).size, 1000);
  emulators.openai.batches.setClock({ stepMs: 20, linesPerStep: 250 });
});
