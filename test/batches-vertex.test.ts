/**
 * Batches on a Vertex AI deployment, end to end (README "Batches") with the official openai client: the
 * OpenAI JSONL becomes batch-prediction input in the deployment's bucket, the emulator's
 * batchPredictionJob answers it out of order, and the output comes back as OpenAI lines through
 * the unified output id. Ownership, list paging, cancel with partial output, delete blocked while
 * running, malformed lines, a failed job and per-line errors.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdirSync, mkdtempSync, readdirSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { defaultSpoolRoot, processSpoolDirectory } from '../src/core/spooled-file.ts';
import type OpenAI from 'openai';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';
import { notFound, outputLines, pollUntil, rows, uploadBatchFile } from './support/batch-suite.ts';
import { VERTEX_BATCH_BUCKET as BUCKET, VERTEX_BATCH_MODEL as MODEL, vertexBatchLines, vertexBatchModels, vertexCustomId as customId } from './support/vertex-batch-config.ts';

let harness: Harness;
/** general_settings.spool_dir: where the custom_id temp files must go (not the OS temp dir). */
const spoolRoot = mkdtempSync(join(tmpdir(), 'unifile-vertex-spool-'));

before(async () => {
  harness = await startHarness({ config: (emulators) => ({ model_list: vertexBatchModels(emulators) }), general: { spool_dir: spoolRoot } });
});
after(async () => {
  const left = readdirSync(processSpoolDirectory(spoolRoot)).filter((name) => name.startsWith('batch-'));
  await harness.close();
  assert.deepEqual(left, [], 'no custom_id temp file outlives its batch call, whatever the outcome');
});

const create = (client: OpenAI, fileId: string) => client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { run: 'vertex' } });
const jobCalls = () => harness.emulators.google.calls.filter((call) => call.path.includes('/batchPredictionJobs'));

test('a 1,000-line managed batch on Vertex: converted input, every custom_id answered through the unified output id, others get 404', async () => {
  const google = harness.emulators.google;
  google.setBatchStepMs(100);
  const owner = await harness.newUser({ user_id: 'vertex-batch-owner' });
  const client = harness.client(owner.key);
  const file = await uploadBatchFile(client, vertexBatchLines(1000), MODEL);
  const created = await create(client, file.id);
  assert.match(created.id, /^batch_uf_[A-Za-z0-9_-]{24}$/);
  assert.equal(created.status, 'validating');
  assert.equal(created.input_file_id, file.id);
  assert.deepEqual(created.metadata, { run: 'vertex' });

  // What Vertex received: one job on the deployment's model over a converted input in the bucket.
  const job = google.batchJobs().at(-1)!;
  assert.equal(job.model, 'publishers/google/models/gemini-2.5-flash');
  const inputUri = ((job.inputConfig as { gcsSource: { uris: string[] } }).gcsSource.uris)[0]!;
  assert.match(inputUri, new RegExp(`^gs://${BUCKET}/gw/unifile/batches/[0-9a-f-]{36}/input\\.jsonl$`));
  const input = (await google.readObject(BUCKET, inputUri.slice(`gs://${BUCKET}/`.length)))!.toString('utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(input.length, 1000);
  assert.deepEqual(input[7], {
    request: {
      contents: [{ role: 'user', parts: [{ text: 'question 7' }] }],
      systemInstruction: { parts: [{ text: 'be brief' }] },
      generationConfig: { maxOutputTokens: 50 },
      labels: { unifile_row: '7' },
    },
  });
  assert.ok(!JSON.stringify(input).includes('Req 7'), 'custom_ids never reach the Vertex request or its labels');
  assert.deepEqual(job.labels, { unifile_requests: '1000' }, 'nor the job labels');

  const done = await pollUntil(client, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed', JSON.stringify(done.errors));
  assert.deepEqual(done.request_counts, { total: 1000, completed: 1000, failed: 0 });
  assert.equal(done.error_file_id, null);
  assert.match(done.output_file_id!, /^file-uf_/);
  // The emulator wrote its shard shuffled: the gateway matched lines back by row.
  const lines = await outputLines(client, done.output_file_id!);
  assert.equal(lines.length, 1000);
  const byId = new Map(lines.map((line) => [line.custom_id, line]));
  assert.equal(byId.size, 1000);
  for (let index = 0; index < 1000; index++) {
    const line = byId.get(customId(index))!;
    assert.ok(line, `custom_id ${index} answered`);
    assert.equal(line.response.status_code, 200);
    assert.equal(line.response.body.choices[0]!.message.content, `Echo from vertex:gemini-2.5-flash: question ${index}`);
    assert.equal((line.response.body as unknown as { object: string }).object, 'chat.completion');
  }
  assert.notDeepEqual(lines.map((line) => line.custom_id), Array.from({ length: 1000 }, (_, index) => customId(index)), 'output order is not input order');
  const listed = await client.files.list();
  const output = listed.data.find((item) => item.id === done.output_file_id);
  assert.equal(output?.purpose, 'batch_output');
  assert.equal(output?.filename, `${created.id}_output.jsonl`);
  const text = await (await client.files.content(done.output_file_id!)).text();
  assert.equal(output?.bytes, Buffer.byteLength(text), 'the recorded size is the converted output\'s exact length');
  assert.equal(await (await client.files.content(done.output_file_id!)).text(), text, 'a second read answers the same bytes');
  // Converted once, beside the input; once recorded, the gateway's intermediates (the converted
  // input and the custom_ids, never in a label) are gone, and the user's own input file stays.
  const folder = inputUri.slice(`gs://${BUCKET}/`.length, -'input.jsonl'.length);
  const stored = google.objects(BUCKET).map((object) => object.name).filter((name) => name.startsWith(folder));
  assert.ok(stored.includes(`${folder}openai-output.jsonl`), stored.join(', '));
  assert.ok(!stored.includes(`${folder}input.jsonl`) && !stored.includes(`${folder}custom-ids.jsonl`), `intermediates deleted: ${stored.join(', ')}`);
  // Vertex's prediction shards were converted into the stored output: gone too.
  const shardDir = String((google.batchJobs().at(-1)!.outputInfo as { gcsOutputDirectory: string }).gcsOutputDirectory).slice(`gs://${BUCKET}/`.length);
  assert.ok(shardDir.startsWith(`${folder}output/`), shardDir);
  assert.deepEqual(stored, [`${folder}openai-output.jsonl`], 'only the converted output is left');
  const [inputCopy] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${file.id}`);
  assert.ok(google.objects(BUCKET).some((object) => `gs://${BUCKET}/${object.name}` === inputCopy!.provider_file_id), "the user's input file is kept");
  // Terminal: the stored copy is served without another provider call, and one output mapping exists.
  const callsBeforeRetrieve = jobCalls().length;
  assert.deepEqual(await client.batches.retrieve(created.id), done);
  assert.equal(jobCalls().length, callsBeforeRetrieve);
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM batch_output_files WHERE batch_id = ${created.id}`))[0]!.n, 1);

  // Another user: 404 on the batch, its cancel and its output, without a provider call.
  const stranger = harness.client((await harness.newUser({ user_id: 'vertex-batch-stranger' })).key);
  const callsBefore = google.calls.length;
  await assert.rejects(stranger.batches.retrieve(created.id), notFound);
  await assert.rejects(stranger.batches.cancel(created.id), notFound);
  await assert.rejects(stranger.files.content(done.output_file_id!), notFound);
  await assert.rejects(stranger.files.retrieve(done.output_file_id!), notFound);
  await assert.rejects(stranger.batches.retrieve('batch_uf_AAAAAAAAAAAAAAAAAAAAAAAA'), notFound);
  assert.deepEqual((await stranger.batches.list()).data, []);
  assert.equal(google.calls.length, callsBefore, 'no provider call for a not-yours id');
});

test('an intermediate that cannot be deleted when the batch ends is retried by the sweeper; the output stays readable', async () => {
  const google = harness.emulators.google;
  google.setBatchStepMs(20);
  const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-cleanup' })).key);
  const file = await uploadBatchFile(client, vertexBatchLines(5, { prefix: 'Clean' }), MODEL);
  const created = await create(client, file.id);
  const inputUri = ((google.batchJobs().at(-1)!.inputConfig as { gcsSource: { uris: string[] } }).gcsSource.uris)[0]!;
  const folder = inputUri.slice(`gs://${BUCKET}/`.length, -'input.jsonl'.length);
  const idsUri = `gs://${BUCKET}/${folder}custom-ids.jsonl`;
  google.faults.add({ method: 'DELETE', path: /custom-ids\.jsonl$/, times: 20, action: { kind: 'status', status: 503, body: { error: { code: 503, message: 'backend' } } } });
  google.faults.add({ method: 'DELETE', path: /predictions[^/]*\.jsonl$/, times: 20, action: { kind: 'status', status: 503, body: { error: { code: 503, message: 'backend' } } } });
  let done;
  try {
    done = await pollUntil(client, created.id, ['completed', 'failed']);
  } finally {
    google.faults.clear();
  }
  assert.equal(done.status, 'completed', JSON.stringify(done.errors));
  const names = () => google.objects(BUCKET).map((object) => object.name).filter((name) => name.startsWith(folder));
  assert.ok(!names().includes(`${folder}input.jsonl`), 'the converted input is gone');
  assert.ok(names().includes(`${folder}custom-ids.jsonl`), 'the custom_ids delete failed');
  const shards = names().filter((name) => /^.*output\/.*predictions[^/]*\.jsonl$/.test(name));
  assert.equal(shards.length, 1, 'the shard delete failed too');
  const shardUri = `gs://${BUCKET}/${shards[0]}`;
  const pending = await rows(harness, sql`SELECT provider_file_id, deployment_id FROM pending_provider_deletes WHERE provider_file_id IN (${idsUri}, ${shardUri}) ORDER BY provider_file_id`);
  assert.deepEqual(pending, [idsUri, shardUri].sort().map((uri) => ({ provider_file_id: uri, deployment_id: 'vertex-batch-1' })), 'queued for the sweeper');
  assert.equal((await outputLines(client, done.output_file_id!)).length, 5);
  await harness.runtime.database.db.execute(sql`UPDATE pending_provider_deletes SET next_attempt_at = now() WHERE provider_file_id IN (${idsUri}, ${shardUri})`);
  await harness.runtime.deletion.sweepOnce({ requestId: 'test-sweep', logger: { info: () => undefined, warn: () => undefined, error: () => undefined } });
  // Left: the converted output only (the prediction shards were converted into it).
  assert.deepEqual(names(), [`${folder}openai-output.jsonl`], 'only the output is left');
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM pending_provider_deletes WHERE provider_file_id IN (${idsUri}, ${shardUri})`))[0]!.n, 0);
  assert.equal((await outputLines(client, done.output_file_id!)).length, 5, 'the output is still readable');
  // Deleting the output file removes the converted object; nothing of the batch stays in the bucket.
  assert.equal((await client.files.delete(done.output_file_id!)).deleted, true);
  assert.deepEqual(names(), [], 'the bucket holds nothing of the batch');
});

test('custom_id temp files go to the configured spool directory and are removed once used', async () => {
  harness.emulators.google.setBatchStepMs(20);
  const processSpool = processSpoolDirectory(spoolRoot);
  mkdirSync(processSpool, { recursive: true });
  const seen = new Set<string>();
  const watcher = watch(processSpool, (_event, name) => {
    if (name && /^batch-(ids|index)-/.test(name)) seen.add(name.replace(/-[^-]+$/, ''));
  });
  try {
    const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-spool' })).key);
    const file = await uploadBatchFile(client, vertexBatchLines(5, { prefix: 'Spool' }), MODEL);
    const done = await pollUntil(client, (await create(client, file.id)).id, ['completed', 'failed']);
    assert.equal((await outputLines(client, done.output_file_id!)).length, 5);
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the last watch events arrive
  } finally {
    watcher.close();
  }
  assert.deepEqual([...seen].sort(), ['batch-ids', 'batch-index'], 'the custom_id spool (create) and index (output) were written under spool_dir');
  assert.deepEqual(readdirSync(processSpool).filter((name) => name.startsWith('batch-')), [], 'and removed');
  const defaultSpool = processSpoolDirectory(defaultSpoolRoot());
  let elsewhere: string[] = [];
  try {
    elsewhere = readdirSync(defaultSpool).filter((name) => name.startsWith('batch-'));
  } catch {
    // never created: nothing went there
  }
  assert.deepEqual(elsewhere, [], 'nothing in the OS temp dir');
});

test('list on Vertex: the caller\'s batches, newest first, keyset pages with exact has_more', async () => {
  harness.emulators.google.setBatchStepMs(20);
  const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-lister' })).key);
  const file = await uploadBatchFile(client, vertexBatchLines(3), MODEL);
  const ids: string[] = [];
  for (let index = 0; index < 3; index++) ids.push((await create(client, file.id)).id);
  const callsBefore = jobCalls().length;
  const first = await client.batches.list({ limit: 2 });
  assert.deepEqual(first.data.map((batch) => batch.id), [ids[2], ids[1]]);
  assert.equal(first.has_more, true);
  const second = await client.batches.list({ limit: 2, after: ids[1] });
  assert.deepEqual(second.data.map((batch) => batch.id), [ids[0]]);
  assert.equal(second.has_more, false);
  assert.equal((await client.batches.list({ limit: 3 })).has_more, false, 'has_more is exact when the page ends with the last batch');
  const all: string[] = [];
  for await (const batch of client.batches.list({ limit: 1 })) all.push(batch.id);
  assert.deepEqual(all, [...ids].reverse());
  assert.equal(jobCalls().length, callsBefore, 'the list is served from the gateway\'s records');
  for (const id of ids) assert.equal((await pollUntil(client, id, ['completed', 'failed'])).status, 'completed');
});

test('cancel on Vertex while running: partial output readable, idempotent; the input cannot be deleted until the batch ends', async () => {
  const google = harness.emulators.google;
  google.setBatchStepMs(1500); // PENDING, QUEUED, then RUNNING for 1.5 s
  try {
    const owner = await harness.newUser({ user_id: 'vertex-batch-canceller' });
    const client = harness.client(owner.key);
    const file = await uploadBatchFile(client, vertexBatchLines(1000), MODEL);
    const created = await create(client, file.id);
    const refused = await harness.fetch(`/v1/files/${file.id}`, { method: 'DELETE', key: owner.key });
    assert.equal(refused.status, 409);
    const refusal = (await refused.json()) as { error: { message: string; code: string } };
    assert.equal(refusal.error.code, 'file_in_use');
    assert.ok(refusal.error.message.includes(created.id), 'the 409 names the batch');

    const deadline = Date.now() + 30_000;
    let running: OpenAI.Batches.Batch;
    do {
      running = await client.batches.retrieve(created.id);
      if (Date.now() > deadline) throw new Error(`no progress: ${running.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (!(running.status === 'in_progress' && running.request_counts!.completed > 0));
    const cancelling = await client.batches.cancel(created.id);
    assert.equal(cancelling.status, 'cancelling');
    assert.equal((await client.batches.cancel(created.id)).status, 'cancelling', 'cancel is idempotent');
    assert.equal((await harness.fetch(`/v1/files/${file.id}`, { method: 'DELETE', key: owner.key })).status, 409, 'still blocked while cancelling');
    const cancelled = await pollUntil(client, created.id, ['cancelled']);
    assert.ok(cancelled.cancelled_at! >= cancelled.cancelling_at!);
    assert.equal(cancelled.request_counts!.total, 1000);
    const completed = cancelled.request_counts!.completed;
    assert.ok(completed > 0 && completed < 1000, `partial: ${completed}`);
    assert.match(cancelled.output_file_id!, /^file-uf_/);
    const lines = await outputLines(client, cancelled.output_file_id!);
    assert.equal(lines.length, completed);
    for (const line of lines) {
      const index = Number(/^Req (\d+) /.exec(line.custom_id)?.[1]);
      assert.equal(line.custom_id, customId(index));
      assert.equal(line.response.body.choices[0]!.message.content, `Echo from vertex:gemini-2.5-flash: question ${index}`);
    }
    assert.equal((await client.batches.cancel(created.id)).status, 'cancelled', 'cancelling a cancelled batch answers it');
    assert.equal(google.calls.filter((call) => call.path.endsWith(':cancel')).length, 1, 'Vertex was asked to cancel once');
    // Ended: its input may go now; the partial output stays readable.
    assert.equal((await client.files.delete(file.id)).deleted, true);
    assert.equal((await outputLines(client, cancelled.output_file_id!)).length, completed);
  } finally {
    google.setBatchStepMs(20);
  }
});

test('cancel on Vertex before it runs: cancelled with no output (null)', async () => {
  const google = harness.emulators.google;
  google.setBatchStepMs(60_000); // hold the job in PENDING
  try {
    const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-early-canceller' })).key);
    const file = await uploadBatchFile(client, vertexBatchLines(5), MODEL);
    const created = await create(client, file.id);
    assert.equal((await client.batches.cancel(created.id)).status, 'cancelling');
    google.setBatchStepMs(20);
    const cancelled = await pollUntil(client, created.id, ['cancelled']);
    assert.equal(cancelled.output_file_id, null);
    assert.equal(cancelled.error_file_id, null);
    assert.deepEqual(cancelled.request_counts, { total: 5, completed: 0, failed: 0 });
    const [row] = await rows(harness, sql`SELECT status FROM batches WHERE id = ${created.id}`);
    assert.equal(row!.status, 'cancelled');
  } finally {
    google.setBatchStepMs(20);
  }
});

test('a malformed line for Vertex: the managed upload answers 400 naming the line, nothing uploaded', async () => {
  const owner = await harness.newUser({ user_id: 'vertex-batch-malformed' });
  const client = harness.client(owner.key);
  const uploads = () => harness.emulators.google.calls.filter((call) => call.path.startsWith('/upload/')).length;
  const objectsBefore = harness.emulators.google.objects(BUCKET).length;
  const uploadsBefore = uploads();
  const isLine = (pattern: RegExp) => (error: { status?: number; message: string }) => error.status === 400 && pattern.test(error.message);
  await assert.rejects(uploadBatchFile(client, `${vertexBatchLines(4)}\n{"custom_id":"x","method":"POST"\n`, MODEL), isLine(/Line 5/));
  await assert.rejects(uploadBatchFile(client, `${vertexBatchLines(2)}\n${JSON.stringify({ custom_id: 'y', method: 'POST', body: {} })}`, MODEL), isLine(/Line 3.*"url"/));
  await assert.rejects(uploadBatchFile(client, `${vertexBatchLines(2)}\n${vertexBatchLines(1)}`, MODEL), isLine(/Line 3.*Req 0/));
  await assert.rejects(uploadBatchFile(client, vertexBatchLines(2).replaceAll(MODEL, 'gpt-elsewhere'), MODEL), isLine(/Line 1.*gpt-elsewhere/));
  assert.equal(uploads(), uploadsBefore, 'nothing was uploaded to GCS');
  assert.equal(harness.emulators.google.objects(BUCKET).length, objectsBefore);
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files WHERE owner_id = ${owner.user_id}`))[0]!.n, 0);
});

test('a Vertex batch line pointing at stored data: refused at upload (not the caller\'s), and at create (an admin\'s): no job, nothing left in the bucket', async () => {
  const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-stored-ref' })).key);
  // Another tenant's object in the same bucket: Vertex would read it with the gateway's credentials.
  const stolen = { custom_id: 'steal', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `gs://${BUCKET}/gw/someone-else/secret.png` } }] }] } };
  const text = `${vertexBatchLines(2)}\n${JSON.stringify(stolen)}`;
  const objectsBefore = harness.emulators.google.objects(BUCKET).map((object) => object.name);
  await assert.rejects(uploadBatchFile(client, text, MODEL), (error: { status?: number; message: string }) => error.status === 404 && /Line 3 .*secret\.png/.test(error.message));
  assert.deepEqual(harness.emulators.google.objects(BUCKET).map((object) => object.name), objectsBefore, 'nothing uploaded');
  // An admin may upload it (admins are trusted with raw references), but a Vertex batch line only
  // carries inline data, public URLs and managed ids: the conversion at create refuses it.
  const admin = harness.client(MASTER_KEY);
  const file = await uploadBatchFile(admin, text, MODEL);
  const jobsBefore = harness.emulators.google.batchJobs().length;
  const withUpload = harness.emulators.google.objects(BUCKET).map((object) => object.name);
  await assert.rejects(create(admin, file.id), (error: { status?: number; message: string }) => error.status === 400 && /Line 3 .*stored data/.test(error.message));
  assert.equal(harness.emulators.google.batchJobs().length, jobsBefore, 'no job was created');
  assert.deepEqual(harness.emulators.google.objects(BUCKET).map((object) => object.name), withUpload, 'no converted input or custom_ids left behind');
  assert.deepEqual((await client.batches.list()).data, []);
  await admin.files.delete(file.id);
});

test('a failed Vertex job: the batch is failed with its errors and no output files', async () => {
  const google = harness.emulators.google;
  google.setBatchStepMs(20);
  google.setBatchFailure('Quota exceeded for aiplatform.googleapis.com/batch_prediction_jobs.');
  try {
    const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-failed' })).key);
    const file = await uploadBatchFile(client, vertexBatchLines(10), MODEL);
    const created = await create(client, file.id);
    const failed = await pollUntil(client, created.id, ['failed', 'completed']);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.errors!.data!.length, 1);
    assert.equal(failed.errors!.data![0]!.code, 'vertex_job_failed');
    assert.match(failed.errors!.data![0]!.message!, /Quota exceeded/);
    assert.ok(failed.failed_at! >= failed.created_at);
    assert.equal(failed.output_file_id, null, 'no output: null, not an error loop');
    assert.equal(failed.error_file_id, null);
    assert.deepEqual(await client.batches.retrieve(created.id), failed, 'terminal: the stored copy');
    // Ended: the input may be deleted.
    assert.equal((await client.files.delete(file.id)).deleted, true);
  } finally {
    google.setBatchFailure(undefined);
  }
});

test('per-line errors from Vertex become the error file, matched to their custom_ids', async () => {
  harness.emulators.google.setBatchStepMs(20);
  const client = harness.client((await harness.newUser({ user_id: 'vertex-batch-line-errors' })).key);
  // Every third line asks for a temperature Vertex refuses (0..2): that request fails alone.
  const bad = (index: number) => index % 3 === 0;
  const file = await uploadBatchFile(client, vertexBatchLines(30, { extraBody: (index) => (bad(index) ? { temperature: 5 } : {}) }), MODEL);
  const created = await create(client, file.id);
  const done = await pollUntil(client, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.request_counts, { total: 30, completed: 20, failed: 10 });
  const outputs = await outputLines(client, done.output_file_id!);
  assert.deepEqual(outputs.map((line) => line.custom_id).sort(), Array.from({ length: 30 }, (_, index) => index).filter((index) => !bad(index)).map((index) => customId(index)).sort());
  assert.match(done.error_file_id!, /^file-uf_/);
  const errorLines = (await outputLines(client, done.error_file_id!)) as unknown as Array<{ custom_id: string; response: { status_code: number; body: { error: { message: string } } } }>;
  assert.deepEqual(errorLines.map((line) => line.custom_id).sort(), Array.from({ length: 30 }, (_, index) => index).filter(bad).map((index) => customId(index)).sort());
  for (const line of errorLines) {
    assert.equal(line.response.status_code, 400);
    assert.match(line.response.body.error.message, /temperature/);
  }
  const files = (await client.files.list()).data;
  const errorFile = files.find((item) => item.id === done.error_file_id);
  assert.equal(errorFile?.purpose, 'batch_output');
  assert.equal(errorFile?.filename, `${created.id}_error.jsonl`);
  assert.equal(errorFile?.bytes, Buffer.byteLength(await (await client.files.content(done.error_file_id!)).text()));
  // One set of shards made both files: deleted only once both were stored, the two stored objects kept.
  const google = harness.emulators.google;
  const inputUri = ((google.batchJobs().at(-1)!.inputConfig as { gcsSource: { uris: string[] } }).gcsSource.uris)[0]!;
  const folder = inputUri.slice(`gs://${BUCKET}/`.length, -'input.jsonl'.length);
  const left = google.objects(BUCKET).map((object) => object.name).filter((name) => name.startsWith(folder)).sort();
  assert.deepEqual(left, [`${folder}openai-errors.jsonl`, `${folder}openai-output.jsonl`]);
});
