/**
 * LiteLLM's model-based routing for plain files and batches (LiteLLM's model-based files routing, docs.litellm.ai/docs/proxy/files_endpoints):
 * an `x-litellm-model` header or a `model` query/form field picks that model's deployment (its
 * provider and credentials); later calls on the returned raw id go to the same deployment,
 * recorded in the database (the id is the provider's own, nothing encoded in it).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import { startOpenAIEmulator, type OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { batchLines, outputLines, pollUntil, rows } from './support/batch-suite.ts';

let harness: Harness;
let second: OpenAIEmulator;
before(async () => {
  second = await startOpenAIEmulator({ apiKey: 'sk-emulator-openai-2' });
  harness = await startHarness({
    config: (emulators) => ({
      files_settings: [{ custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }],
      model_list: [
        { model_name: 'second-gpt', litellm_params: { model: 'openai/gpt-4o-mini', api_base: `${second.url}/v1`, api_key: 'sk-emulator-openai-2' }, model_info: { id: 'second-1' } },
        { model_name: 'azure-gpt', litellm_params: { model: 'azure/my-gpt-deployment', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' }, model_info: { id: 'azure-1' } },
      ],
    }),
  });
});
after(async () => {
  await harness.close();
  await second.close();
});

const uploadsOn = (calls: OpenAIEmulator['calls'], path: string) => calls.filter((call) => call.method === 'POST' && call.path === path && call.status < 300).length;

test('x-litellm-model sends a plain upload to that model\'s deployment, and later calls on its id follow it', async () => {
  const owner = await harness.newUser({ user_id: 'router' });
  const client = harness.client(owner.key);
  const firstBefore = uploadsOn(harness.emulators.openai.calls, '/v1/files');
  const file = await client.files.create({ file: await toFile(Buffer.from('routed bytes'), 'notes.txt'), purpose: 'user_data' }, { headers: { 'x-litellm-model': 'second-gpt' } });
  assert.match(file.id, /^file-(?!uf_)/, 'a plain upload answers the provider\'s own id');
  await second.waitForCall((call) => call.method === 'POST' && call.path === '/v1/files' && call.status === 200); // it went to the model's deployment
  assert.equal(uploadsOn(harness.emulators.openai.calls, '/v1/files'), firstBefore, 'not to the default openai account');
  const [record] = await rows(harness, sql`SELECT provider, deployment_id, owner_id FROM provider_files WHERE provider_file_id = ${file.id}`);
  assert.deepEqual(record, { provider: 'openai', deployment_id: 'second-1', owner_id: 'router' });

  // No header now: the recorded deployment answers.
  const secondCalls = second.calls.length;
  assert.equal((await client.files.retrieve(file.id)).id, file.id);
  assert.equal(await (await client.files.content(file.id)).text(), 'routed bytes');
  await second.waitForCall((call) => call.seq > secondCalls && call.path === `/v1/files/${file.id}/content`);
  const stranger = harness.client((await harness.newUser({ user_id: 'router-stranger' })).key);
  await assert.rejects(stranger.files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
  assert.equal((await client.files.delete(file.id)).deleted, true);
  await second.waitForCall((call) => call.method === 'DELETE' && call.path === `/v1/files/${file.id}`);
});

test('a `model` form field routes to another provider; retrieve and content find it without naming the provider', async () => {
  const owner = await harness.newUser({ user_id: 'form-router' });
  const client = harness.client(owner.key);
  // @ts-expect-error gateway field, sent as an extra form field
  const file = await client.files.create({ file: await toFile(Buffer.from('on azure'), 'a.txt'), purpose: 'assistants', model: 'azure-gpt' });
  await harness.emulators.azure.waitForCall((call) => call.method === 'POST' && call.path === '/openai/files');
  const [record] = await rows(harness, sql`SELECT provider, deployment_id FROM provider_files WHERE provider_file_id = ${file.id}`);
  assert.deepEqual(record, { provider: 'azure', deployment_id: 'azure-1' });
  assert.equal(await (await client.files.content(file.id)).text(), 'on azure');
});

test('an unknown routed model is a 400 naming it, and nothing is uploaded', async () => {
  const client = harness.client((await harness.newUser({ user_id: 'unknown-router' })).key);
  const before = second.calls.length + harness.emulators.openai.calls.length + harness.emulators.azure.calls.length;
  await assert.rejects(
    client.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'user_data' }, { headers: { 'x-litellm-model': 'no-such-model' } }),
    (error: { status?: number; message: string }) => error.status === 400 && error.message.includes('no-such-model'),
  );
  await assert.rejects(
    client.batches.create({ input_file_id: 'file-abc', endpoint: '/v1/chat/completions', completion_window: '24h' }, { query: { model: 'no-such-model' } }),
    (error: { status?: number; message: string }) => error.status === 400 && error.message.includes('no-such-model'),
  );
  assert.equal(second.calls.length + harness.emulators.openai.calls.length + harness.emulators.azure.calls.length, before);
});

test('a batch on a model-routed raw file runs on the deployment the file went to', async () => {
  const owner = await harness.newUser({ user_id: 'batch-router' });
  const client = harness.client(owner.key);
  const input = await client.files.create({ file: await toFile(Buffer.from(batchLines(20, 'gpt-4o-mini')), 'in.jsonl'), purpose: 'batch' }, { headers: { 'x-litellm-model': 'second-gpt' } });
  const created = await client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await second.waitForCall((call) => call.method === 'POST' && call.path === '/v1/batches'); // created on the routed deployment
  const done = await pollUntil(client, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed');
  const lines = await outputLines(client, done.output_file_id!);
  assert.equal(lines.length, 20);
  assert.ok(lines.every((line) => line.response.body.choices[0]!.message.content.startsWith('Echo from openai:gpt-4o-mini: question')));
  const [row] = await rows(harness, sql`SELECT deployment_id FROM batches WHERE id = ${created.id}`);
  assert.equal(row!.deployment_id, 'second-1');
});
