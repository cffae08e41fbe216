/**
 * Batches on a Vertex AI deployment, end to end (SPEC §6) with the official openai client: the
 * OpenAI JSONL becomes batch-prediction input in the deployment's bucket, the emulator's
 * batchPredictionJob answers it out of order, and the output comes back as OpenAI lines.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type OpenAI from 'openai';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { batchLines, notFound, outputLines, pollUntil, rows, uploadBatchFile } from './support/batch-suite.ts';

const MODEL = 'gemini-batch';
const BUCKET = 'unifile-batch';
let harness: Harness;

before(async () => {
  harness = await startHarness({
    config: (emulators) => ({
      model_list: [
        {
          model_name: MODEL,
          litellm_params: {
            model: 'vertex_ai/gemini-2.5-flash',
            vertex_project: 'emulated-project',
            vertex_location: 'us-central1',
            vertex_credentials: JSON.stringify(emulators.google.createServiceAccount({ projectId: 'emulated-project' })),
            bucket_name: `${BUCKET}/gw`,
            api_base: emulators.urls.google,
            gcs_api_base: emulators.urls.google,
          },
          model_info: { id: 'vertex-batch-1' },
        },
      ],
    }),
  });
});
after(async () => {
  await harness.close();
});

const create = (client: OpenAI, fileId: string) => client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { run: 'vertex' } });

test('a 300-line managed batch on Vertex: converted input, every custom_id answered through the unified output id', async () => {
  const google = harness.emulators.google;
  google.setBatchStepMs(100);
  const owner = await harness.newUser({ user_id: 'vertex-batch-owner' });
  const client = harness.client(owner.key);
  // custom_ids no GCP label could hold: upper case, spaces, unicode, long.
  const customId = (index: number) => `Req ${index} / Ünïcode — ${'x'.repeat(80)}`;
  const text = Array.from({ length: 300 }, (_, index) =>
    JSON.stringify({ custom_id: customId(index), method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: `question ${index}` }], max_tokens: 50 } }),
  ).join('\n');
  const file = await uploadBatchFile(client, text, MODEL);
  const created = await create(client, file.id);
  assert.match(created.id, /^batch_uf_/);
  assert.equal(created.status, 'validating');
  assert.deepEqual(created.metadata, { run: 'vertex' });

  // What Vertex received: one job on the deployment's model over a converted input in the bucket.
  const [job] = google.batchJobs();
  assert.equal(job!.model, 'publishers/google/models/gemini-2.5-flash');
  const inputUri = ((job!.inputConfig as { gcsSource: { uris: string[] } }).gcsSource.uris)[0]!;
  assert.match(inputUri, new RegExp(`^gs://${BUCKET}/gw/unifile/batches/[0-9a-f-]{36}/input\\.jsonl$`));
  const input = (await google.readObject(BUCKET, inputUri.slice(`gs://${BUCKET}/`.length)))!.toString('utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(input.length, 300);
  assert.deepEqual(input[7], {
    request: {
      contents: [{ role: 'user', parts: [{ text: 'question 7' }] }],
      systemInstruction: { parts: [{ text: 'be brief' }] },
      generationConfig: { maxOutputTokens: 50 },
      labels: { unifile_row: '7' },
    },
  });
  assert.ok(!JSON.stringify(input).includes('Req 7'), 'custom_ids never reach the Vertex request or its labels');
  assert.ok(!JSON.stringify(job!.labels).includes('Req'), 'nor the job labels');

  const done = await pollUntil(client, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed', JSON.stringify(done.errors));
  assert.deepEqual(done.request_counts, { total: 300, completed: 300, failed: 0 });
  assert.equal(done.error_file_id, null);
  assert.match(done.output_file_id!, /^file-uf_/);
  // The emulator wrote its shard shuffled: the gateway matched lines back by row.
  const lines = await outputLines(client, done.output_file_id!);
  assert.equal(lines.length, 300);
  const byId = new Map(lines.map((line) => [line.custom_id, line]));
  for (let index = 0; index < 300; index++) {
    const line = byId.get(customId(index))!;
    assert.ok(line, `custom_id ${index} answered`);
    assert.equal(line.response.status_code, 200);
    assert.equal(line.response.body.choices[0]!.message.content, `Echo from vertex:gemini-2.5-flash: question ${index}`);
    assert.equal((line.response.body as unknown as { object: string }).object, 'chat.completion');
  }
  assert.notDeepEqual(lines.map((line) => line.custom_id), Array.from({ length: 300 }, (_, index) => customId(index)), 'output order is not input order');
  const listed = await client.files.list();
  const output = listed.data.find((item) => item.id === done.output_file_id);
  assert.equal(output?.purpose, 'batch_output');
  const bytes = Buffer.byteLength(await (await client.files.content(done.output_file_id!)).text());
  assert.equal(output?.bytes, bytes, 'the recorded size is the converted output\'s exact length');

  // Another user: 404 on the batch, its cancel and its output, without a provider call.
  const stranger = harness.client((await harness.newUser({ user_id: 'vertex-batch-stranger' })).key);
  const callsBefore = google.calls.length;
  await assert.rejects(stranger.batches.retrieve(created.id), notFound);
  await assert.rejects(stranger.batches.cancel(created.id), notFound);
  await assert.rejects(stranger.files.content(done.output_file_id!), notFound);
  assert.equal(google.calls.length, callsBefore);
});

test('cancel on Vertex: cancelling → cancelled, idempotent, no output', async () => {
  const google = harness.emulators.google;
  google.setBatchStepMs(60_000); // hold the job in PENDING
  const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-canceller' })).key);
  const file = await uploadBatchFile(client, batchLines(5, MODEL), MODEL);
  const created = await create(client, file.id);
  const cancelling = await client.batches.cancel(created.id);
  assert.equal(cancelling.status, 'cancelling');
  assert.equal((await client.batches.cancel(created.id)).status, 'cancelling', 'cancel is idempotent');
  google.setBatchStepMs(20);
  const cancelled = await pollUntil(client, created.id, ['cancelled']);
  assert.equal(cancelled.output_file_id, null);
  assert.deepEqual(cancelled.request_counts, { total: 5, completed: 0, failed: 0 });
  assert.equal((await client.batches.cancel(created.id)).status, 'cancelled');
  const stateCalls = google.calls.filter((call) => call.path.endsWith(':cancel'));
  assert.equal(stateCalls.length, 1, 'Vertex was asked to cancel once');
  const [row] = await rows(harness, sql`SELECT status FROM batches WHERE id = ${created.id}`);
  assert.equal(row!.status, 'cancelled');
});
