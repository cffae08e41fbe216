/**
 * Owner scoping of raw provider ids (README "Security"): a non-admin reaches only the raw ids recorded
 * as theirs (404 otherwise, like an unknown id), lists only their own files; admins see the
 * provider's whole list. Keys and users through the admin routes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => harness.close());

const notFound = (error: { status?: number }) => error.status === 404;

test("another user's raw file id answers 404 on retrieve, content and delete", async () => {
  const alice = await harness.newUser({ user_id: 'alice' });
  const bob = await harness.newUser({ user_id: 'bob' });
  const aliceClient = harness.client(alice.key);
  const bobClient = harness.client(bob.key);
  const file = await aliceClient.files.create({ file: await toFile(Buffer.from('secret'), 'a.txt'), purpose: 'user_data' });

  await assert.rejects(bobClient.files.retrieve(file.id), notFound);
  await assert.rejects(bobClient.files.content(file.id), notFound);
  await assert.rejects(bobClient.files.delete(file.id), notFound);
  const bobBody = (await (await harness.fetch(`/v1/files/${file.id}`, { key: bob.key })).json()) as { error: { message: string } };
  const unknownBody = (await (await harness.fetch('/v1/files/file-unknown123', { key: bob.key })).json()) as { error: { message: string } };
  assert.equal(bobBody.error.message, `No such File object: ${file.id}`);
  assert.equal(unknownBody.error.message, 'No such File object: file-unknown123', 'not yours and unknown look the same');

  const onOpenAI = { headers: { 'custom-llm-provider': 'openai' } };
  assert.equal((await bobClient.files.list({}, onOpenAI)).data.length, 0, "bob's list is empty");
  const aliceList = await aliceClient.files.list({}, onOpenAI);
  assert.deepEqual(aliceList.data.map((item) => item.id), [file.id]);
  assert.equal((await aliceClient.files.retrieve(file.id)).id, file.id);

  // Nothing of bob's attempts reached the provider with alice's id.
  const upstreamTouches = harness.emulators.openai.calls.filter((call) => call.path.includes(file.id));
  assert.equal(upstreamTouches.length, 1, 'only alice retrieve went upstream');

  const adminList = await harness.client(MASTER_KEY).files.list({}, onOpenAI);
  assert.ok(adminList.data.some((item) => item.id === file.id), 'admin sees the provider list');
  await aliceClient.files.delete(file.id);
  assert.equal((await aliceClient.files.list({}, onOpenAI)).data.length, 0);
});

test('same team shares raw files; a raw id uploaded outside the gateway is admin-only', async () => {
  const one = await harness.newUser({ user_id: 'team-one', team_id: 'team-a' });
  const two = await harness.newUser({ user_id: 'team-two', team_id: 'team-a' });
  const file = await harness.client(one.key).files.create({ file: await toFile(Buffer.from('shared'), 's.txt'), purpose: 'assistants' });
  assert.equal((await harness.client(two.key).files.retrieve(file.id)).id, file.id);

  const direct = await harness.client(MASTER_KEY).files.create({ file: await toFile(Buffer.from('admin'), 'x.txt'), purpose: 'assistants' });
  await assert.rejects(harness.client(one.key).files.retrieve(direct.id), notFound);
});

test('keys: hashed at rest, info, model restriction on /models, delete', async () => {
  const response = await harness.fetch('/key/generate', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'carol', models: ['gpt-4o-mini-openai'], key_alias: 'carol-key' }),
  });
  assert.equal(response.status, 200);
  const created = (await response.json()) as { key: string; models: string[]; user_id: string };
  assert.match(created.key, /^sk-/);
  assert.deepEqual(created.models, ['gpt-4o-mini-openai']);

  const stored = await harness.runtime.database.db.execute(sql`SELECT token_hash FROM api_keys WHERE key_alias = 'carol-key'`);
  const rows = (stored as unknown as { rows: Array<{ token_hash: string }> }).rows;
  assert.equal(rows.length, 1);
  assert.notEqual(rows[0]!.token_hash, created.key);
  assert.match(rows[0]!.token_hash, /^[0-9a-f]{64}$/);

  const models = await harness.client(created.key).models.list();
  assert.deepEqual(models.data.map((model) => model.id), ['gpt-4o-mini-openai']);
  const info = (await (await harness.fetch('/key/info', { key: created.key })).json()) as { info: { user_id: string } };
  assert.equal(info.info.user_id, 'carol');

  const forbidden = await harness.fetch('/key/generate', { method: 'POST', key: created.key, headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(forbidden.status, 403);

  const deleted = await harness.fetch('/key/delete', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: [created.key] }) });
  assert.deepEqual(await deleted.json(), { deleted_keys: [created.key] });
  const after = await harness.fetch('/v1/models', { key: created.key });
  assert.equal(after.status, 401);
});

test('user/info shows the user and their keys; unknown model names are refused', async () => {
  const user = await harness.newUser({ user_id: 'dave', models: ['gpt-4o-mini-openai'] });
  const info = (await (await harness.fetch('/user/info?user_id=dave')).json()) as { user_id: string; keys: unknown[] };
  assert.equal(info.user_id, 'dave');
  assert.equal(info.keys.length, 1);
  const self = await harness.fetch('/user/info', { key: user.key });
  assert.equal(self.status, 200);
  const bad = await harness.fetch('/user/new', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ models: ['nope'] }) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /nope/);
});
