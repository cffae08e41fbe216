/**
 * Operations (README "Running it") on the real CLI process: health, x-request-id, Prometheus metrics,
 * JSON logs that carry the request id and never a secret, graceful stop.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { stringify } from 'yaml';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';

const MASTER = 'sk-operations-master-secret';
let emulators: AllEmulators;
let database: TestDatabase;
let gateway: ChildProcess;
let output = '';
let base = '';

before(async () => {
  emulators = await startAllEmulators();
  database = await createTestDatabase();
  const directory = mkdtempSync(join(tmpdir(), 'unifile-ops-'));
  const configPath = join(directory, 'config.yaml');
  writeFileSync(
    configPath,
    stringify({
      files_settings: [{ custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }],
      model_list: [{ model_name: 'gpt', litellm_params: { model: 'gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } }],
      general_settings: { master_key: MASTER, ...(database.url ? { database_url: database.url } : { data_dir: join(directory, 'data') }) },
    }),
  );
  gateway = spawn(process.execPath, ['bin/unifile.js', '--config', configPath, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  base = await new Promise<string>((resolve, reject) => {
    gateway.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    gateway.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    gateway.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${output}`)));
  });
});
after(async () => {
  if (gateway.exitCode === null) gateway.kill('SIGKILL');
  await emulators.close();
  await database.drop();
});

test('health answers without a key; readiness names the database', async () => {
  assert.deepEqual(await (await fetch(`${base}/health/liveliness`)).json(), { status: 'healthy' });
  const ready = (await (await fetch(`${base}/health/readiness`)).json()) as { database: string };
  assert.equal(ready.database, database.url ? 'postgres' : 'pglite');
});

test('the OpenAPI document describes every route and the Swagger UI is served', async () => {
  const document = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(document.openapi, '3.0.3');
  for (const path of ['/v1/files', '/v1/files/{file_id}', '/v1/files/{file_id}/content', '/v1/chat/completions', '/v1/models', '/key/generate', '/user/new', '/health/readiness', '/metrics']) {
    assert.ok(path in document.paths, path);
  }
  const page = await fetch(`${base}/docs/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /swagger/i);
});

test('x-request-id is kept, logged, and every secret stays out of the logs; metrics count the traffic', async () => {
  const client = new OpenAI({ apiKey: MASTER, baseURL: `${base}/v1`, maxRetries: 0 });
  const response = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${MASTER}`, 'x-request-id': 'trace-abc-123' } });
  assert.equal(response.headers.get('x-request-id'), 'trace-abc-123');
  const minted = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } });
  assert.match(minted.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const file = await client.files.create({ file: await toFile(Buffer.from('metrics'), 'm.txt'), purpose: 'user_data' });
  await client.files.delete(file.id);
  await fetch(`${base}/v1/files`, { headers: { 'api-key': 'sk-wrong-key-should-not-be-logged' } });

  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /unifile_http_requests_total\{method="GET",route="\/v1\/models",status="200"\} 2/);
  assert.match(metrics, /unifile_upstream_calls_total\{provider="openai",operation="files.upload",outcome="2xx"\} 1/);
  assert.match(metrics, /unifile_http_request_duration_seconds_bucket/);
  assert.match(metrics, /unifile_uploaded_bytes_total 7/);

  gateway.kill('SIGTERM');
  const code = await new Promise((resolve) => gateway.once('exit', resolve));
  assert.equal(code, 0, 'graceful stop');
  const lines = output.split('\n').filter((line) => line.startsWith('{'));
  assert.ok(lines.length > 5);
  for (const line of lines) JSON.parse(line);
  assert.ok(lines.some((line) => line.includes('"requestId":"trace-abc-123"') || line.includes('"reqId":"trace-abc-123"')));
  assert.ok(lines.some((line) => line.includes('"upstream call"') && line.includes('"provider":"openai"')));
  for (const secret of [MASTER, 'sk-emulator-openai', 'sk-wrong-key-should-not-be-logged']) assert.ok(!output.includes(secret), `${secret} leaked into the logs`);
});
