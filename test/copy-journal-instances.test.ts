/**
 * The provider-copy journal shared by two instances on one Postgres (README "Running it"): while one
 * instance's slow fan-out is in flight (longer than the journal lease), the other instance's
 * sweeper reconciles none of its rows — the owner's heartbeat keeps them leased — and the upload
 * completes with every copy. A row whose lease has lapsed (its owner died) is reconciled: the
 * copy the database does not keep is deleted upstream.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { BUCKET, managedConfig, startSecondOpenAI } from './support/managed-config.ts';
import { testContext } from './support/silent-logger.ts';

let harness: Harness;
let second: OpenAIEmulator;
let other: Runtime | undefined;
before(async () => {
  second = await startSecondOpenAI();
  harness = await startHarness({ config: managedConfig(second), general: { journal_lease_seconds: 1 } });
  // A second instance on the same database (Postgres); PGlite is single-process, so there the
  // second "instance" is the same runtime — the lease logic under test is the same SQL.
  other = harness.database.url ? await createRuntime(harness.config) : undefined;
});
after(async () => {
  await other?.close();
  await harness.close();
  await second.close();
});

async function journalRows(): Promise<Array<{ id: string; instance_id: string; provider_file_id: string | null }>> {
  const result = (await harness.runtime.database.db.execute(sql`SELECT id, instance_id, provider_file_id FROM provider_copy_journal`)) as unknown as {
    rows: Array<{ id: string; instance_id: string; provider_file_id: string | null }>;
  };
  return result.rows;
}

async function storedOn(emulator: { apiBase: string }, key: string): Promise<string[]> {
  const response = await fetch(`${emulator.apiBase}/files`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { data: Array<{ id: string }> }).data.map((file) => file.id);
}

test("an in-flight fan-out outliving the lease is never reconciled by another instance's sweeper", async () => {
  const sweeper = other ?? harness.runtime;
  second.faults.add({ method: 'POST', path: '/v1/files', action: { kind: 'delay', ms: 3000 } });
  let settled = false;
  const upload = harness
    .client()
    .files.create({ file: await toFile(Buffer.from('slow but alive'), 'alive.txt'), purpose: 'user_data', target_model_names: 'gpt-4o-mini-openai,gemini-2.0-flash' } as never)
    .finally(() => (settled = true));
  // While the slow copy is in flight — for three times the lease — the other instance sweeps.
  let passes = 0;
  while (!settled) {
    const result = await sweeper.journal.reconcileOnce(testContext);
    assert.deepEqual(result, { copiesRemoved: 0, rowsResolved: 0, rowsWaiting: 0 }, 'a live row was claimed');
    passes += 1;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(passes >= 10, `swept ${passes} times during the upload`);
  const file = await upload;
  assert.equal((await harness.client().files.retrieve(file.id)).id, file.id);
  assert.equal((await storedOn(second, 'sk-emulator-openai-2')).length, 1, 'the slow copy was kept');
  assert.equal(harness.emulators.google.objects(BUCKET).length, 1);
  assert.deepEqual(await journalRows(), [], 'the journal is empty once the copies are recorded');
});

test('a row whose owner died is reconciled: the unrecorded copy is deleted upstream, recorded ones are kept', async () => {
  const sweeper = other ?? harness.runtime;
  // A copy the provider holds but the database does not (the dead instance never recorded it).
  const form = new FormData();
  form.append('purpose', 'user_data');
  form.append('file', new Blob(['orphan']), 'orphan.txt');
  const orphan = (await (await fetch(`${second.apiBase}/files`, { method: 'POST', headers: { authorization: 'Bearer sk-emulator-openai-2' }, body: form })).json()) as { id: string };
  const kept = await storedOn(second, 'sk-emulator-openai-2');
  assert.ok(kept.includes(orphan.id));
  const db = harness.runtime.database.db;
  await db.execute(sql`
    INSERT INTO provider_copy_journal (deployment_id, provider, provider_file_id, filename, bytes, instance_id, lease_until)
    VALUES ('oai-2', 'openai', ${orphan.id}, 'orphan.txt', 6, 'dead-instance', now() - interval '1 second')`);
  // and one without an id (the answer never arrived): found by filename and size in the list
  const unnamed = (await (
    await fetch(`${second.apiBase}/files`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-emulator-openai-2' },
      body: (() => {
        const body = new FormData();
        body.append('purpose', 'user_data');
        body.append('file', new Blob(['never answered']), 'unnamed.txt');
        return body;
      })(),
    })
  ).json()) as { id: string };
  await db.execute(sql`
    INSERT INTO provider_copy_journal (deployment_id, provider, filename, bytes, instance_id, lease_until)
    VALUES ('oai-2', 'openai', 'unnamed.txt', 14, 'dead-instance', now() - interval '1 second')`);
  const result = await sweeper.journal.reconcileOnce(testContext);
  assert.deepEqual(result, { copiesRemoved: 2, rowsResolved: 2, rowsWaiting: 0 });
  const after = await storedOn(second, 'sk-emulator-openai-2');
  assert.ok(!after.includes(orphan.id) && !after.includes(unnamed.id), 'both orphans deleted');
  assert.equal(after.length, kept.length - 1, 'the recorded managed copy is untouched');
  assert.deepEqual(await journalRows(), []);
});
