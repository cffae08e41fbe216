/**
 * Deeply nested JSON (README "Endpoints" (errors)): JSON.parse copes with any depth, but a body nested thousands
 * of levels deep would overflow the stack wherever it is later serialised or walked recursively
 * (the per-deployment model rewrite, the Vertex converter). A chat body or a batch line deeper
 * than 64 levels is a 400 in the envelope naming what is wrong, and nothing reaches a provider.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { startManagedHarness, type ManagedHarness } from './support/managed-config.ts';

let harness: ManagedHarness;
before(async () => {
  harness = await startManagedHarness();
});
after(() => harness.close());

const upstreamCalls = () =>
  harness.emulators.openai.calls.length + harness.second.calls.length + harness.emulators.google.calls.length + harness.emulators.azure.calls.length;

const nested = (levels: number) => '['.repeat(levels) + '1' + ']'.repeat(levels);

async function expect400(response: Response, message: RegExp) {
  const text = await response.text();
  assert.equal(response.status, 400, text);
  const { error } = JSON.parse(text) as { error: { message: string; type: string } };
  assert.equal(error.type, 'invalid_request_error');
  assert.match(error.message, message);
}

test('a chat body nested 20,000 levels deep: 400 for every provider, nothing upstream', async () => {
  const before = upstreamCalls();
  for (const model of ['gpt-4o-mini-openai', 'gemini-2.0-flash', 'azure-gpt']) {
    const body = `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"metadata":{"x":${nested(20_000)}}}`;
    const response = await harness.fetch('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await expect400(response, /nested deeper than 64 levels/);
  }
  assert.equal(upstreamCalls(), before);
});

const line = (model: string, id: string, extra = '') =>
  `{"custom_id":"${id}","method":"POST","url":"/v1/chat/completions","body":{"model":"${model}","messages":[{"role":"user","content":"hi"}]${extra}}}`;

function batchForm(model: string, jsonl: string): FormData {
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('target_model_names', model);
  form.append('file', new Blob([jsonl]), 'deep.jsonl');
  return form;
}

test('a batch line nested 20,000 levels deep: 400 naming the line, nothing uploaded, no row (OpenAI and Vertex targets)', async () => {
  const before = upstreamCalls();
  const files = async () => ((await harness.runtime.database.db.execute(sql`SELECT count(*)::int AS n FROM managed_files`)) as unknown as { rows: Array<{ n: number }> }).rows[0]!.n;
  const rows = await files();
  for (const model of ['gpt-4o-mini-openai', 'gemini-2.0-flash']) {
    const jsonl = `${line(model, 'a')}\n${line(model, 'b', `,"metadata":{"x":${nested(20_000)}}`)}\n`;
    await expect400(await harness.fetch('/v1/files', { method: 'POST', body: batchForm(model, jsonl) }), /^Line 2 of the batch file is nested deeper than 64 levels/);
  }
  assert.equal(upstreamCalls(), before, 'nothing reached a provider');
  assert.equal(await files(), rows, 'no managed file recorded');
});

test('a batch body at exactly 64 levels is accepted, one level more is refused', async () => {
  const deepest = (levels: number) => `,"metadata":{"x":${nested(levels)}}`;
  const model = 'gpt-4o-mini-openai';
  // Levels counted from the body: body {1} → metadata {2} → n arrays (3 … 2 + n).
  const ok = await harness.fetch('/v1/files', { method: 'POST', body: batchForm(model, `${line(model, 'a', deepest(62))}\n`) });
  assert.equal(ok.status, 200, await ok.text());
  await expect400(await harness.fetch('/v1/files', { method: 'POST', body: batchForm(model, `${line(model, 'a', deepest(63))}\n`) }), /^Line 1 /);
});
