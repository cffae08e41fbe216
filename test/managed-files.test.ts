/**
 * Managed files end to end (README "Endpoints" (managed files)), the LiteLLM walkthrough: an admin creates user_123,
 * who uploads a PDF for gpt-4o-mini-openai (two OpenAI deployments) and gemini-2.0-flash
 * (Vertex/GCS); three identical copies exist upstream; another user sees nothing; the owner
 * lists, retrieves, downloads and deletes it everywhere.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { BUCKET, startManagedHarness, type ManagedHarness } from './support/managed-config.ts';
import { testContext } from './support/silent-logger.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const notFound = (error: { status?: number }) => error.status === 404;

let harness: ManagedHarness;
let second: OpenAIEmulator;
before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
});
after(() => harness.close()); // closes the second emulator too

const pdf = (size = 50_000) => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(size)]);
const uploadsTo = (calls: OpenAIEmulator['calls']) => calls.filter((call) => call.method === 'POST' && call.path === '/v1/files' && call.status === 200);

async function rows(query: ReturnType<typeof sql>) {
  return ((await harness.runtime.database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
}

test('the walkthrough: one upload, three copies, owner-only access, delete everywhere', async () => {
  const owner = await harness.newUser({ user_id: 'user_123' });
  const other = await harness.newUser({ user_id: 'user_456' });
  const client = harness.client(owner.key);
  const data = pdf();

  const file = await client.files.create({
    file: await toFile(data, 'report.pdf', { type: 'application/pdf' }),
    purpose: 'user_data',
    // @ts-expect-error gateway field, sent as an extra form field
    target_model_names: 'gpt-4o-mini-openai, gemini-2.0-flash',
  });
  assert.match(file.id, /^file-uf_[A-Za-z0-9_-]{24}$/);
  assert.equal(file.bytes, data.length);
  assert.equal(file.filename, 'report.pdf');
  assert.equal(file.purpose, 'user_data');

  const [firstCopy] = uploadsTo(harness.emulators.openai.calls).slice(-1);
  const [secondCopy] = uploadsTo(second.calls).slice(-1);
  assert.equal(firstCopy!.form!.files[0]!.sha256, sha256(data));
  assert.equal(secondCopy!.form!.files[0]!.sha256, sha256(data));
  assert.deepEqual(Object.keys(firstCopy!.form!.fields), ['purpose'], 'no gateway field reached OpenAI');
  const objects = harness.emulators.google.objects(BUCKET);
  assert.equal(objects.length, 1);
  assert.equal(objects[0]!.sha256, sha256(data));
  assert.equal(objects[0]!.contentType, 'application/pdf');
  assert.match(objects[0]!.name, /^managed\//, 'the bucket prefix is honoured');

  const [stored] = await rows(sql`SELECT owner_id, mime_type, target_model_names, bytes FROM managed_files WHERE id = ${file.id}`);
  assert.deepEqual({ ...stored, bytes: Number(stored!.bytes) }, { owner_id: 'user_123', mime_type: 'application/pdf', target_model_names: ['gpt-4o-mini-openai', 'gemini-2.0-flash'], bytes: data.length });
  const copies = await rows(sql`SELECT deployment_id, provider, provider_file_id FROM managed_file_copies WHERE file_id = ${file.id} ORDER BY deployment_id`);
  assert.deepEqual(copies.map((copy) => copy.deployment_id), ['oai-1', 'oai-2', 'vertex-1']);
  assert.match(String(copies[2]!.provider_file_id), new RegExp(`^gs://${BUCKET}/managed/`));
  assert.ok(!file.id.includes(String(copies[0]!.provider_file_id)), 'the unified id reveals no provider id');

  const stranger = harness.client(other.key);
  await assert.rejects(stranger.files.retrieve(file.id), notFound);
  await assert.rejects(stranger.files.content(file.id), notFound);
  await assert.rejects(stranger.files.delete(file.id), notFound);
  assert.deepEqual((await stranger.files.list()).data, []);

  const listed = await client.files.list();
  assert.deepEqual(listed.data.map((item) => item.id), [file.id]);
  assert.equal((await client.files.retrieve(file.id)).bytes, data.length);
  const content = await client.files.content(file.id);
  assert.equal(content.headers.get('content-type'), 'application/pdf');
  assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(data));

  assert.deepEqual(await client.files.delete(file.id), { id: file.id, object: 'file', deleted: true });
  assert.equal(harness.emulators.google.objects(BUCKET).length, 0);
  for (const emulator of [harness.emulators.openai, second]) {
    const deletes = emulator.calls.filter((call) => call.method === 'DELETE' && call.status === 200);
    assert.equal(deletes.length, 1);
  }
  await assert.rejects(client.files.retrieve(file.id), notFound);
  assert.deepEqual((await client.files.list()).data, []);
});

test('target_model_names as repeated target_model_names[] fields (an SDK list)', async () => {
  const file = await harness.client().files.create({
    file: await toFile(Buffer.from('hello'), 'hello.txt'),
    purpose: 'assistants',
    // @ts-expect-error gateway field
    target_model_names: ['gemini-2.0-flash', 'azure-gpt'],
  });
  const [row] = await rows(sql`SELECT target_model_names, mime_type FROM managed_files WHERE id = ${file.id}`);
  assert.deepEqual(row, { target_model_names: ['gemini-2.0-flash', 'azure-gpt'], mime_type: 'text/plain' });
  await harness.client().files.delete(file.id);
});

test('unknown names are 400 and disallowed names 403, before anything is uploaded', async () => {
  const limited = await harness.newUser({ user_id: 'limited', models: ['gemini-2.0-flash'] });
  const before = uploadsTo(harness.emulators.openai.calls).length + harness.emulators.google.calls.length;
  const upload = (key: string | undefined, names: string) =>
    harness.client(key).files.create({ file: await_file, purpose: 'user_data', target_model_names: names } as never);
  const await_file = await toFile(Buffer.from('x'), 'x.txt');
  await assert.rejects(upload(undefined, 'gpt-4o-mini-openai, nope, nada'), (error: { status?: number; message: string }) => error.status === 400 && /nope, nada/.test(error.message));
  await assert.rejects(upload(limited.key, 'gemini-2.0-flash,gpt-4o-mini-openai'), (error: { status?: number; message: string }) => error.status === 403 && /gpt-4o-mini-openai/.test(error.message) && !/gemini/.test(error.message));
  assert.equal(uploadsTo(harness.emulators.openai.calls).length + harness.emulators.google.calls.length, before);
});

test('batch JSONL: each OpenAI/Azure copy carries its deployment model name', async () => {
  const lines = ['a', 'b'].map((id) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: id }] } }));
  const file = await harness.client().files.create({
    file: await toFile(Buffer.from(lines.join('\n') + '\n'), 'batch.jsonl'),
    purpose: 'batch',
    // @ts-expect-error gateway field
    target_model_names: 'gpt-4o-mini-openai,azure-gpt',
  });
  const copies = await rows(sql`SELECT deployment_id, provider_file_id FROM managed_file_copies WHERE file_id = ${file.id}`);
  const byDeployment = new Map(copies.map((copy) => [copy.deployment_id, String(copy.provider_file_id)]));
  const openaiBytes = Buffer.from(await (await harness.client().files.content(byDeployment.get('oai-1')!, { headers: { 'custom-llm-provider': 'openai' } })).arrayBuffer());
  const azureBytes = Buffer.from(await (await harness.fetch(`/azure/v1/files/${byDeployment.get('azure-1')}/content`)).arrayBuffer());
  const models = (bytes: Buffer) => bytes.toString('utf8').trim().split('\n').map((line) => JSON.parse(line).body.model);
  assert.deepEqual(models(openaiBytes), ['gpt-4o-mini', 'gpt-4o-mini']);
  assert.deepEqual(models(azureBytes), ['my-gpt-deployment', 'my-gpt-deployment']);
  await harness.client().files.delete(file.id);
});

test('expired files vanish from list and retrieve, and the sweeper deletes their copies', async () => {
  const client = harness.client();
  const file = await client.files.create({
    file: await toFile(Buffer.from('temporary'), 'temp.txt'),
    purpose: 'user_data',
    expires_after: { anchor: 'created_at', seconds: 3600 },
    // @ts-expect-error gateway field
    target_model_names: 'gemini-2.0-flash',
  });
  assert.equal(file.expires_at, file.created_at + 3600);
  assert.equal(harness.emulators.google.objects(BUCKET).length, 1);
  // Move the expiry into the past instead of waiting an hour.
  await harness.runtime.database.db.execute(sql`UPDATE managed_files SET expires_at = now() - interval '1 second' WHERE id = ${file.id}`);
  await assert.rejects(client.files.retrieve(file.id), notFound);
  await assert.rejects(client.files.content(file.id), notFound);
  assert.ok(!(await client.files.list()).data.some((item) => item.id === file.id));

  const result = await harness.runtime.deletion.sweepOnce(testContext);
  assert.equal(result.filesDeleted, 1);
  assert.equal(harness.emulators.google.objects(BUCKET).length, 0);
});

test('same team shares managed files; the admin sees everyone’s', async () => {
  const one = await harness.newUser({ user_id: 'mate-1', team_id: 'blue' });
  const two = await harness.newUser({ user_id: 'mate-2', team_id: 'blue' });
  const file = await harness.client(one.key).files.create({ file: await toFile(Buffer.from('team'), 't.txt'), purpose: 'user_data', target_model_names: 'gemini-2.0-flash' } as never);
  assert.equal((await harness.client(two.key).files.retrieve(file.id)).id, file.id);
  assert.ok((await harness.client(two.key).files.list()).data.some((item) => item.id === file.id));
  assert.ok((await harness.client().files.list()).data.some((item) => item.id === file.id));
  await harness.client(two.key).files.delete(file.id);
});

test('50 concurrent managed uploads each get their own id and copies', async () => {
  const owner = await harness.newUser({ user_id: 'busy' });
  const client = harness.client(owner.key);
  const payloads = Array.from({ length: 50 }, (_, index) => Buffer.from(`payload ${index} ${randomBytes(8).toString('hex')}`));
  const files = await Promise.all(
    payloads.map(async (data, index) => client.files.create({ file: await toFile(data, `f${index}.txt`), purpose: 'user_data', target_model_names: 'gpt-4o-mini-openai' } as never)),
  );
  assert.equal(new Set(files.map((file) => file.id)).size, 50);
  const [count] = await rows(sql`SELECT count(*)::int AS n FROM managed_file_copies c JOIN managed_files f ON f.id = c.file_id WHERE f.owner_id = 'busy'`);
  assert.equal(count!.n, 100);
  const contents = await Promise.all(files.map(async (file) => Buffer.from(await (await client.files.content(file.id)).arrayBuffer())));
  contents.forEach((content, index) => assert.equal(sha256(content), sha256(payloads[index]!)));
});
