/**
 * Cached keys and managed-file lookups follow deletions across instances (README "Running it"): two
 * gateways on one Postgres — a key deleted on A is refused by B, a file deleted on A is 404 on B,
 * each within 1 s (LISTEN/NOTIFY), waited for with a deadline. A key is never cached past its
 * expiry. Without TEST_DATABASE_URL (PGlite is one process) both roles are the same instance.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import { startHarness, type Harness, type RawConfig } from './support/gateway-harness.ts';
import type { AllEmulators } from '../src/emulators/start-all.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';

let a: Harness;
let b: Harness;
let database: TestDatabase;
const config = (emulators: AllEmulators): RawConfig => ({
  model_list: [{ model_name: 'm', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }, model_info: { id: 'm-1' } }],
});

before(async () => {
  database = await createTestDatabase();
  a = await startHarness({ config, database });
  b = database.url ? await startHarness({ config, database, emulators: a.emulators }) : a;
});
after(async () => {
  if (b !== a) await b.close();
  await a.close(); // also stops the emulators it started
  await database.drop();
});

/** Polls `probe` until it returns true; returns the elapsed milliseconds, or fails after `deadlineMs`. */
async function within(deadlineMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > deadlineMs) assert.fail(`condition not met within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10)); // poll interval, not a wait for the outcome
  }
}

const status = async (harness: Harness, path: string, key: string, init: RequestInit = {}) => (await harness.fetch(path, { ...init, key })).status;

test('a key deleted on instance A is refused by instance B within 1 s', async (t) => {
  const user = await a.newUser({ user_id: 'revoked-user' });
  assert.equal(await status(b, '/v1/models', user.key), 200, 'B has the key cached');
  assert.equal(await status(b, '/v1/models', user.key), 200);
  const deleted = await a.fetch('/key/delete', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: [user.key] }) });
  assert.equal(deleted.status, 200);
  const elapsed = await within(1000, async () => (await status(b, '/v1/models', user.key)) === 401);
  assert.ok(elapsed < 1000, `refused after ${Math.round(elapsed)} ms`);
  t.diagnostic(`key refused on the other instance after ${Math.round(elapsed)} ms`);
});

test('a managed file deleted on A is 404 in chat on B within 1 s', async (t) => {
  const user = await a.newUser({ user_id: 'file-deleter' });
  const file = await a.client(user.key).files.create({ file: await toFile(Buffer.from('%PDF-1.4 x'), 'x.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: 'm' } as never);
  const chat = () =>
    status(b, '/v1/chat/completions', user.key, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'file', file: { file_id: file.id } }] }] }),
    });
  assert.equal(await chat(), 200, 'B has the file cached');
  assert.equal((await a.client(user.key).files.delete(file.id)).deleted, true);
  const elapsed = await within(1000, async () => (await chat()) === 404);
  assert.ok(elapsed < 1000, `404 after ${Math.round(elapsed)} ms`);
  t.diagnostic(`file 404 on the other instance after ${Math.round(elapsed)} ms`);
});

test('a cached key stops working when it expires, not up to 5 s later', async (t) => {
  const generated = await a.fetch('/key/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ duration: '2s' }) });
  const { key, expires } = (await generated.json()) as { key: string; expires: string };
  const expiresAt = Date.parse(expires);
  assert.equal(await status(b, '/v1/models', key), 200, 'cached while valid');
  await within(3000, async () => (await status(b, '/v1/models', key)) === 401);
  const late = Date.now() - expiresAt;
  assert.ok(late < 500, `refused ${late} ms after expiry`);
  t.diagnostic(`expired key refused ${late} ms after its expiry`);
});

test('concurrent requests with one uncached key share one lookup; an unknown key is 401 for each and not kept', async () => {
  const user = await a.newUser({ user_id: 'burst-user' });
  const keys = b.runtime.keys;
  const first = keys.authenticateNow(user.key);
  const second = keys.authenticateNow(user.key);
  assert.ok(first instanceof Promise, 'an uncached key is looked up');
  assert.equal(second, first, 'the second request waits for the same lookup');
  assert.equal((await first).userId, 'burst-user');
  assert.equal((keys.authenticateNow(user.key) as { userId: string }).userId, 'burst-user', 'then answered from the cache');

  const unknown = 'sk-not-a-key-of-anyone';
  const one = keys.authenticateNow(unknown);
  const two = keys.authenticateNow(unknown);
  assert.equal(two, one);
  for (const attempt of [one, two]) await assert.rejects(Promise.resolve(attempt), (error: { status?: number }) => error.status === 401);
  const again = keys.authenticateNow(unknown);
  assert.notEqual(again, one, 'a failed lookup is not kept');
  await assert.rejects(Promise.resolve(again), (error: { status?: number }) => error.status === 401);
});
