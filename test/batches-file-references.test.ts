/**
 * Files named inside batch lines (README "Batches" and "Endpoints" (chat)): a provider runs every line
 * with the gateway's credentials, so user B's batch must never read user A's file. Another
 * user's raw provider id, another user's unified id, or the raw id of another user's managed
 * copy is refused naming the line, with nothing uploaded or created; the caller's own unified id
 * reaches each deployment as that deployment's copy (OpenAI file id, Vertex gs:// URI); a plain
 * batch file is read at create and held to the same rules.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import OpenAI, { toFile } from 'openai';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { BATCH_MODELS, outputLines, pollUntil, rows, uploadBatchFile } from './support/batch-suite.ts';
import { VERTEX_BATCH_BUCKET, VERTEX_BATCH_MODEL, vertexBatchModels } from './support/vertex-batch-config.ts';

const OPENAI_MODEL = 'gpt-4o-mini-openai';
let harness: Harness;
let alice: OpenAI;
let bob: OpenAI;
let bobId: string;
/** Alice's managed file on the OpenAI and Vertex deployments, and its copies' provider ids. */
let aliceFile: string;
let aliceCopies: Map<string, string>;
/** Alice's managed file on the OpenAI deployment only. */
let aliceOpenAIOnly: string;
/** Alice's plain upload on OpenAI. */
let aliceRaw: string;

before(async () => {
  harness = await startHarness({ config: (emulators) => ({ model_list: [...BATCH_MODELS(emulators.urls), ...vertexBatchModels(emulators)] }) });
  alice = harness.client((await harness.newUser({ user_id: 'lines-alice' })).key);
  const bobUser = await harness.newUser({ user_id: 'lines-bob' });
  bob = harness.client(bobUser.key);
  bobId = 'lines-bob';
  const pdf = await toFile(Buffer.from('%PDF-1.4 alice secrets'), 'alice.pdf', { type: 'application/pdf' });
  aliceFile = (await alice.files.create({ file: pdf, purpose: 'user_data', target_model_names: `${OPENAI_MODEL},${VERTEX_BATCH_MODEL}` } as never)).id;
  const copies = await rows(harness, sql`SELECT deployment_id, provider_file_id FROM managed_file_copies WHERE file_id = ${aliceFile}`);
  aliceCopies = new Map(copies.map((row) => [row.deployment_id as string, row.provider_file_id as string]));
  assert.match(aliceCopies.get('oai-1')!, /^file-/);
  assert.match(aliceCopies.get('vertex-batch-1')!, /^gs:\/\//);
  aliceOpenAIOnly = (await alice.files.create({ file: await toFile(Buffer.from('%PDF-1.4 b'), 'b.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: OPENAI_MODEL } as never)).id;
  aliceRaw = (await alice.files.create({ file: await toFile(Buffer.from('raw secrets'), 'raw.txt'), purpose: 'user_data' }, { headers: { 'x-litellm-model': OPENAI_MODEL } })).id;
  assert.doesNotMatch(aliceRaw, /uf_/);
});
after(async () => {
  await harness.close();
});

const line = (index: number, model: string, fileId: string) =>
  JSON.stringify({
    custom_id: `req-${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content: [{ type: 'text', text: `question ${index}` }, { type: 'file', file: { file_id: fileId } }] }] },
  });
const plainLine = (index: number, model: string) =>
  JSON.stringify({ custom_id: `req-${index}`, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: `question ${index}` }] } });

/** Every POST any emulator received (uploads, batch creates, GCS writes). */
const posts = () => [harness.emulators.openai, harness.emulators.azure, harness.emulators.google].flatMap((emulator) => emulator.calls).filter((call) => call.method === 'POST').length;

async function refused(call: Promise<unknown>, status: number, pattern: RegExp, label: string): Promise<void> {
  // The answer may come while the counts below are read: handled here, asserted further down.
  call.catch(() => {});
  const before = posts();
  const managedBefore = (await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files`))[0]!.n;
  await assert.rejects(call, (error: { status?: number; message: string }) => {
    assert.equal(error.status, status, `${label}: ${error.message}`);
    assert.match(error.message, pattern, label);
    return true;
  });
  assert.equal(posts(), before, `${label}: no provider received anything`);
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files`))[0]!.n, managedBefore, `${label}: no managed file recorded`);
}

test("a managed batch file naming another user's file is refused at upload, naming the line, with nothing uploaded", async () => {
  const text = (fileId: string, model = OPENAI_MODEL) => [plainLine(0, model), line(1, model, fileId)].join('\n');
  await refused(uploadBatchFile(bob, text(aliceRaw), OPENAI_MODEL), 404, /Line 2 .*no such File/, "alice's raw OpenAI id");
  await refused(uploadBatchFile(bob, text(aliceFile), OPENAI_MODEL), 404, /Line 2 .*no such File/, "alice's unified id");
  await refused(uploadBatchFile(bob, text(aliceCopies.get('oai-1')!), OPENAI_MODEL), 404, /Line 2 /, "the raw id of alice's managed copy");
  await refused(uploadBatchFile(bob, text(aliceFile, VERTEX_BATCH_MODEL), VERTEX_BATCH_MODEL), 404, /Line 2 /, "alice's unified id for Vertex");
  // Any endpoint's file references, at any depth: Responses input_file / input_image, code interpreter file_ids.
  const responses = (fileId: string) =>
    JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/responses', body: { model: OPENAI_MODEL, input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }, { type: 'input_file', file_id: fileId }] }] } });
  const interpreter = (fileId: string) =>
    JSON.stringify({ custom_id: 'c', method: 'POST', url: '/v1/responses', body: { model: OPENAI_MODEL, input: 'run it', tools: [{ type: 'code_interpreter', container: { type: 'auto', file_ids: ['file-mine-not', fileId] } }] } });
  // Every line of a batch calls the same url: the first lines are Responses requests too.
  const plainResponses = (index: number) => JSON.stringify({ custom_id: `p-${index}`, method: 'POST', url: '/v1/responses', body: { model: OPENAI_MODEL, input: 'hi' } });
  await refused(uploadBatchFile(bob, [plainResponses(0), responses(aliceRaw)].join('\n'), OPENAI_MODEL), 404, /Line 2 /, 'a Responses input_file');
  await refused(uploadBatchFile(bob, [plainResponses(0), plainResponses(1), interpreter(aliceFile)].join('\n'), OPENAI_MODEL), 404, /Line 3 /, 'code interpreter file_ids');
  const deep = { custom_id: 'd', method: 'POST', url: '/v1/responses', body: { model: OPENAI_MODEL, input: [] as unknown[] } };
  let inner: Record<string, unknown> = { file_id: aliceRaw };
  // 30 × 2 levels under body.input: the innermost object at level 63 of the body (the limit is 64).
  for (let depth = 0; depth < 30; depth++) inner = { nested: [inner] };
  deep.body.input.push(inner);
  await refused(uploadBatchFile(bob, JSON.stringify(deep), OPENAI_MODEL), 404, /Line 1 /, 'a reference 63 levels deep');
  // Alice's own file, but not uploaded for every model the batch file goes to.
  await refused(
    uploadBatchFile(alice, [line(0, OPENAI_MODEL, aliceOpenAIOnly)].join('\n'), `${OPENAI_MODEL},${VERTEX_BATCH_MODEL}`),
    400,
    new RegExp(`Line 1 .*not available for model '${VERTEX_BATCH_MODEL}'`),
    'a file without a copy on a target deployment',
  );
  assert.equal((await rows(harness, sql`SELECT count(*)::int AS n FROM managed_files WHERE owner_id = ${bobId}`))[0]!.n, 0);
});

test('the owner\'s unified id reaches OpenAI as the deployment\'s copy, and the batch reads it', async () => {
  const responsesLine = JSON.stringify({
    custom_id: 'resp',
    method: 'POST',
    url: '/v1/responses',
    body: { model: OPENAI_MODEL, input: 'run', tools: [{ type: 'code_interpreter', container: { type: 'auto', file_ids: [aliceFile] } }] },
  });
  const mixed = await uploadBatchFile(alice, responsesLine, OPENAI_MODEL);
  const [mixedCopy] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${mixed.id}`);
  const upstreamFiles = new OpenAI({ apiKey: harness.emulators.openai.apiKey, baseURL: harness.emulators.openai.apiBase });
  const mixedStored = JSON.parse((await (await upstreamFiles.files.content(mixedCopy!.provider_file_id as string)).text()).trim());
  assert.deepEqual(mixedStored.body.tools[0].container.file_ids, [aliceCopies.get('oai-1')], 'file_ids translated too');

  const file = await uploadBatchFile(alice, [line(0, OPENAI_MODEL, aliceFile), line(1, OPENAI_MODEL, aliceFile), plainLine(2, OPENAI_MODEL)].join('\n'), OPENAI_MODEL);
  const [copy] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${file.id}`);
  // What the provider stores: the lines name the deployment's model and its copy of alice's file.
  const upstream = new OpenAI({ apiKey: harness.emulators.openai.apiKey, baseURL: harness.emulators.openai.apiBase });
  const stored = (await (await upstream.files.content(copy!.provider_file_id as string)).text()).trim().split('\n').map((text) => JSON.parse(text));
  assert.equal(stored.length, 3);
  for (const index of [0, 1]) {
    assert.equal(stored[index].body.model, 'gpt-4o-mini');
    assert.equal(stored[index].body.messages[0].content[1].file.file_id, aliceCopies.get('oai-1'));
  }
  assert.ok(!JSON.stringify(stored).includes(aliceFile), 'no unified id reaches the provider');

  const created = await alice.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const done = await pollUntil(alice, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed', JSON.stringify(done.errors));
  assert.deepEqual(done.request_counts, { total: 3, completed: 3, failed: 0 }, 'the provider found the file every line names');
  const answers = await outputLines(alice, done.output_file_id!);
  const first = answers.find((answer) => answer.custom_id === 'req-0')!;
  assert.match(first.response.body.choices[0]!.message.content, /alice\.pdf/);
});

test("the owner's unified id reaches Vertex as the deployment's gs:// copy, mapped at create", async () => {
  const google = harness.emulators.google;
  const file = await uploadBatchFile(alice, [line(0, VERTEX_BATCH_MODEL, aliceFile), plainLine(1, VERTEX_BATCH_MODEL)].join('\n'), VERTEX_BATCH_MODEL);
  const created = await alice.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const job = google.batchJobs().at(-1)!;
  const inputUri = (job.inputConfig as { gcsSource: { uris: string[] } }).gcsSource.uris[0]!;
  const input = (await google.readObject(VERTEX_BATCH_BUCKET, inputUri.slice(`gs://${VERTEX_BATCH_BUCKET}/`.length)))!.toString('utf8').trim().split('\n').map((text) => JSON.parse(text));
  assert.deepEqual(input[0].request.contents[0].parts[1], { fileData: { mimeType: 'application/pdf', fileUri: aliceCopies.get('vertex-batch-1') } });
  const done = await pollUntil(alice, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed', JSON.stringify(done.errors));
  assert.deepEqual(done.request_counts, { total: 2, completed: 2, failed: 0 });

  // Mapped at create: a file deleted since the upload is refused then, naming the line, no job.
  const gone = (await alice.files.create({ file: await toFile(Buffer.from('%PDF-1.4 c'), 'c.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: VERTEX_BATCH_MODEL } as never)).id;
  const later = await uploadBatchFile(alice, [plainLine(0, VERTEX_BATCH_MODEL), line(1, VERTEX_BATCH_MODEL, gone)].join('\n'), VERTEX_BATCH_MODEL);
  await alice.files.delete(gone);
  const jobs = google.batchJobs().length;
  await assert.rejects(alice.batches.create({ input_file_id: later.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), (error: { status?: number; message: string }) => {
    assert.equal(error.status, 404, error.message);
    assert.match(error.message, new RegExp(`Line 2 .*${gone}`));
    return true;
  });
  assert.equal(google.batchJobs().length, jobs, 'no job started');
});

test("a batch file's OpenAI copy re-made after it expired maps the lines' unified ids again", async () => {
  // The Vertex copy holds the original bytes for good: the OpenAI copy is re-made from it.
  const file = await uploadBatchFile(alice, [line(0, OPENAI_MODEL, aliceFile)].join('\n'), `${OPENAI_MODEL},${VERTEX_BATCH_MODEL}`);
  await harness.runtime.database.db.execute(sql`UPDATE managed_file_copies SET upstream_expires_at = now() - interval '1 second' WHERE file_id = ${file.id} AND deployment_id = 'oai-1'`);
  const [before] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${file.id} AND deployment_id = 'oai-1'`);
  const created = await alice.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }, { headers: { 'x-litellm-model': OPENAI_MODEL } });
  const [after] = await rows(harness, sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${file.id} AND deployment_id = 'oai-1'`);
  assert.notEqual(after!.provider_file_id, before!.provider_file_id, 'the copy was re-made');
  const upstream = new OpenAI({ apiKey: harness.emulators.openai.apiKey, baseURL: harness.emulators.openai.apiBase });
  const stored = JSON.parse((await (await upstream.files.content(after!.provider_file_id as string)).text()).trim());
  assert.equal(stored.body.model, 'gpt-4o-mini');
  assert.equal(stored.body.messages[0].content[1].file.file_id, aliceCopies.get('oai-1'));
  const done = await pollUntil(alice, created.id, ['completed', 'failed']);
  assert.deepEqual(done.request_counts, { total: 1, completed: 1, failed: 0 });
});

test('a plain batch file is read at create: another user\'s raw id or any unified id is refused naming the line, no batch created', async () => {
  const upload = async (client: OpenAI, text: string) =>
    (await client.files.create({ file: await toFile(Buffer.from(text), 'plain.jsonl'), purpose: 'batch' }, { headers: { 'x-litellm-model': OPENAI_MODEL } })).id;
  const batchCreates = () => harness.emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/batches').length;
  const create = (client: OpenAI, id: string) => client.batches.create({ input_file_id: id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  for (const [label, fileId, status] of [
    ["alice's raw id", aliceRaw, 404],
    ["the raw id of alice's managed copy", aliceCopies.get('oai-1')!, 404],
    ['a unified id', aliceFile, 400],
  ] as const) {
    const id = await upload(bob, [plainLine(0, 'gpt-4o-mini'), line(1, 'gpt-4o-mini', fileId)].join('\n'));
    const before = batchCreates();
    await assert.rejects(create(bob, id), (error: { status?: number; message: string }) => {
      assert.equal(error.status, status, `${label}: ${error.message}`);
      assert.match(error.message, /Line 2 /, label);
      return true;
    });
    assert.equal(batchCreates(), before, `${label}: no batch created upstream`);
  }
  // Alice's own raw id in her own plain file runs.
  const own = await upload(alice, [line(0, 'gpt-4o-mini', aliceRaw)].join('\n'));
  const done = await pollUntil(alice, (await create(alice, own)).id, ['completed', 'failed']);
  assert.deepEqual(done.request_counts, { total: 1, completed: 1, failed: 0 });
});
