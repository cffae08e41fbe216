/**
 * Managed files under failure: a deployment that fails the upload (500, timeout, dropped
 * connection) leaves no copy and no row; a failed provider delete is finished by a retry; a
 * client that leaves during the fan-out leaves nothing behind; a refused token is a clear error.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, beforeEach, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { MASTER_KEY } from './support/gateway-harness.ts';
import { BUCKET, startManagedHarness, type ManagedHarness } from './support/managed-config.ts';
import { testContext } from './support/silent-logger.ts';

let harness: ManagedHarness;
let second: OpenAIEmulator;
before(async () => {
  harness = await startManagedHarness({
    adjust: (config) => {
      // A header timeout on the second OpenAI deployment, for the timeout case.
      const deployment = (config.model_list as Array<{ litellm_params: Record<string, unknown> }>)[1]!;
      deployment.litellm_params.timeout = 3; // loose enough that a loaded CI machine's ordinary calls fit
    },
  });
  second = harness.second;
});
after(() => harness.close()); // closes the second emulator too
beforeEach(() => {
  for (const emulator of [harness.emulators.openai, second, harness.emulators.google]) emulator.faults.clear();
});

async function count(query: ReturnType<typeof sql>): Promise<number> {
  const result = (await harness.runtime.database.db.execute(query)) as unknown as { rows: Array<{ n: number }> };
  return Number(result.rows[0]!.n);
}

/** Files alive on each emulator (uploaded and not deleted), from their recorded traffic. */
function liveCopies(): number {
  const openaiLive = (emulator: OpenAIEmulator) => {
    const created = emulator.calls.filter((call) => call.method === 'POST' && call.path === '/v1/files' && call.status === 200).length;
    const deleted = emulator.calls.filter((call) => call.method === 'DELETE' && call.status === 200).length;
    return created - deleted;
  };
  return openaiLive(harness.emulators.openai) + openaiLive(second) + harness.emulators.google.objects(BUCKET).length;
}

const upload = async () =>
  harness.client().files.create({
    file: await toFile(randomBytes(20_000), 'doc.txt'),
    purpose: 'user_data',
    target_model_names: 'gpt-4o-mini-openai,gemini-2.0-flash',
  } as never);

for (const [name, action, code] of [
  ['a 500', { kind: 'status', status: 500, body: { error: { message: 'upstream exploded', type: 'server_error', param: null, code: null } } }, 'upstream_error'],
  ['a timeout', { kind: 'delay', ms: 6000 }, 'upstream_timeout'],
  ['a dropped connection', { kind: 'drop' }, 'upstream_unreachable'],
] as const) {
  test(`${name} on one deployment: error names it, other copies removed, no row`, async () => {
    const liveBefore = liveCopies();
    const rowsBefore = await count(sql`SELECT count(*)::int AS n FROM managed_files`);
    second.faults.add({ method: 'POST', path: '/v1/files', action });
    await assert.rejects(upload(), (error: { status?: number; code?: string; message: string }) => {
      assert.equal(error.code, code);
      assert.match(error.message, /Upload failed on openai \(model gpt-4o-mini-openai\)/);
      assert.doesNotMatch(error.message, /oai-2|upstream exploded/);
      assert.match(error.message, /No copy was kept/);
      return true;
    });
    assert.equal(liveCopies(), liveBefore, 'no orphaned provider copy');
    assert.equal(await count(sql`SELECT count(*)::int AS n FROM managed_files`), rowsBefore, 'no row');
  });
}

test('a failed provider delete leaves the file hidden and a retried delete completes it', async () => {
  const file = await upload();
  harness.emulators.openai.faults.add({ method: 'DELETE', path: '/v1/files/*', action: { kind: 'status', status: 503, body: { error: { message: 'try later' } } } });
  await assert.rejects(harness.client().files.delete(file.id), (error: { status?: number; code?: string }) => error.status === 502 && error.code === 'delete_incomplete');
  await assert.rejects(harness.client().files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
  assert.equal(await count(sql`SELECT count(*)::int AS n FROM managed_file_copies WHERE file_id = ${file.id} AND status = 'active'`), 1, 'only the failed copy is left');

  assert.deepEqual(await harness.client().files.delete(file.id), { id: file.id, object: 'file', deleted: true });
  assert.equal(await count(sql`SELECT count(*)::int AS n FROM managed_file_copies WHERE file_id = ${file.id} AND status = 'active'`), 0);
});

test('the sweeper finishes a delete that failed', async () => {
  const file = await upload();
  harness.emulators.google.faults.add({ method: 'DELETE', action: { kind: 'status', status: 500, body: { error: { code: 500, message: 'backend' } } } });
  await assert.rejects(harness.client().files.delete(file.id));
  assert.equal(harness.emulators.google.objects(BUCKET).length, 1);
  await harness.runtime.database.db.execute(sql`UPDATE managed_files SET next_attempt_at = now() WHERE id = ${file.id}`);
  const result = await harness.runtime.deletion.sweepOnce(testContext);
  assert.equal(result.filesDeleted, 1);
  assert.equal(harness.emulators.google.objects(BUCKET).length, 0);
});

test('a client that aborts mid-upload leaves nothing anywhere', async () => {
  const liveBefore = liveCopies();
  const boundary = 'unifile-abort';
  await new Promise<void>((resolve) => {
    const outgoing = request(`${harness.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}` } });
    outgoing.on('error', () => resolve());
    outgoing.write(`--${boundary}\r\nContent-Disposition: form-data; name="target_model_names"\r\n\r\ngpt-4o-mini-openai,gemini-2.0-flash\r\n`);
    outgoing.write(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n`);
    outgoing.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n`);
    outgoing.write(randomBytes(256 * 1024), () => {
      outgoing.destroy();
      resolve();
    });
  });
  // The gateway must have noticed; readiness still answers and nothing was created.
  assert.equal((await harness.fetch('/health/readiness')).status, 200);
  assert.equal(liveCopies(), liveBefore);
});

test('a client that leaves during the fan-out: the copies are taken back and no row is written', async () => {
  const rowsBefore = await count(sql`SELECT count(*)::int AS n FROM managed_files`);
  // Only deletes made from here on count: earlier tests' deletes are in the same call logs.
  const newDelete = (emulator: OpenAIEmulator) => {
    const from = emulator.calls.length;
    return (call: (typeof emulator.calls)[number]) => emulator.calls.indexOf(call) >= from && call.method === 'DELETE' && call.status === 200;
  };
  const secondDeleted = newDelete(second);
  const firstDeleted = newDelete(harness.emulators.openai);
  second.faults.add({ method: 'POST', path: '/v1/files', action: { kind: 'delay', ms: 300 } });
  const controller = new AbortController();
  const pending = harness.client().files.create(
    { file: await toFile(randomBytes(1000), 'x.txt'), purpose: 'user_data', target_model_names: 'gpt-4o-mini-openai' } as never,
    { signal: controller.signal },
  );
  await second.waitForCall(() => false, 100).catch(() => undefined);
  controller.abort();
  await assert.rejects(pending);
  await second.waitForCall(secondDeleted);
  await harness.emulators.openai.waitForCall(firstDeleted);
  assert.equal(await count(sql`SELECT count(*)::int AS n FROM managed_files`), rowsBefore);
});

test('a token endpoint that refuses is a clear 502 naming Vertex, and nothing is kept', async () => {
  const liveBefore = liveCopies();
  harness.emulators.google.revokeTokens();
  harness.emulators.google.faults.add({ method: 'POST', path: '/token', times: Infinity, action: { kind: 'status', status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } } });
  await assert.rejects(upload(), (error: { status?: number; code?: string; message: string }) => {
    assert.equal(error.status, 502);
    assert.equal(error.code, 'upstream_auth_failed');
    assert.match(error.message, /vertex_ai \(model gemini-2\.0-flash\)/);
    assert.match(error.message, /code invalid_grant/);
    assert.doesNotMatch(error.message, /vertex-1|Invalid JWT Signature/);
    return true;
  });
  assert.equal(liveCopies(), liveBefore);
});
