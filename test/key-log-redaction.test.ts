/**
 * Keys never reach the logs through URLs (README "Running it"): `GET /key/info?key=sk-…` and any other
 * query value that carries a key is redacted in every log line of the real CLI process, while
 * the request still works; the `x-key` header alternative is redacted too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { startCliGateway, type CliGateway } from './support/cli-gateway.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';
import { redactUrl } from '../src/http/log-redaction.ts';

const MASTER = 'sk-redaction-master-secret';
let emulators: AllEmulators;
let database: TestDatabase;
let gateway: CliGateway;

before(async () => {
  emulators = await startAllEmulators();
  database = await createTestDatabase();
  gateway = await startCliGateway(
    stringify({
      model_list: [{ model_name: 'gpt', litellm_params: { model: 'gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } }],
      general_settings: { master_key: MASTER, ...(database.url ? { database_url: database.url } : {}) },
    }),
    { UNIFILE_LOG_LEVEL: 'info' },
  );
});
after(async () => {
  await gateway.stop();
  await emulators.close();
  await database.drop();
});

test('redactUrl replaces key-bearing query values and keeps the rest', () => {
  assert.equal(redactUrl('/key/info?key=sk-abc'), '/key/info?key=[redacted]');
  assert.equal(redactUrl('/key/info?key=plain-token&x=1'), '/key/info?key=[redacted]&x=1');
  assert.equal(redactUrl('/v1/files?after=file-1&api_key=abc&limit=2'), '/v1/files?after=file-1&api_key=[redacted]&limit=2');
  assert.equal(redactUrl('/v1/files?whatever=sk-live-123'), '/v1/files?whatever=[redacted]');
  assert.equal(redactUrl('/v1/files?%6Bey=secret'), '/v1/files?%6Bey=[redacted]');
  assert.equal(redactUrl('/v1/files?k=%73k-encoded'), '/v1/files?k=[redacted]');
  assert.equal(redactUrl('/v1/files'), '/v1/files');
});

test('GET /key/info?key=sk-… works and the key appears in no log line of the CLI', async () => {
  const auth = { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' };
  const created = (await (await fetch(`${gateway.base}/key/generate`, { method: 'POST', headers: auth, body: '{}' })).json()) as { key: string };
  const viaQuery = await fetch(`${gateway.base}/key/info?key=${encodeURIComponent(created.key)}`, { headers: auth });
  assert.equal(viaQuery.status, 200);
  const viaHeader = await fetch(`${gateway.base}/key/info`, { headers: { ...auth, 'x-key': created.key } });
  assert.equal(viaHeader.status, 200);
  const repeated = await fetch(`${gateway.base}/key/info?key=${created.key}&key=${created.key}x`, { headers: auth });
  assert.equal(repeated.status, 400);
  await fetch(`${gateway.base}/no/such/route?key=${created.key}`, { headers: auth });
  await fetch(`${gateway.base}/v1/files?token=${created.key}`, { headers: auth });
  await fetch(`${gateway.base}/key/info?key=${created.key}`, { headers: { authorization: `Bearer ${created.key}x` } });

  assert.equal(await gateway.stop(), 0);
  const output = gateway.output();
  const lines = output.split('\n').filter((line) => line.startsWith('{'));
  assert.ok(lines.some((line) => line.includes('"url":"/key/info?key=[redacted]"')), 'the request is logged, redacted');
  for (const secret of [created.key, encodeURIComponent(created.key), MASTER]) assert.ok(!output.includes(secret), 'a key leaked into the logs');
});
