/**
 * Plain Vertex AI files are listed like every other provider's (README "Configuration reference"): an admin gets the
 * objects the gateway wrote in the deployment's bucket folder, a user only the uploads recorded
 * as theirs; paging with `after` walks every object once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { BUCKET, startManagedHarness, type ManagedHarness } from './support/managed-config.ts';

let harness: ManagedHarness;
let second: OpenAIEmulator;
before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
});
after(() => harness.close()); // closes the second emulator too

const vertexClient = (key?: string) => harness.client(key, { baseURL: `${harness.url}/vertex_ai/v1` });

test('GET /vertex_ai/v1/files lists GCS objects for an admin and only recorded ones for a user', async () => {
  const user = await harness.newUser({ user_id: 'vertex-lister' });
  const own = await vertexClient(user.key).files.create({ file: await toFile(Buffer.from('mine'), 'mine.txt'), purpose: 'user_data' });
  const admins = [];
  for (let index = 0; index < 3; index += 1) {
    admins.push(await vertexClient().files.create({ file: await toFile(Buffer.from(`admin ${index}`), `a${index}.txt`), purpose: 'user_data' }));
  }
  const everything = [own, ...admins].map((file) => file.id);
  assert.ok(everything.every((id) => id.startsWith(`gs://${BUCKET}/`)));

  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page += 1) {
    const result = await vertexClient().files.list({ limit: 1, ...(cursor ? { after: cursor } : {}) });
    seen.push(...result.data.map((file) => file.id));
    if (!result.has_more) break;
    cursor = result.data.at(-1)!.id;
  }
  assert.deepEqual([...seen].sort(), [...everything].sort(), 'the admin pages through every object once');
  assert.equal(new Set(seen).size, seen.length);
  const names = harness.emulators.google.calls.filter((call) => call.method === 'GET' && call.path.endsWith('/o'));
  assert.ok(names.length >= 4, 'each page is one objects.list call');

  const mine = await vertexClient(user.key).files.list();
  assert.deepEqual(mine.data.map((file) => [file.id, file.filename]), [[own.id, 'mine.txt']]);
});
