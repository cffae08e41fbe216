/**
 * Vertex AI batches across instances and restarts (README "Batches"): two gateways on one Postgres
 * retrieving the same finished batch concurrently answer the same object, and one of them converts
 * and records the outputs while the other waits for it; the real CLI stopped while a Vertex batch runs and started again finishes it
 * with its background refresher, no client ever retrieving it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { outputLines, rows, uploadBatchFile } from './support/batch-suite.ts';
import { startCliGateway, type CliGateway } from './support/cli-gateway.ts';
import { VERTEX_BATCH_MODEL as MODEL, vertexBatchLines, vertexBatchModels, vertexCustomId } from './support/vertex-batch-config.ts';
import { waitFor } from './support/wait-for.ts';

let first: Harness;
let second: Harness;
let gateway: CliGateway | undefined;
before(async () => {
  first = await startHarness({ config: (emulators) => ({ model_list: vertexBatchModels(emulators) }) });
  second = await startHarness({ config: (emulators) => ({ model_list: vertexBatchModels(emulators) }), emulators: first.emulators, database: first.database });
});
after(async () => {
  await gateway?.stop();
  await second.close();
  await first.close();
});

test('two instances retrieving one finished Vertex batch concurrently: the same object, one set of output files', async () => {
  // On the embedded database both instances share one PGlite (persistence/database.ts): the same
  // rows and leases, one connection; the cross-connection case runs on Postgres (TEST_DATABASE_URL).
  const google = first.emulators.google;
  google.setBatchStepMs(100);
  const owner = await first.newUser({ user_id: 'vertex-concurrent-owner' });
  const clients = [first.client(owner.key), second.client(owner.key)];
  // Every third request fails upstream, so both an output and an error file are recorded.
  const file = await uploadBatchFile(clients[0]!, vertexBatchLines(300, { extraBody: (index) => (index % 3 === 0 ? { temperature: 5 } : {}) }), MODEL);
  const created = await clients[0]!.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  // Nobody looks until the job's time is up: the first look finishes it, and every retrieve races to record it.
  await new Promise((resolve) => setTimeout(resolve, 450));
  // Each converted object (output, errors) is written with ifGenerationMatch=0 by whoever converts it.
  const conversions = () => google.calls.filter((call) => call.method === 'POST' && call.query.uploadType === 'resumable' && call.query.ifGenerationMatch === '0').length;
  const conversionsBefore = conversions();
  const answers = await Promise.all(Array.from({ length: 24 }, (_, index) => clients[index % 2]!.batches.retrieve(created.id)));
  for (const answer of answers) assert.deepEqual(answer, answers[0]);
  assert.equal(conversions() - conversionsBefore, 2, 'the output and the errors were each converted once, by one instance');
  assert.equal(answers[0]!.status, 'completed');
  assert.deepEqual(answers[0]!.request_counts, { total: 300, completed: 200, failed: 100 });
  const mappings = await rows(first, sql`SELECT kind, file_id FROM batch_output_files WHERE batch_id = ${created.id} ORDER BY kind`);
  assert.deepEqual(mappings.map((row) => [row.kind, row.file_id]), [['error', answers[0]!.error_file_id], ['output', answers[0]!.output_file_id]]);
  const outputs = await rows(first, sql`SELECT id FROM managed_files WHERE owner_id = 'vertex-concurrent-owner' AND purpose = 'batch_output' ORDER BY id`);
  assert.deepEqual(outputs.map((row) => row.id), [answers[0]!.output_file_id, answers[0]!.error_file_id].sort(), 'no second managed file was made');
  const fromSecond = await outputLines(clients[1]!, answers[0]!.output_file_id!);
  assert.equal(fromSecond.length, 200);
  for (const line of fromSecond) assert.match(line.response.body.choices[0]!.message.content, /^Echo from vertex:gemini-2\.5-flash: question \d+$/);
  assert.equal((await outputLines(clients[0]!, answers[0]!.error_file_id!)).length, 100);
  google.setBatchStepMs(20);
});

test('the CLI stopped while a Vertex batch runs, started again: the batch completes without any client polling', async () => {
  const google = first.emulators.google;
  const master = 'sk-vertex-restart-master';
  const [model] = vertexBatchModels(first.emulators) as Array<{ model_name: string; litellm_params: Record<string, string> }>;
  const params = model!.litellm_params;
  const storage = first.database.url ? `database_url: ${first.database.url}` : `data_dir: ${join(mkdtempSync(join(tmpdir(), 'unifile-vertex-restart-')), 'data')}`;
  const config = `
model_list:
  - model_name: ${MODEL}
    litellm_params:
      model: ${params.model}
      vertex_project: ${params.vertex_project}
      vertex_location: ${params.vertex_location}
      vertex_credentials: ${JSON.stringify(params.vertex_credentials)}
      bucket_name: ${params.bucket_name}
      api_base: ${params.api_base}
      gcs_api_base: ${params.gcs_api_base}
general_settings:
  master_key: ${master}
  ${storage}
  batch_refresh_interval_seconds: 0.2
`;
  google.setBatchStepMs(1000);
  try {
    gateway = await startCliGateway(config);
    const userResponse = await fetch(`${gateway.base}/user/new`, { method: 'POST', headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'vertex-restart-owner' }) });
    const { key } = (await userResponse.json()) as { key: string };
    let client = new OpenAI({ apiKey: key, baseURL: `${gateway.base}/v1`, maxRetries: 0 });
    const file = await uploadBatchFile(client, vertexBatchLines(1000), MODEL);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const job = google.batchJobs().at(-1)!;
    // The background refresher (not the client) reads the job as it moves on.
    await waitFor(() => (job.state === 'JOB_STATE_RUNNING' ? true : undefined), 'the job to run');
    assert.equal(await gateway.stop(), 0);
    assert.equal(job.state, 'JOB_STATE_RUNNING', 'the gateway stopped while the job was still running');
    const readsBefore = google.calls.filter((call) => call.method === 'GET' && call.path.endsWith(`/${job.name}`)).length;

    gateway = await startCliGateway(config);
    client = new OpenAI({ apiKey: key, baseURL: `${gateway.base}/v1`, maxRetries: 0 });
    const done = await waitFor(async () => {
      const [batch] = (await client.batches.list({ limit: 1 })).data;
      return batch?.status === 'completed' ? batch : undefined;
    }, 'the restarted gateway to finish the batch');
    assert.equal(done.id, created.id);
    assert.deepEqual(done.request_counts, { total: 1000, completed: 1000, failed: 0 });
    assert.ok(google.calls.filter((call) => call.method === 'GET' && call.path.endsWith(`/${job.name}`)).length > readsBefore, 'the restarted refresher asked Vertex');
    const lines = await outputLines(client, done.output_file_id!);
    assert.equal(lines.length, 1000);
    assert.deepEqual(new Set(lines.map((line) => line.custom_id)), new Set(Array.from({ length: 1000 }, (_, index) => vertexCustomId(index))));
  } finally {
    google.setBatchStepMs(20);
  }
});
