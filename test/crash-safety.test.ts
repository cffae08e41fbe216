/**
 * Crash safety (README "Endpoints" (managed files)) with a real SIGKILL of the CLI process: killed in the middle of a
 * managed fan-out (one deployment slowed by an emulator delay fault) and in the middle of a
 * managed delete, then started again on the same database. Once the new instance's sweeper has
 * run, the emulators hold no file, the database no half row, and the dead process's spool is gone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import pg from 'pg';
import { stringify } from 'yaml';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { BUCKET, managedConfig, startSecondOpenAI } from './support/managed-config.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';

const MASTER = 'sk-crash-master';
let emulators: AllEmulators;
let second: OpenAIEmulator;
let database: TestDatabase;
let directory: string;
let configPath: string;
let spoolRoot: string;
let gateway: { process: ChildProcess; url: string } | undefined;

before(async () => {
  emulators = await startAllEmulators();
  second = await startSecondOpenAI();
  database = await createTestDatabase();
  directory = mkdtempSync(join(tmpdir(), 'unifile-crash-'));
  spoolRoot = join(directory, 'spool');
  configPath = join(directory, 'config.yaml');
  const config = managedConfig(second)(emulators);
  // The slow deployment's upstream timeout bounds how long a copy of unknown fate is waited for.
  (config.model_list as Array<{ litellm_params: Record<string, unknown> }>)[1]!.litellm_params.timeout = 4;
  writeFileSync(
    configPath,
    stringify({
      ...config,
      general_settings: {
        master_key: MASTER,
        ...(database.url ? { database_url: database.url } : { data_dir: join(directory, 'data') }),
        sweeper_interval_seconds: 0.5,
        journal_lease_seconds: 2,
        spool_dir: spoolRoot,
      },
    }),
  );
});
after(async () => {
  if (gateway?.process.exitCode === null) gateway.process.kill('SIGKILL');
  await emulators.close();
  await second.close();
  await database.drop();
});

async function startGateway(): Promise<{ process: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/unifile.js', '--config', configPath, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output) ?? /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${output}`)));
  });
  return { process: child, url };
}

async function kill(target: { process: ChildProcess }): Promise<void> {
  const exited = new Promise((resolve) => target.process.once('exit', resolve));
  target.process.kill('SIGKILL');
  await exited;
}

/** Polls a condition (never a fixed sleep) until it holds. */
async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function query<T = Record<string, unknown>>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

async function openaiFiles(base: string, key: string): Promise<number> {
  const response = await fetch(`${base}/files`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { data: unknown[] }).data.length;
}

/** Files held by every emulator behind the managed models. */
async function providerFiles(): Promise<number> {
  return (
    (await openaiFiles(emulators.urls.openai, 'sk-emulator-openai')) + (await openaiFiles(second.apiBase, 'sk-emulator-openai-2')) + emulators.google.objects(BUCKET).length
  );
}

const client = (url: string) => new OpenAI({ apiKey: MASTER, baseURL: `${url}/v1`, maxRetries: 0 });
const TARGETS = 'gpt-4o-mini-openai,gemini-2.0-flash'; // oai-1, oai-2 (the slow one) and vertex-1

test('SIGKILL in the middle of a managed fan-out leaves nothing behind once an instance runs again', async () => {
  gateway = await startGateway();
  const before = await providerFiles();
  second.faults.add({ method: 'POST', path: '/v1/files', action: { kind: 'delay', ms: 2000 } });
  const upload = client(gateway.url)
    .files.create({ file: await toFile(randomBytes(20_000), 'crash.bin'), purpose: 'user_data', target_model_names: TARGETS } as never)
    .catch((error: unknown) => error);
  // The fast copies are made (and journaled with their ids); the slow one is in flight.
  await until(async () => emulators.google.objects(BUCKET).length === 1 && (await openaiFiles(emulators.urls.openai, 'sk-emulator-openai')) === 1, 'the fast copies');
  if (database.url) {
    await until(async () => (await query('SELECT id FROM provider_copy_journal WHERE provider_file_id IS NOT NULL')).length === 2, 'journal rows with ids');
    assert.equal((await query('SELECT id FROM provider_copy_journal')).length, 3, 'one journal row per copy being made');
  }
  const deadPid = gateway.process.pid!;
  assert.ok(readdirSync(spoolRoot).some((entry) => entry.startsWith(`${deadPid}-`)), 'the fan-out was spooled');
  await kill(gateway);
  assert.ok((await upload) instanceof Error, 'the client never got an answer');

  gateway = await startGateway();
  // The slow provider finishes (or drops) the dead instance's request; whether it kept a copy or
  // not, the new instance's sweeper takes back every copy the database does not keep.
  await second.waitForCall((call) => call.method === 'POST' && call.path === '/v1/files', 20_000);
  await until(async () => (await providerFiles()) === before, 'the emulators to hold no orphan');
  assert.ok(!readdirSync(spoolRoot).some((entry) => entry.startsWith(`${deadPid}-`)), 'the dead process spool was removed at startup');
  assert.deepEqual((await client(gateway.url).files.list()).data, [], 'no managed file was recorded');
  if (database.url) {
    await until(async () => (await query('SELECT id FROM provider_copy_journal')).length === 0, 'the journal to empty');
    assert.equal((await query('SELECT id FROM managed_files')).length, 0);
    assert.equal((await query('SELECT file_id FROM managed_file_copies')).length, 0);
  }
});

test('SIGKILL in the middle of a managed delete: the next instance finishes it', async () => {
  gateway ??= await startGateway();
  const before = await providerFiles();
  const file = await client(gateway.url).files.create({ file: await toFile(randomBytes(5_000), 'delete-me.bin'), purpose: 'user_data', target_model_names: TARGETS } as never);
  assert.equal(await providerFiles(), before + 3);
  second.faults.add({ method: 'DELETE', path: '/v1/files/*', action: { kind: 'delay', ms: 2000 } });
  const deleting = client(gateway.url).files.delete(file.id).catch((error: unknown) => error);
  // The fast deletes are done; the slow one is in flight.
  await until(async () => (await providerFiles()) === before + 1, 'the fast deletes');
  await kill(gateway);
  assert.ok((await deleting) instanceof Error, 'the client never got an answer');

  gateway = await startGateway();
  await until(async () => (await providerFiles()) === before, 'every copy to be gone');
  await assert.rejects(client(gateway.url).files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
  if (database.url) {
    await until(async () => (await query(`SELECT status FROM managed_files WHERE id = '${file.id}'`))[0]?.status === 'deleted', 'the delete to be finished');
    assert.equal((await query(`SELECT deployment_id FROM managed_file_copies WHERE file_id = '${file.id}' AND status = 'active'`)).length, 0, 'no live copy row');
  }
  await kill(gateway);
  gateway = undefined;
});
