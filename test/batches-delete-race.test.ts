/**
 * Deleting a managed file while a batch that reads it is being created (README "Batches": a file an
 * unfinished batch reads cannot be deleted). The provider's batch create is held on its way to the
 * OpenAI emulator (a forwarding HTTP server in front of it) while the file is deleted: the delete
 * finds no batch yet and deletes; the create must then see the file gone when it records the
 * batch — 404, nothing recorded, and the provider batch it just made cancelled, never a running
 * batch reading a deleted file. Before the record was checked under the file's row lock, the
 * batch was recorded and ran. The other way round (Postgres: a second connection stands for a
 * batch being recorded, holding the file's row) the delete waits for it and then refuses with 409.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import pg from 'pg';
import { startHarness, type Harness } from './support/gateway-harness.ts';
import { batchLines, rows, uploadBatchFile } from './support/batch-suite.ts';
import { waitFor } from './support/wait-for.ts';

const MODEL = 'gpt-4o-mini-openai';
let harness: Harness;
let proxy: Server;
/** The emulator's origin, known once the harness started it. */
let target = '';
/** Armed by a test: the next POST /v1/batches waits here until released. */
let hold: { arrived: () => void; released: Promise<void> } | undefined;

before(async () => {
  proxy = createServer((incoming, outgoing) => {
    const held = incoming.method === 'POST' && incoming.url === '/v1/batches' ? hold : undefined;
    if (held) hold = undefined;
    const forward = () => {
      const upstream = httpRequest(`${target}${incoming.url}`, { method: incoming.method, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      upstream.on('error', () => outgoing.destroy());
      incoming.pipe(upstream);
    };
    if (!held) return forward();
    held.arrived();
    void held.released.then(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;
  harness = await startHarness({
    config: (emulators) => {
      target = new URL(emulators.urls.openai).origin;
      return { model_list: [{ model_name: MODEL, litellm_params: { model: 'openai/gpt-4o-mini', api_base: base, api_key: 'sk-emulator-openai' }, model_info: { id: 'oai-held' } }] };
    },
  });
});
after(async () => {
  await harness?.close();
  await new Promise((resolve) => proxy?.close(resolve));
});

/** Holds the next provider batch create; `arrived` resolves once the gateway made the call. */
function holdNextCreate(): { arrived: Promise<void>; release: () => void } {
  let release!: () => void;
  let arrived!: () => void;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  hold = { arrived, released: new Promise<void>((resolve) => (release = resolve)) };
  return { arrived: arrival, release };
}

/** The emulator's batches (all of them: one per test here), newest first. */
async function providerBatches(): Promise<Array<{ id: string; status: string }>> {
  const response = await fetch(`${target}/v1/batches?limit=100`, { headers: { authorization: 'Bearer sk-emulator-openai' } });
  return ((await response.json()) as { data: Array<{ id: string; status: string }> }).data;
}

/**
 * Deletes `deleted` while the batch create's provider call is held. `providerSeesInput`: the
 * input's own copy is deleted upstream too, so the provider may refuse the create itself (404).
 */
async function deletedWhileCreating(client: ReturnType<Harness['client']>, inputFileId: string, deleted: string, providerSeesInput = false): Promise<void> {
  const batchesBefore = (await providerBatches()).length;
  const held = holdNextCreate();
  const creating = client.batches.create({ input_file_id: inputFileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
  creating.catch(() => undefined);
  await held.arrived;
  // The provider is making the batch; nothing reads the file in the database yet: it deletes.
  assert.deepEqual(await client.files.delete(deleted), { id: deleted, object: 'file', deleted: true });
  held.release();
  await assert.rejects(creating, (error: { status?: number; message: string }) => {
    assert.equal(error.status, 404, error.message);
    if (!providerSeesInput) assert.match(error.message, new RegExp(deleted));
    return true;
  });
  assert.deepEqual(await rows(harness, sql`SELECT id FROM batches`), [], 'no batch was recorded');
  // None left running: the provider refused it, or the gateway cancelled the one it made.
  const all = await providerBatches();
  const made = all.slice(0, all.length - batchesBefore);
  if (!providerSeesInput) assert.equal(made.length, 1, 'the provider made the batch');
  for (const batch of made) assert.ok(['cancelling', 'cancelled'].includes(batch.status), `the provider batch was cancelled (${batch.status})`);
  const [file] = await rows(harness, sql`SELECT status FROM managed_files WHERE id = ${deleted}`);
  assert.ok(file === undefined || file.status === 'deleted', 'the file stays deleted');
}

test('the input file deleted while the provider creates the batch: 404, nothing recorded, no provider batch left running', async () => {
  const client = harness.client((await harness.newUser({ user_id: 'race-input' })).key);
  const input = await uploadBatchFile(client, batchLines(3, MODEL), MODEL);
  await deletedWhileCreating(client, input.id, input.id, true);
});

test('a file named in the lines deleted while the provider creates the batch: 404 naming it, nothing recorded, the provider batch cancelled', async () => {
  const client = harness.client((await harness.newUser({ user_id: 'race-line' })).key);
  const named = await client.files.create({ file: await toFile(Buffer.from('%PDF-1.4 named'), 'named.pdf', { type: 'application/pdf' }), purpose: 'user_data', target_model_names: MODEL } as never);
  const line = JSON.stringify({
    custom_id: 'req-0',
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'read it' }, { type: 'file', file: { file_id: named.id } }] }] },
  });
  const input = await uploadBatchFile(client, line, MODEL);
  await deletedWhileCreating(client, input.id, named.id);
});

test('a batch being recorded while the file is deleted: the delete waits for it, then refuses with 409 naming it', { skip: process.env.TEST_DATABASE_URL ? false : 'needs a second connection (Postgres)' }, async () => {
  const client = harness.client((await harness.newUser({ user_id: 'race-recording' })).key);
  const model = await uploadBatchFile(client, batchLines(2, MODEL), MODEL);
  const template = await client.batches.create({ input_file_id: model.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const input = await uploadBatchFile(client, batchLines(2, MODEL), MODEL);
  // Another connection records a batch reading `input` the way BatchRepository.insert does: the
  // file's row held FOR SHARE, the batch row written, not yet committed. Its provider id is
  // unknown upstream, so the delete cannot learn that it ended.
  const recording = new pg.Client({ connectionString: harness.database.url });
  await recording.connect();
  try {
    await recording.query('BEGIN');
    await recording.query(`SELECT id FROM managed_files WHERE id = $1 FOR SHARE`, [input.id]);
    await recording.query(`CREATE TEMP TABLE racing AS SELECT * FROM batches WHERE id = $1`, [template.id]);
    await recording.query(`UPDATE racing SET id = 'batch_uf_racingracingracing00', input_file_id = $1, provider_batch_id = 'batch_unknown_upstream', status = 'validating'`, [input.id]);
    await recording.query(`INSERT INTO batches SELECT * FROM racing`);
    let answered = false;
    const deleting = client.files.delete(input.id).finally(() => (answered = true));
    deleting.catch(() => undefined);
    // The delete found no committed batch and now waits for the file's row.
    await waitFor(async () => {
      const { rows: waiting } = await recording.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()`);
      return waiting.length > 0 ? true : undefined;
    }, 'the delete to wait for the row lock', 30_000);
    assert.equal(answered, false, 'the delete waits while the batch is being recorded');
    await recording.query('COMMIT');
    await assert.rejects(deleting, (error: { status?: number; message: string }) => {
      assert.equal(error.status, 409, error.message);
      assert.match(error.message, /batch_uf_racingracingracing00/);
      return true;
    });
    const [file] = await rows(harness, sql`SELECT status FROM managed_files WHERE id = ${input.id}`);
    assert.equal(file!.status, 'active', 'the file is kept');
  } finally {
    await recording.query('ROLLBACK').catch(() => undefined);
    await recording.end();
  }
});
