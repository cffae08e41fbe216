/**
 * What a batch file's lines hold, checked before any batch runs (README "Batches"): the lines' one `url`
 * must be the batch's endpoint (a mismatch, or a line naming another url, is 400 with no provider
 * call); an endpoint the provider does not run is 400 saying so; a managed file named in the lines
 * of an unfinished batch cannot be deleted (409 naming the batch); a batch file uploaded before
 * its lines were recorded as checked is read and checked at its first create.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import OpenAI, { toFile } from 'openai';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { BATCH_MODELS, batchLines, pollUntil, rows, uploadBatchFile } from './support/batch-suite.ts';
import { VERTEX_BATCH_MODEL, vertexBatchModels } from './support/vertex-batch-config.ts';
import { waitFor } from './support/wait-for.ts';

const OPENAI_MODEL = 'gpt-4o-mini-openai';
let harness: Harness;
let alice: OpenAI;
let aliceKey: string;
let bob: OpenAI;

before(async () => {
  harness = await startHarness({ config: (emulators) => ({ model_list: [...BATCH_MODELS(emulators.urls), ...vertexBatchModels(emulators)] }) });
  const aliceUser = await harness.newUser({ user_id: 'checks-alice' });
  aliceKey = aliceUser.key;
  alice = harness.client(aliceKey);
  bob = harness.client((await harness.newUser({ user_id: 'checks-bob' })).key);
});
after(async () => {
  await harness.close();
});

/** Every call any emulator received. */
const providerCalls = () => [harness.emulators.openai, harness.emulators.azure, harness.emulators.google].reduce((sum, emulator) => sum + emulator.calls.length, 0);
const batchCount = async () => (await rows(harness, sql`SELECT count(*)::int AS n FROM batches`))[0]!.n as number;

const lineFor = (index: number, model: string, url: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id: `req-${index}`, method: 'POST', url, body: { model, messages: [{ role: 'user', content: `question ${index}` }], ...extra } });

async function rejected(call: Promise<unknown>, status: number, check: (error: { code: string; param: string | null; message: string }) => void): Promise<void> {
  await assert.rejects(call, (error: { status?: number; error?: { code: string; param: string | null; message: string } }) => {
    assert.equal(error.status, status, JSON.stringify(error.error));
    check(error.error!);
    return true;
  });
}

test('a batch whose endpoint is not the url of its lines is 400 naming both, with no provider call and no batch', async () => {
  const file = await uploadBatchFile(alice, batchLines(3, OPENAI_MODEL), OPENAI_MODEL);
  const [recorded] = await rows(harness, sql`SELECT batch_line_url, batch_line_files FROM managed_files WHERE id = ${file.id}`);
  assert.deepEqual(recorded, { batch_line_url: '/v1/chat/completions', batch_line_files: [] }, 'recorded at upload');
  const calls = providerCalls();
  const batches = await batchCount();
  await rejected(alice.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }), 400, (error) => {
    assert.equal(error.code, 'mismatched_endpoint');
    assert.equal(error.param, 'endpoint');
    assert.match(error.message, /'\/v1\/embeddings' does not match .*"\/v1\/chat\/completions"/);
    assert.ok(error.message.includes(file.id));
  });
  assert.equal(providerCalls(), calls, 'no provider call');
  assert.equal(await batchCount(), batches, 'no batch recorded');
  // The matching endpoint runs.
  const created = await alice.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  assert.equal((await pollUntil(alice, created.id, ['completed', 'failed'])).status, 'completed');
});

test('a managed batch file whose lines name different urls is refused at upload naming the line, nothing uploaded', async () => {
  const text = [lineFor(0, OPENAI_MODEL, '/v1/chat/completions'), lineFor(1, OPENAI_MODEL, '/v1/chat/completions'), lineFor(2, OPENAI_MODEL, '/v1/embeddings')].join('\n');
  const calls = providerCalls();
  const files = (await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files`))[0]!.n;
  await rejected(uploadBatchFile(alice, text, OPENAI_MODEL), 400, (error) => {
    assert.equal(error.param, 'file');
    assert.match(error.message, /^Line 3 of the batch file has url "\/v1\/embeddings", but line 1 has "\/v1\/chat\/completions"/);
  });
  const notText = [lineFor(0, OPENAI_MODEL, '/v1/chat/completions'), JSON.stringify({ custom_id: 'x', method: 'POST', url: 7, body: { model: OPENAI_MODEL } })].join('\n');
  await rejected(uploadBatchFile(alice, notText, OPENAI_MODEL), 400, (error) => assert.match(error.message, /^Line 2 .*"url" that is not a non-empty string/));
  assert.equal(providerCalls(), calls, 'nothing reached a provider');
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files`))[0]!.n, files, 'no managed file recorded');
});

test('a plain batch file is read at create: lines calling another endpoint are 400, no batch created upstream', async () => {
  const raw = (await bob.files.create({ file: await toFile(Buffer.from(batchLines(2, 'gpt-4o-mini')), 'plain.jsonl'), purpose: 'batch' }, { headers: { 'x-litellm-model': OPENAI_MODEL } })).id;
  const creates = () => harness.emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/batches').length;
  const before = creates();
  await rejected(bob.batches.create({ input_file_id: raw, endpoint: '/v1/responses', completion_window: '24h' }), 400, (error) => {
    assert.equal(error.code, 'mismatched_endpoint');
    assert.ok(error.message.includes(raw));
  });
  assert.equal(creates(), before, 'no batch created upstream');
});

test('Vertex runs chat completions only: another endpoint is 400 saying so, before any provider call', async () => {
  const file = await uploadBatchFile(alice, [lineFor(0, VERTEX_BATCH_MODEL, '/v1/embeddings', { input: 'x' })].join('\n'), VERTEX_BATCH_MODEL);
  const calls = providerCalls();
  await rejected(alice.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }), 400, (error) => {
    assert.equal(error.code, 'unsupported_endpoint');
    assert.equal(error.param, 'endpoint');
    assert.equal(error.message, "Batches on provider 'vertex_ai' support only '/v1/chat/completions', not '/v1/embeddings'.");
  });
  assert.equal(providerCalls(), calls, 'no provider call');
});

test('a managed file named in the lines of an unfinished batch cannot be deleted (409 naming the batch); after the batch ends it deletes', async () => {
  const pdf = (await alice.files.create({ file: await toFile(Buffer.from('%PDF-1.4 named'), 'named.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: OPENAI_MODEL } as never)).id;
  const text = [lineFor(0, OPENAI_MODEL, '/v1/chat/completions'), JSON.stringify({ custom_id: 'req-1', method: 'POST', url: '/v1/chat/completions', body: { model: OPENAI_MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'read' }, { type: 'file', file: { file_id: pdf } }] }] } })].join('\n');
  const file = await uploadBatchFile(alice, text, OPENAI_MODEL);
  assert.deepEqual((await rows(harness, sql`SELECT batch_line_files FROM managed_files WHERE id = ${file.id}`))[0]!.batch_line_files, [pdf]);
  const emulator = harness.emulators.openai;
  // Slow enough for the deletes below to find it running (each step waits this long).
  emulator.batches.setClock({ stepMs: 3000 });
  let created: OpenAI.Batches.Batch;
  try {
    created = await alice.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    assert.deepEqual(await rows(harness, sql`SELECT file_id FROM batch_file_references WHERE batch_id = ${created.id}`), [{ file_id: pdf }]);
    const refused = await harness.fetch(`/v1/files/${pdf}`, { method: 'DELETE', key: aliceKey });
    assert.equal(refused.status, 409);
    const body = (await refused.json()) as { error: { code: string; message: string; param: string } };
    assert.equal(body.error.code, 'file_in_use');
    assert.equal(body.error.message, `File ${pdf} is named in the lines of batch ${created.id}, which has not finished; delete it after the batch ends.`);
    assert.equal((await rows(harness, sql`SELECT status FROM managed_files WHERE id = ${pdf}`))[0]!.status, 'active', 'still there');
    const input = await harness.fetch(`/v1/files/${file.id}`, { method: 'DELETE', key: aliceKey });
    assert.equal(input.status, 409, 'the input too');
    assert.match(((await input.json()) as { error: { message: string } }).error.message, /is the input of batch/);
    await alice.batches.cancel(created.id);
  } finally {
    emulator.batches.setClock({ stepMs: 20 });
  }
  await pollUntil(alice, created!.id, ['cancelled']);
  assert.equal((await alice.files.delete(pdf)).deleted, true, 'deletes once the batch has ended');
  assert.equal((await alice.files.delete(file.id)).deleted, true);
});

test('a batch file uploaded before its lines were recorded is read and checked at its first create', async () => {
  const upstream = new OpenAI({ apiKey: harness.emulators.openai.apiKey, baseURL: harness.emulators.openai.apiBase });
  const creates = () => harness.emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/batches').length;
  // As such a file was: checked for shape at upload, its references never; nothing recorded.
  const legacy = async (owner: OpenAI, text: string) => {
    const file = await uploadBatchFile(owner, batchLines(1, OPENAI_MODEL), OPENAI_MODEL);
    const stored = await upstream.files.create({ file: await toFile(Buffer.from(text), 'old.jsonl'), purpose: 'batch' });
    await harness.runtime.database.db.execute(sql`UPDATE managed_file_copies SET provider_file_id = ${stored.id} WHERE file_id = ${file.id}`);
    await harness.runtime.database.db.execute(sql`UPDATE managed_files SET batch_line_url = NULL, batch_line_files = NULL WHERE id = ${file.id}`);
    return file.id;
  };
  // Alice's own plain upload: a raw id bob's lines may not name.
  const aliceRaw = (await alice.files.create({ file: await toFile(Buffer.from('alice secrets'), 'secret.txt'), purpose: 'user_data' }, { headers: { 'x-litellm-model': OPENAI_MODEL } })).id;
  const named = (fileId: string) => JSON.stringify({ custom_id: 'req-9', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'read' }, { type: 'file', file: { file_id: fileId } }] }] } });
  const bad = await legacy(bob, [lineFor(0, 'gpt-4o-mini', '/v1/chat/completions'), named(aliceRaw)].join('\n'));
  const before = creates();
  await rejected(bob.batches.create({ input_file_id: bad, endpoint: '/v1/chat/completions', completion_window: '24h' }), 404, (error) => assert.match(error.message, /^Line 2 .*no such File/));
  const mixed = await legacy(bob, [lineFor(0, 'gpt-4o-mini', '/v1/chat/completions'), lineFor(1, 'gpt-4o-mini', '/v1/embeddings')].join('\n'));
  await rejected(bob.batches.create({ input_file_id: mixed, endpoint: '/v1/chat/completions', completion_window: '24h' }), 400, (error) => assert.match(error.message, /^Line 2 .*"\/v1\/embeddings"/));
  const unified = await legacy(bob, [named(mixed)].join('\n'));
  await rejected(bob.batches.create({ input_file_id: unified, endpoint: '/v1/chat/completions', completion_window: '24h' }), 400, (error) => assert.match(error.message, /^Line 1 .*uploaded before .*upload it again/));
  assert.equal(creates(), before, 'no batch created upstream');
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files WHERE id IN (${bad}, ${mixed}, ${unified}) AND batch_line_url IS NULL`))[0]!.n, 3, 'still unchecked');

  // A clean one is checked once, recorded, and runs; the endpoint is held to its lines.
  const clean = await legacy(bob, [lineFor(0, 'gpt-4o-mini', '/v1/chat/completions'), lineFor(1, 'gpt-4o-mini', '/v1/chat/completions')].join('\n'));
  await rejected(bob.batches.create({ input_file_id: clean, endpoint: '/v1/embeddings', completion_window: '24h' }), 400, (error) => assert.equal(error.code, 'mismatched_endpoint'));
  assert.deepEqual((await rows(harness, sql`SELECT batch_line_url, batch_line_files FROM managed_files WHERE id = ${clean}`))[0], { batch_line_url: '/v1/chat/completions', batch_line_files: [] });
  const copy = (await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${clean}`))[0]!.provider_file_id;
  const reads = () => harness.emulators.openai.calls.filter((call) => call.method === 'GET' && call.path === `/v1/files/${copy}/content`).length;
  // The emulator records a download once its answer has finished, which can be after the gateway has answered.
  await waitFor(() => (reads() === 1 ? true : undefined), 'the check read recorded');
  const created = await bob.batches.create({ input_file_id: clean, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const done = await pollUntil(bob, created.id, ['completed', 'failed']);
  assert.deepEqual(done.request_counts, { total: 2, completed: 2, failed: 0 });
  assert.equal(reads(), 1, 'not read again');
});

test('an unrecorded batch file is read from the copy the batch runs on once it is ready (an expired copy is re-made first)', async () => {
  const file = await uploadBatchFile(alice, batchLines(2, OPENAI_MODEL), `${OPENAI_MODEL},${VERTEX_BATCH_MODEL}`);
  await harness.runtime.database.db.execute(sql`UPDATE managed_files SET batch_line_url = NULL, batch_line_files = NULL WHERE id = ${file.id}`);
  // The OpenAI copy has expired and is gone upstream: the Vertex copy's bytes re-make it.
  const [before] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${file.id} AND deployment_id = 'oai-1'`);
  const upstream = new OpenAI({ apiKey: harness.emulators.openai.apiKey, baseURL: harness.emulators.openai.apiBase });
  await upstream.files.delete(before!.provider_file_id as string);
  await harness.runtime.database.db.execute(sql`UPDATE managed_file_copies SET upstream_expires_at = now() - interval '1 second' WHERE file_id = ${file.id} AND deployment_id = 'oai-1'`);
  const created = await alice.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }, { headers: { 'x-litellm-model': OPENAI_MODEL } });
  const [after] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${file.id} AND deployment_id = 'oai-1'`);
  assert.notEqual(after!.provider_file_id, before!.provider_file_id, 're-made');
  const reads = () => harness.emulators.openai.calls.filter((call) => call.method === 'GET' && call.path === `/v1/files/${after!.provider_file_id as string}/content`).length;
  // The emulator records a download once its answer has finished, which can be after the gateway has answered.
  await waitFor(() => (reads() === 1 ? true : undefined), 'the lines were read from the re-made copy');
  assert.equal((await rows(harness, sql`SELECT batch_line_url FROM managed_files WHERE id = ${file.id}`))[0]!.batch_line_url, '/v1/chat/completions');
  assert.equal((await pollUntil(alice, created.id, ['completed', 'failed'])).status, 'completed');
});
