/**
 * Batches and fine-tuning with the official Python client (README "Batches"), called the way LiteLLM
 * proxy's users call them: `files.create(..., purpose="batch", extra_body={"target_model_names": …})`
 * (a plain field, or a list sent as repeated `target_model_names[]` fields, before the file part),
 * `batches.create/retrieve/list/cancel` with the client's auto-pagination and `with_raw_response`,
 * `files.content(output_file_id)`, uploads routed by `x-litellm-model` / `custom_llm_provider`,
 * and `fine_tuning.jobs.create/retrieve/list/list_events/cancel` with the tuned model in chat.
 * test/python/batches_fine_tuning_flow.py runs each phase; this file checks what it saw and what
 * the emulators and the database got. Same client lookup and opt-out as test/python-client.test.ts.
 * Each phase starts a Python process: the gateway runs in this process, so it is never run
 * synchronously (execFileSync would block the gateway the client talks to).
 *
 * Found this way: `fine_tuning.jobs.cancel` of a job that had finished raised BadRequestError
 * "openai rejected the request (HTTP 400 …)" (the provider's message is not passed on, README "Endpoints" (errors)),
 * never saying why; it now says the job has already succeeded/failed (the last test, node client).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { BATCH_MODELS, rows } from './support/batch-suite.ts';
import { VERTEX_BATCH_MODEL, vertexBatchModels } from './support/vertex-batch-config.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
// UNIFILE_PYTHON_CLIENT_DIR names the clients folder when the repository is not beside it (.ci/run sets it).
const clients = resolve(process.env.UNIFILE_PYTHON_CLIENT_DIR ?? resolve(repoRoot, '../shared/clients'));
const clientSource = resolve(clients, 'openai-python-1.39.0/src');
const python = process.env.UNIFILE_PYTHON ?? '/usr/bin/python3';
// Only an explicit opt-out turns these tests off; a missing client otherwise fails them.
const optOut = process.env.UNIFILE_SKIP_PYTHON_CLIENT === '1';
const skip = optOut && 'UNIFILE_SKIP_PYTHON_CLIENT=1';

const OPENAI = 'gpt-4o-mini-openai';
const AZURE = 'azure-gpt';
const TUNE = 'tune-openai';
const LINES = 40;

let harness: Harness;
before(async () => {
  harness = await startHarness({
    config: (emulators) => ({
      files_settings: [
        { custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
        { custom_llm_provider: 'azure', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' },
      ],
      model_list: [
        ...BATCH_MODELS(emulators.urls),
        ...vertexBatchModels(emulators),
        { model_name: TUNE, litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }, model_info: { id: 'oai-ft' } },
      ],
    }),
  });
  harness.emulators.google.setBatchStepMs(40);
  harness.emulators.openai.fineTuning.stepMs = 40;
});
after(() => harness?.close());

function runPython(phase: string, args: Record<string, unknown>): Promise<any> {
  assert.ok(
    existsSync(resolve(clientSource, 'openai/__init__.py')),
    `The official Python client is missing: expected ${clientSource} (see ../shared/clients/README.md; UNIFILE_PYTHON_CLIENT_DIR names another folder). Set UNIFILE_SKIP_PYTHON_CLIENT=1 to run without it.`,
  );
  assert.ok(existsSync(python), `No Python interpreter at ${python} (set UNIFILE_PYTHON, or UNIFILE_SKIP_PYTHON_CLIENT=1 to run without it).`);
  return new Promise((resolveRun, reject) => {
    execFile(
      python,
      [resolve(repoRoot, 'test/python/batches_fine_tuning_flow.py'), phase, `${harness.url}/v1`, JSON.stringify(args)],
      { env: { ...process.env, PYTHONPATH: `${clientSource}:${resolve(clients, 'py-shim')}` }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`python client failed (${phase}): ${error.message}\n${stderr}`)) : resolveRun(JSON.parse(stdout))),
    );
  });
}

const failedWith = (seen: any, kind: string, status: number) => {
  assert.equal(seen?.raised, kind, JSON.stringify(seen));
  assert.equal(seen.status, status);
};
const batchCreates = (calls: Array<{ method: string; path: string; json?: unknown }>) => calls.filter((call) => call.method === 'POST' && /\/batches$/.test(call.path));

test('python: managed batches on OpenAI, Azure and Vertex, every custom_id answered, list auto-paging, strangers 404', { skip }, async () => {
  const owner = await harness.newUser({ user_id: 'py-batch-owner' });
  const stranger = await harness.newUser({ user_id: 'py-batch-stranger' });
  const { openai, azure, google } = harness.emulators;
  const before = { openai: batchCreates(openai.calls).length, azure: batchCreates(azure.calls).length, vertex: google.batchJobs().length };
  const seen = await runPython('batches', { owner_key: owner.key, stranger_key: stranger.key, models: [OPENAI, AZURE, VERTEX_BATCH_MODEL], lines: LINES });

  const echo: Record<string, string> = { [OPENAI]: 'openai:gpt-4o-mini', [AZURE]: 'azure:my-gpt-deployment', [VERTEX_BATCH_MODEL]: 'vertex:gemini-2.5-flash' };
  const batchIds: string[] = [];
  for (const model of [OPENAI, AZURE, VERTEX_BATCH_MODEL]) {
    const entry = seen[model];
    assert.match(entry.file.id, /^file-uf_/, model);
    assert.equal(entry.file.purpose, 'batch');
    assert.deepEqual(entry.file.target_model_names, [model]);
    assert.equal(entry.create_status, 200);
    assert.match(entry.create_content_type, /^application\/json/);
    assert.match(entry.created.id, /^batch_uf_[A-Za-z0-9_-]{24}$/);
    assert.equal(entry.created.input_file_id, entry.file.id);
    assert.deepEqual(entry.created.metadata, { job: 'python', model });
    assert.equal(entry.done.status, 'completed', `${model}: ${JSON.stringify(entry.done.errors)}`);
    assert.deepEqual(entry.done.request_counts, { total: LINES, completed: LINES, failed: 0 });
    assert.match(entry.done.output_file_id, /^file-uf_/);
    assert.equal(entry.done.error_file_id, null);
    // Every custom_id answered once, by the deployment the file was written to.
    assert.equal(entry.output.count, LINES, model);
    assert.deepEqual(entry.output.status_codes, [200]);
    for (let index = 0; index < LINES; index++) assert.equal(entry.output.answers[`py-${index}`], `Echo from ${echo[model]}: question ${index}`, `${model} py-${index}`);
    assert.equal(entry.output_file.purpose, 'batch_output');
    assert.equal(entry.output_file.filename, `${entry.created.id}_output.jsonl`);
    assert.deepEqual(entry.again, entry.done, 'a terminal batch is served as it is');
    batchIds.push(entry.created.id);
  }
  // What the providers got: one batch each on the deployment's own copy of the file, no gateway field.
  for (const [emulator, model] of [[openai, OPENAI], [azure, AZURE]] as const) {
    const created = batchCreates(emulator.calls).slice(model === OPENAI ? before.openai : before.azure);
    assert.equal(created.length, 1, model);
    const body = created[0]!.json as Record<string, unknown>;
    const [copy] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${seen[model].file.id}`);
    assert.equal(body.input_file_id, copy!.provider_file_id, model);
    assert.deepEqual(Object.keys(body).sort(), ['completion_window', 'endpoint', 'input_file_id', 'metadata'].filter((key) => key in body).sort());
    assert.ok(!('target_model_names' in body) && !('model' in body), JSON.stringify(body));
  }
  assert.equal(google.batchJobs().length, before.vertex + 1);

  // The client's auto-pagination (limit=1, following `after`) and one explicit next page.
  assert.deepEqual(seen.paged_ids, [...batchIds].reverse());
  assert.deepEqual(seen.first_page, { ids: [batchIds[2], batchIds[1]], has_more: true });
  assert.deepEqual(seen.next_page_ids, [batchIds[0]]);
  assert.deepEqual([...seen.output_files_listed].sort(), batchIds.map((_, index) => seen[[OPENAI, AZURE, VERTEX_BATCH_MODEL][index]!].done.output_file_id).sort());

  // Another user: NotFoundError (404) for the batch, its cancel, its output and input, and an empty list.
  for (const name of ['retrieve', 'cancel', 'content', 'input_retrieve', 'create_on_input', 'unknown']) failedWith(seen.stranger[name], 'NotFoundError', 404);
  assert.equal(seen.stranger.retrieve.body.code, 'batch_not_found');
  assert.equal(seen.stranger.content.body.code, 'file_not_found');
  assert.deepEqual(seen.stranger.list, []);
  assert.equal(batchCreates(openai.calls).length, before.openai + 1, "nothing created for the stranger's attempt");
});

test('python: a target_model_names list (repeated name[] fields before the file part) makes a managed batch file on Azure', { skip }, async () => {
  const owner = await harness.newUser({});
  const uploadsBefore = harness.emulators.azure.calls.filter((call) => call.method === 'POST' && call.path.endsWith('/files')).length;
  const seen = await runPython('list-form-upload', { owner_key: owner.key, model: AZURE, lines: 5 });
  assert.match(seen.file.id, /^file-uf_/);
  assert.deepEqual(seen.file.target_model_names, [AZURE]);
  assert.equal(seen.done.status, 'completed');
  assert.equal(seen.output_count, 5);
  const uploads = harness.emulators.azure.calls.filter((call) => call.method === 'POST' && call.path.endsWith('/files')).slice(uploadsBefore);
  assert.equal(uploads.length, 1);
  assert.deepEqual(Object.keys(uploads[0]!.form!.fields), ['purpose'], 'no gateway field upstream');
  assert.equal(uploads[0]!.form!.files[0]!.field, 'file');
});

test('python: cancel an Azure batch part-way (cancelling → cancelled, partial output), delete refused with 409 while it runs', { skip }, async () => {
  const owner = await harness.newUser({});
  const azure = harness.emulators.azure;
  azure.batches.setClock({ stepMs: 120, linesPerStep: 5 });
  try {
    const seen = await runPython('cancel', { owner_key: owner.key, model: AZURE, lines: 200 });
    failedWith(seen.delete_while_running, 'ConflictError', 409);
    assert.equal(seen.delete_while_running.body.code, 'file_in_use');
    assert.ok(seen.delete_while_running.body.message.includes(seen.created.id));
    assert.equal(seen.progressing, 'in_progress');
    assert.ok(['cancelling', 'cancelled'].includes(seen.cancelling.status));
    assert.ok(['cancelling', 'cancelled'].includes(seen.cancel_again.status));
    assert.equal(seen.cancelled.status, 'cancelled');
    assert.match(seen.cancelled.output_file_id, /^file-uf_/);
    assert.ok(seen.partial_count > 0 && seen.partial_count < 200, `partial: ${seen.partial_count}`);
    assert.equal(seen.partial_count, seen.cancelled.request_counts.completed);
    assert.equal(seen.delete_after.deleted, true);
    assert.ok(azure.calls.some((call) => call.method === 'POST' && call.path.endsWith('/cancel')), 'cancelled upstream');
  } finally {
    azure.batches.setClock({ stepMs: 20, linesPerStep: 250 });
  }
});

test('python: a malformed batch line is openai.BadRequestError naming the line, nothing uploaded', { skip }, async () => {
  const owner = await harness.newUser({ user_id: 'py-malformed' });
  const uploads = () => harness.emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/files').length;
  const before = uploads();
  const seen = await runPython('malformed', { owner_key: owner.key, model: OPENAI });
  failedWith(seen.broken_json, 'BadRequestError', 400);
  assert.match(seen.broken_json.message, /^Error code: 400 - .*Line 3 of the batch file is not valid JSON/);
  assert.deepEqual(Object.keys(seen.broken_json.body).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(seen.broken_json.body.type, 'invalid_request_error');
  failedWith(seen.other_model, 'BadRequestError', 400);
  assert.match(seen.other_model.body.message, /Line 2 .*"not-a-target"/);
  assert.deepEqual(seen.files_after, []);
  assert.equal(uploads(), before, 'nothing uploaded');
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files WHERE owner_id = 'py-malformed'`))[0]!.n, 0);
});

test('python: plain uploads routed by x-litellm-model and custom_llm_provider run as plain batches on that provider', { skip }, async () => {
  const owner = await harness.newUser({});
  const before = batchCreates(harness.emulators.azure.calls).length;
  const seen = await runPython('plain', { owner_key: owner.key, model: AZURE, provider: 'azure', deployment_model: 'my-gpt-deployment' });
  for (const name of ['by_header', 'by_provider']) {
    const entry = seen[name];
    assert.doesNotMatch(entry.file.id, /uf_/, 'the provider id');
    assert.equal(entry.created.input_file_id, entry.file.id, JSON.stringify(entry.created));
    assert.equal(entry.done.status, 'completed');
    assert.equal(entry.output_count, 3);
  }
  const created = batchCreates(harness.emulators.azure.calls).slice(before);
  assert.deepEqual(created.map((call) => (call.json as { input_file_id: string }).input_file_id), [seen.by_header.file.id, seen.by_provider.file.id]);
});

test('python: gateway fields in extra_body, extra_query and extra_headers are honoured and never forwarded', { skip }, async () => {
  const owner = await harness.newUser({});
  const openai = harness.emulators.openai;
  const first = openai.calls.length;
  const seen = await runPython('gateway-fields', { owner_key: owner.key, model: OPENAI, tune_model: TUNE });
  assert.equal(seen.retrieve_body, 'completed');
  assert.ok(['validating', 'in_progress', 'finalizing', 'completed'].includes(seen.retrieve_query));
  assert.deepEqual(seen.list_query, [...seen.batch_ids].reverse());
  assert.deepEqual(seen.list_body, [...seen.batch_ids].reverse());
  assert.match(seen.job_id, /^ftjob-uf_/);
  assert.deepEqual(seen.job_list_query, [seen.job_id]);
  assert.equal(seen.job_retrieve_body, seen.job_id);
  // The job may have finished before the cancel (the emulator's clock is short): then it is a 400 saying so.
  if (seen.job_cancel_body !== 'cancelled') {
    failedWith(seen.job_cancel_body, 'BadRequestError', 400);
    assert.match(seen.job_cancel_body.body.message, /has already succeeded/);
  }
  for (const call of openai.calls.slice(first)) {
    if (call.json === undefined || call.json === null) continue;
    const keys = Object.keys(call.json as object);
    assert.ok(!keys.includes('custom_llm_provider') && !keys.includes('target_model_names'), `${call.method} ${call.path}: ${JSON.stringify(call.json)}`);
    if (call.path.endsWith('/batches') || call.path.endsWith('/fine_tuning/jobs')) assert.ok(!keys.includes('model') || call.path.endsWith('/fine_tuning/jobs'), JSON.stringify(call.json));
    assert.ok(!call.path.includes('custom_llm_provider') && call.query.custom_llm_provider === undefined, `${call.method} ${call.path}`);
  }
  const jobCreate = openai.calls.slice(first).find((call) => call.method === 'POST' && call.path === '/v1/fine_tuning/jobs');
  assert.equal((jobCreate!.json as { model: string }).model, 'gpt-4o-mini', 'the deployment model upstream');
});

test('python: fine-tuning create (with_raw_response), retrieve, list and events auto-paging, the tuned model in chat; strangers 404', { skip }, async () => {
  const owner = await harness.newUser({ user_id: 'py-tuner' });
  const stranger = await harness.newUser({});
  const openai = harness.emulators.openai;
  const first = openai.calls.length;
  const seen = await runPython('fine-tuning', { owner_key: owner.key, stranger_key: stranger.key, model: TUNE });
  assert.match(seen.file.id, /^file-uf_/);
  assert.equal(seen.create_status, 200);
  assert.match(seen.created.id, /^ftjob-uf_/);
  assert.equal(seen.created.training_file, seen.file.id);
  assert.equal(seen.created.model, TUNE);
  assert.equal(seen.done.status, 'succeeded', JSON.stringify(seen.done.error));
  assert.match(seen.done.fine_tuned_model, /^ft:gpt-4o-mini:.*:pyflow:/);
  assert.match(seen.done.result_files[0], /^file-uf_/);
  assert.equal(seen.result_head.slice(0, 11), 'step,train_');
  assert.equal(seen.events[0], 'The job has successfully completed');
  assert.equal(seen.events.at(-1), 'Created fine-tuning job');
  assert.ok(seen.events.length > 2, 'the client followed the events pages (limit=2)');
  assert.deepEqual(seen.listed, [seen.created.id]);
  assert.equal(seen.chat.model, seen.done.fine_tuned_model);
  assert.ok(seen.models.includes(seen.done.fine_tuned_model));

  const calls = openai.calls.slice(first);
  const create = calls.find((call) => call.method === 'POST' && call.path === '/v1/fine_tuning/jobs')!;
  const [copy] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${seen.file.id}`);
  const body = create.json as Record<string, any>;
  assert.equal(body.training_file, copy!.provider_file_id, "the deployment's own copy");
  assert.equal(body.model, 'gpt-4o-mini');
  assert.equal(body.suffix, 'pyflow');
  assert.deepEqual(body.hyperparameters, { n_epochs: 1 });
  assert.ok(calls.some((call) => call.path === '/v1/chat/completions' && (call.json as { model?: string }).model === seen.done.fine_tuned_model && call.status === 200));

  // Cancelling the finished job: a 400 that says why, with no provider call (the stored job is final).
  failedWith(seen.cancel_finished, 'BadRequestError', 400);
  assert.equal(seen.cancel_finished.body.message, `Fine-tuning job ${seen.created.id} has already succeeded; only an unfinished job can be cancelled.`);
  assert.equal(seen.cancel_finished.body.code, 'invalid_request');
  assert.ok(!calls.some((call) => call.path.endsWith('/cancel')), 'no cancel sent upstream');

  for (const name of ['retrieve', 'cancel', 'events', 'chat']) failedWith(seen.stranger[name], 'NotFoundError', 404);
  assert.deepEqual(seen.stranger.list, []);
});

test('python: fine-tuning cancel is idempotent and shows in the events', { skip }, async () => {
  const owner = await harness.newUser({});
  const openai = harness.emulators.openai;
  openai.fineTuning.stepMs = 600_000;
  try {
    const first = openai.calls.length;
    const seen = await runPython('fine-tuning-cancel', { owner_key: owner.key, model: TUNE });
    assert.equal(seen.cancelled.status, 'cancelled');
    assert.equal(seen.cancel_again.status, 'cancelled');
    assert.equal(seen.retrieved.status, 'cancelled');
    assert.equal(seen.events[0], 'Fine-tuning job cancelled');
    const cancels = openai.calls.slice(first).filter((call) => call.method === 'POST' && call.path.endsWith('/cancel'));
    assert.equal(cancels.length, 1, 'a cancelled job is not cancelled again upstream');
  } finally {
    openai.fineTuning.stepMs = 40;
  }
});

test('a cancel of a job that finished after it was last stored: the provider\'s 400 becomes one that says the job has finished', async () => {
  const owner = await harness.newUser({});
  const client = harness.client(owner.key);
  const openai = harness.emulators.openai;
  const training = await client.files.create({ file: await toFile(Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] })), 'train.jsonl'), purpose: 'fine-tune', target_model_names: TUNE } as never);
  const job = await client.fineTuning.jobs.create({ model: TUNE, training_file: training.id });
  assert.equal(job.status, 'validating_files');
  const [stored] = await rows(harness, sql`SELECT provider_job_id FROM fine_tuning_jobs WHERE id = ${job.id}`);
  // Wait on the emulator itself (not the gateway, whose row stays unfinished) until the job succeeded.
  const deadline = Date.now() + 10_000;
  while (openai.fineTuning.status(String(stored!.provider_job_id)) !== 'succeeded') {
    assert.ok(Date.now() < deadline, 'the emulated job finished');
    await openai.fineTuning.advance();
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  const cancelsBefore = openai.calls.filter((call) => call.path.endsWith('/cancel')).length;
  await assert.rejects(client.fineTuning.jobs.cancel(job.id), (error: { status?: number; error?: { message?: string; code?: string } }) => {
    assert.equal(error.status, 400);
    assert.equal(error.error?.message, `Fine-tuning job ${job.id} has already succeeded; only an unfinished job can be cancelled.`);
    return true;
  });
  assert.ok(openai.calls.filter((call) => call.path.endsWith('/cancel')).length <= cancelsBefore + 1);
  const [after] = await rows(harness, sql`SELECT status FROM fine_tuning_jobs WHERE id = ${job.id}`);
  assert.equal(after!.status, 'succeeded', 'the finished job was stored on the way');
  assert.equal((await client.fineTuning.jobs.retrieve(job.id)).status, 'succeeded');
});
