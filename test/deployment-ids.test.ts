/**
 * Default deployment ids hash only non-secret params (README "Configuration reference"): rotating a key keeps them, and
 * a database written by a version that hashed secrets in (0.1.0) is re-keyed at startup, so chat,
 * content and delete still reach every managed copy and queued provider deletes still run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import OpenAI, { toFile } from 'openai';
import { loadConfig } from '../src/config/load-config.ts';
import type { RecordedCall } from '../src/emulators/emulator-kit.ts';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { startHarness, type Harness, type RawConfig } from './support/gateway-harness.ts';
import { testContext } from './support/silent-logger.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';

test('rotating a secret or a tuning knob keeps the id; the endpoint or model changes it', () => {
  const yaml = (key: string, extra = '') =>
    `model_list:\n  - model_name: m\n    litellm_params: { model: openai/gpt-4o-mini, api_key: os.environ/KEY, api_base: "https://api.example.com/v1"${extra} }\n`;
  const id = (text: string, key = 'sk-old-SECRET') => loadConfig({ text }, { KEY: key }).deployments[0]!.id;
  const original = id(yaml(''));
  assert.equal(id(yaml(''), 'sk-new-ROTATED'), original, 'api_key rotated');
  assert.equal(id(yaml(', timeout: 30, max_retries: 5, weight: 2')), original, 'tuning');
  assert.notEqual(id(yaml('').replace('api.example.com', 'other.example.com')), original, 'another endpoint');
  assert.notEqual(id(yaml('').replace('gpt-4o-mini', 'gpt-4o')), original, 'another model');

  const vertex = (credentials: string) =>
    loadConfig(
      { text: `model_list:\n  - model_name: g\n    litellm_params: { model: vertex_ai/gemini-2.0-flash, vertex_project: p, vertex_credentials: os.environ/SA, bucket_name: b }\n` },
      { SA: credentials },
    ).deployments[0]!.id;
  const account = (key: string) => JSON.stringify({ type: 'service_account', client_email: 'a@p.iam.gserviceaccount.com', private_key: key, token_uri: 'https://oauth2.example/token' });
  assert.equal(vertex(account('-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n')), vertex(account('-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n')));
});

test('two deployments that differ only by key get distinct ids and a warning to set model_info.id', () => {
  const config = loadConfig(
    { text: 'model_list:\n  - model_name: m\n    litellm_params: { model: gpt-4o-mini, api_key: k1 }\n  - model_name: m\n    litellm_params: { model: gpt-4o-mini, api_key: k2 }\n' },
    {},
  );
  const [first, second] = config.deployments;
  assert.notEqual(first!.id, second!.id);
  assert.ok(config.warnings.some((warning) => warning.startsWith('model_list[1]:') && /model_info\.id/.test(warning)), config.warnings.join('\n'));
});

// --- the upgrade, end to end -------------------------------------------------------------------

let emulators: AllEmulators;
let database: TestDatabase;
let dataDir: string | undefined;

before(async () => {
  emulators = await startAllEmulators();
  database = await createTestDatabase();
  if (!database.url) {
    // PGlite: a directory, so that successive gateways open the same database.
    dataDir = mkdtempSync(join(tmpdir(), 'unifile-rekey-'));
    database = { url: undefined, dataDir, drop: async () => rmSync(dataDir!, { recursive: true, force: true }) };
  }
});
after(async () => {
  await emulators.close();
  await database.drop();
});

/** What 0.1.0 computed: sha256 of the key-sorted JSON of {model_name, params}, secrets included. */
function oldStyleId(modelName: string, params: Record<string, unknown>): string {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted((value as Record<string, unknown>)[key])]))
        : value;
  return createHash('sha256').update(JSON.stringify(sorted({ model_name: modelName, params }))).digest('hex');
}

function upgradeConfig(serviceAccount: string): { raw: RawConfig; openaiParams: Record<string, unknown>; vertexParams: Record<string, unknown> } {
  const openaiParams = { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' };
  const vertexParams = {
    model: 'vertex_ai/gemini-2.0-flash',
    vertex_project: 'emulated-project',
    vertex_credentials: serviceAccount,
    bucket_name: 'rekey-bucket',
    api_base: emulators.urls.google,
    gcs_api_base: emulators.urls.google,
  };
  return {
    raw: { model_list: [{ model_name: 'gpt', litellm_params: openaiParams }, { model_name: 'gemini', litellm_params: vertexParams }] },
    openaiParams,
    vertexParams,
  };
}

const rows = async (harness: Harness, query: ReturnType<typeof sql>) =>
  ((await harness.runtime.database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
let fileIdOfUpgrade = '';
const chatCalls = (calls: RecordedCall[]) => calls.filter((call) => call.method === 'POST' && /chat\/completions|generateContent/.test(call.path));

test('a database with rows under 0.1.0-style ids: after the upgrade chat, content and delete reach every copy; a later key rotation moves nothing', async () => {
  const first = upgradeConfig(JSON.stringify(emulators.google.createServiceAccount({ projectId: 'emulated-project' })));
  let harness = await startHarness({ emulators, database, config: () => first.raw });
  const newIds = harness.config.deployments.map((deployment) => deployment.id);
  const user = await harness.newUser({ user_id: 'upgrader' });
  const bytes = Buffer.from('%PDF-1.4 kept across the upgrade');
  const file = await harness.client(user.key).files.create({ file: await toFile(bytes, 'kept.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: 'gpt,gemini' } as never);
  fileIdOfUpgrade = file.id;
  const copies = new Map((await rows(harness, sql`SELECT deployment_id, provider_file_id FROM managed_file_copies WHERE file_id = ${file.id}`)).map((row) => [String(row.deployment_id), String(row.provider_file_id)]));
  assert.deepEqual([...copies.keys()].sort(), [...newIds].sort());

  // Make the database look as 0.1.0 left it: every row under the id that hashed the secrets in.
  const oldIds = [oldStyleId('gpt', first.openaiParams), oldStyleId('gemini', first.vertexParams)];
  assert.ok(oldIds.every((id, index) => id !== newIds[index]));
  const orphan = await new OpenAI({ apiKey: 'sk-emulator-openai', baseURL: emulators.urls.openai }).files.create({ file: await toFile(Buffer.from('left by a crash'), 'orphan.txt'), purpose: 'user_data' });
  for (const [index, oldId] of oldIds.entries()) {
    await harness.runtime.database.db.execute(sql`UPDATE managed_file_copies SET deployment_id = ${oldId} WHERE deployment_id = ${newIds[index]!}`);
  }
  await harness.runtime.database.db.execute(sql`INSERT INTO pending_provider_deletes (deployment_id, provider_file_id) VALUES (${oldIds[0]!}, ${orphan.id})`);
  await harness.close();

  // The upgrade (same config, same secrets: the old ids can only be recomputed from those).
  harness = await startHarness({ emulators, database, config: () => first.raw });
  try {
    assert.deepEqual(harness.config.deployments.map((deployment) => deployment.id), newIds);
    assert.deepEqual(harness.runtime.rekeyed, { rows: 3, skipped: [] }, 'two copies and one queued delete re-keyed');
    assert.deepEqual(
      (await rows(harness, sql`SELECT deployment_id FROM managed_file_copies WHERE file_id = ${file.id} ORDER BY deployment_id`)).map((row) => row.deployment_id),
      [...newIds].sort(),
    );
    const client = harness.client(user.key);
    await ask(client, 'gpt');
    assert.equal((chatCalls(emulators.openai.calls).at(-1)!.json as { messages: Array<{ content: Array<{ file?: { file_id: string } }> }> }).messages[0]!.content[1]!.file!.file_id, copies.get(newIds[0]!));
    assert.deepEqual(Buffer.from(await (await client.files.content(file.id)).arrayBuffer()), bytes);
    await harness.runtime.deletion.sweepOnce(testContext);
    assert.ok(emulators.openai.calls.some((call) => call.method === 'DELETE' && call.path === `/v1/files/${orphan.id}` && call.status === 200), 'the queued delete ran');
  } finally {
    await harness.close();
  }

  // Then the service account is rotated: the ids do not move, nothing needs re-keying.
  const rotated = upgradeConfig(JSON.stringify(emulators.google.createServiceAccount({ projectId: 'emulated-project' })));
  harness = await startHarness({ emulators, database, config: () => rotated.raw });
  try {
    assert.deepEqual(harness.config.deployments.map((deployment) => deployment.id), newIds, 'rotating vertex_credentials keeps the ids');
    assert.equal(harness.runtime.rekeyed.rows, 0);
    const client = harness.client(user.key);
    await ask(client, 'gemini');
    assert.match(JSON.stringify(chatCalls(emulators.google.calls).at(-1)!.json), new RegExp(copies.get(newIds[1]!)!.replace(/[/.]/g, '\\$&')));
    assert.equal((await client.files.delete(file.id)).deleted, true);
    assert.ok(emulators.openai.calls.some((call) => call.method === 'DELETE' && call.path === `/v1/files/${copies.get(newIds[0]!)}` && call.status === 200));
    const objectName = copies.get(newIds[1]!)!.slice('gs://rekey-bucket/'.length);
    assert.ok(emulators.google.calls.some((call) => call.method === 'DELETE' && decodeURIComponent(call.path).endsWith(objectName) && call.status === 204));
  } finally {
    await harness.close();
  }
});

const ask = (client: OpenAI, model: string) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'file', file: { file_id: fileIdOfUpgrade } }] }] } as never);
