/**
 * Access rules of README "Security" that were leaky (issue 7): a list cursor naming someone else's file
 * answers exactly like an unknown one; the owner ids the gateway mints (`default_user_id`,
 * `key:<hex>`) cannot be claimed as user ids; a key limited to some models reaches a managed file
 * only through one of them (retrieve, content, delete, chat, list, cursor).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import type { AllEmulators } from '../src/emulators/start-all.ts';
import { MASTER_KEY, startHarness, type Harness, type RawConfig } from './support/gateway-harness.ts';

let harness: Harness;
const config = (emulators: AllEmulators): RawConfig => ({
  model_list: ['model-a', 'model-b'].map((name) => ({
    model_name: name,
    litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
    model_info: { id: `${name}-1` },
  })),
});
before(async () => {
  harness = await startHarness({ config });
});
after(async () => harness.close());

async function json(path: string, init: RequestInit & { key?: string | null } = {}) {
  const response = await harness.fetch(path, init);
  return { status: response.status, body: (await response.json()) as { error?: { message: string; code: string | null; param: string | null; type: string } } & Record<string, unknown> };
}
const post = (path: string, body: unknown) => json(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
test("?after=<someone else's file> answers exactly like an unknown id", async () => {
  const alice = await harness.newUser({ user_id: 'cursor-alice' });
  const bob = await harness.newUser({ user_id: 'cursor-bob' });
  const alicesFile = await harness.client(alice.key).files.create({ file: await toFile(Buffer.from('a'), 'a.txt'), purpose: 'user_data', target_model_names: 'model-a' } as never);
  await harness.client(bob.key).files.create({ file: await toFile(Buffer.from('b'), 'b.txt'), purpose: 'user_data', target_model_names: 'model-a' } as never);
  const unknown = 'file-uf_AAAAAAAAAAAAAAAAAAAAAAAA';
  const foreign = await json(`/v1/files?after=${alicesFile.id}`, { key: bob.key });
  const missing = await json(`/v1/files?after=${unknown}`, { key: bob.key });
  assert.equal(foreign.status, 400);
  assert.equal(foreign.status, missing.status);
  assert.deepEqual({ ...foreign.body.error, message: foreign.body.error!.message.replace(alicesFile.id, 'ID') }, { ...missing.body.error, message: missing.body.error!.message.replace(unknown, 'ID') });
  // The owner's own cursor still works.
  const own = await json(`/v1/files?after=${alicesFile.id}`, { key: alice.key });
  assert.equal(own.status, 200);
});

test('default_user_id and key:<hex> cannot be claimed through /user/new or /key/generate', async () => {
  for (const userId of ['default_user_id', 'key:0123456789abcdef0123456789abcdef', 'KEY:anything']) {
    for (const path of ['/user/new', '/key/generate']) {
      const answer = await post(path, { user_id: userId });
      assert.equal(answer.status, 400, `${path} ${userId}`);
      assert.equal(answer.body.error!.param, 'user_id');
      assert.match(answer.body.error!.message, /reserved/);
    }
    const rows = (await harness.runtime.database.db.execute(sql`SELECT count(*)::int AS n FROM users WHERE user_id = ${userId}`)) as unknown as { rows: Array<{ n: number }> };
    assert.equal(rows.rows[0]!.n, 0, `no user row for ${userId}`);
  }
  // What the admin creates without a user_id is owned by default_user_id: a user claiming it would see it.
  const admins = await harness.client(MASTER_KEY).files.create({ file: await toFile(Buffer.from('admin'), 'admin.txt'), purpose: 'user_data', target_model_names: 'model-a' } as never);
  const stranger = await harness.newUser({ user_id: 'not-the-admin' });
  await assert.rejects(harness.client(stranger.key).files.retrieve(admins.id), (error: { status?: number }) => error.status === 404);
});

test("a key whose models do not include any of a file's targets reaches it nowhere", async () => {
  await harness.newUser({ user_id: 'models-owner' });
  const wide = await post('/key/generate', { user_id: 'models-owner' });
  const narrow = await post('/key/generate', { user_id: 'models-owner', models: ['model-a'] });
  const wideKey = wide.body.key as string;
  const narrowKey = narrow.body.key as string;
  const bOnly = await harness.client(wideKey).files.create({ file: await toFile(Buffer.from('%PDF-1.4 b only'), 'b.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: 'model-b' } as never);
  const both = await harness.client(wideKey).files.create({ file: await toFile(Buffer.from('%PDF-1.4 both'), 'both.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: 'model-a,model-b' } as never);
  const narrowClient = harness.client(narrowKey);
  const notFound = (error: { status?: number; code?: string }) => error.status === 404 && error.code === 'file_not_found';

  await assert.rejects(narrowClient.files.retrieve(bOnly.id), notFound);
  await assert.rejects(narrowClient.files.content(bOnly.id), notFound);
  const chatsBefore = harness.emulators.openai.calls.filter((call) => call.path.endsWith('/chat/completions')).length;
  await assert.rejects(
    narrowClient.chat.completions.create({ model: 'model-a', messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'file', file: { file_id: bOnly.id } }] }] } as never),
    (error: { status?: number; message: string }) => notFound(error) && !/model-b/.test(error.message),
  );
  assert.equal(harness.emulators.openai.calls.filter((call) => call.path.endsWith('/chat/completions')).length, chatsBefore);
  const listed = (await narrowClient.files.list()).data.map((file) => file.id);
  assert.ok(listed.includes(both.id) && !listed.includes(bOnly.id), `list: ${listed.join(', ')}`);
  const cursor = await json(`/v1/files?after=${bOnly.id}`, { key: narrowKey });
  assert.equal(cursor.status, 400);
  await assert.rejects(narrowClient.files.delete(bOnly.id), notFound);

  // Through a model it may use, the same key reaches the other file; the wide key reaches both.
  assert.equal((await narrowClient.files.retrieve(both.id)).id, both.id);
  assert.equal((await harness.client(wideKey).files.retrieve(bOnly.id)).id, bOnly.id);
  assert.equal((await harness.client(wideKey).files.delete(bOnly.id)).deleted, true);
});
