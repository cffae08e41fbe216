/**
 * The OpenAI and Azure emulators' batches (docs/wire-formats.md §1.10, §2.4), driven with the official
 * client straight against the emulators: they run the JSONL they were given.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { startAzureEmulator, type AzureEmulator } from '../../src/emulators/azure-emulator.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';

let openaiEmulator: OpenAIEmulator;
let azureEmulator: AzureEmulator;
let openai: OpenAI;
let azure: AzureOpenAI;

before(async () => {
  openaiEmulator = await startOpenAIEmulator();
  azureEmulator = await startAzureEmulator({ pendingPolls: 1 });
  openai = new OpenAI({ apiKey: openaiEmulator.apiKey, baseURL: openaiEmulator.apiBase, maxRetries: 0 });
  azure = new AzureOpenAI({ endpoint: azureEmulator.url, apiKey: azureEmulator.apiKey, apiVersion: '2024-10-21', maxRetries: 0 });
});
after(async () => {
  await openaiEmulator.close();
  await azureEmulator.close();
});

const line = (id: string, model: string, content: string, url = '/v1/chat/completions') =>
  JSON.stringify({ custom_id: id, method: 'POST', url, body: { model, messages: [{ role: 'user', content }] } });

async function until(client: OpenAI, id: string, statuses: string[]): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`still ${batch.status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('OpenAI: every line answered like the chat route; 2xx to the output file, others to the error file', async () => {
  const text = [line('a', 'gpt-4o-mini', 'one'), line('b', 'gpt-4o-mini', 'two'), JSON.stringify({ custom_id: 'c', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } })].join('\n');
  const file = await openai.files.create({ file: await toFile(Buffer.from(text), 'in.jsonl'), purpose: 'batch' });
  const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { a: 'b' } });
  assert.equal(created.status, 'validating');
  assert.match(created.id, /^batch_/);
  const done = await until(openai, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.request_counts, { total: 3, completed: 2, failed: 1 });
  assert.ok(done.in_progress_at && done.finalizing_at && done.completed_at);
  const output = (await (await openai.files.content(done.output_file_id!)).text()).trim().split('\n').map((item) => JSON.parse(item));
  assert.deepEqual(output.map((item) => [item.custom_id, item.response.status_code, item.response.body.choices[0].message.content]), [
    ['a', 200, 'Echo from openai:gpt-4o-mini: one'],
    ['b', 200, 'Echo from openai:gpt-4o-mini: two'],
  ]);
  const errors = (await (await openai.files.content(done.error_file_id!)).text()).trim().split('\n').map((item) => JSON.parse(item));
  assert.equal(errors[0].custom_id, 'c');
  assert.equal(errors[0].response.status_code, 400);
  assert.equal((await openai.files.retrieve(done.output_file_id!)).purpose, 'batch_output');
});

test('OpenAI: malformed lines fail the batch, each error naming its line', async () => {
  const text = [line('a', 'gpt-4o-mini', 'x'), 'not json', line('a', 'gpt-4o-mini', 'dup'), JSON.stringify({ custom_id: 'z', method: 'POST', url: '/v1/chat/completions' })].join('\n');
  const file = await openai.files.create({ file: await toFile(Buffer.from(text), 'bad.jsonl'), purpose: 'batch' });
  const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const failed = await until(openai, created.id, ['failed', 'completed']);
  assert.equal(failed.status, 'failed');
  assert.deepEqual(failed.errors!.data!.map((error) => [error.line, error.code]), [[2, 'invalid_json_line'], [3, 'duplicate_custom_id'], [4, 'missing_required_parameter']]);
  assert.equal(failed.output_file_id, null);
});

test('OpenAI: cancel → cancelling → cancelled with partial output; list pages newest first', async () => {
  openaiEmulator.batches.setClock({ stepMs: 100, linesPerStep: 10 });
  try {
    const text = Array.from({ length: 200 }, (_, index) => line(`r${index}`, 'gpt-4o-mini', `q${index}`)).join('\n');
    const file = await openai.files.create({ file: await toFile(Buffer.from(text), 'big.jsonl'), purpose: 'batch' });
    const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const deadline = Date.now() + 10_000;
    while ((await openai.batches.retrieve(created.id)).request_counts!.completed === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const cancelling = await openai.batches.cancel(created.id);
    assert.equal(cancelling.status, 'cancelling');
    const cancelled = await until(openai, created.id, ['cancelled']);
    const lines = (await (await openai.files.content(cancelled.output_file_id!)).text()).trim().split('\n');
    assert.ok(lines.length > 0 && lines.length < 200);
    assert.equal(lines.length, cancelled.request_counts!.completed);
  } finally {
    openaiEmulator.batches.setClock({ stepMs: 20, linesPerStep: 250 });
  }
  const all = [...openaiEmulator.batches.batches.values()].sort((a, b) => b.seq - a.seq).map((batch) => batch.id);
  const page = await openai.batches.list({ limit: 2 });
  assert.deepEqual(page.data.map((batch) => batch.id), all.slice(0, 2));
  assert.equal(page.has_more, all.length > 2);
  const rest = await openai.batches.list({ limit: 100, after: all[1] });
  assert.deepEqual(rest.data.map((batch) => batch.id), all.slice(2));
  assert.equal(rest.has_more, false);
  await assert.rejects(openai.batches.create({ input_file_id: 'file-x', endpoint: '/v1/chat/completions', completion_window: '48h' as '24h' }), (error: { status?: number }) => error.status === 400);
});

test('Azure: refuses a file that is not processed, fails a window other than 24h, runs with the deployment name', async () => {
  const text = [line('a', 'my-deployment', 'hello', '/chat/completions'), line('b', 'my-deployment', 'again', '/chat/completions')].join('\n');
  const file = await azure.files.create({ file: await toFile(Buffer.from(text), 'in.jsonl'), purpose: 'batch' });
  assert.equal(file.status, 'pending');
  await assert.rejects(azure.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as '/v1/chat/completions', completion_window: '24h' }), (error: { status?: number }) => error.status === 400);
  assert.equal((await azure.files.retrieve(file.id)).status, 'pending');
  assert.equal((await azure.files.retrieve(file.id)).status, 'processed');
  const wrongWindow = await azure.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as '/v1/chat/completions', completion_window: '48h' as '24h' });
  assert.equal(wrongWindow.status, 'failed');
  const created = await azure.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as '/v1/chat/completions', completion_window: '24h' });
  const done = await until(azure, created.id, ['completed', 'failed']);
  assert.equal(done.status, 'completed');
  const output = (await (await azure.files.content(done.output_file_id!)).text()).trim().split('\n').map((item) => JSON.parse(item));
  assert.deepEqual(output.map((item) => item.response.body.choices[0].message.content).sort(), ['Echo from azure:my-deployment: again', 'Echo from azure:my-deployment: hello']);
});
