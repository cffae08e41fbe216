/**
 * Hostile input at the edge (README "Endpoints" (errors)): NUL bytes and lone surrogates in query values, path
 * ids and JSON strings, `null` where objects are expected in chat, wrong types, repeated query
 * parameters, absurd key durations — each a 400 in the envelope naming the parameter, and
 * nothing reaching a provider.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { startManagedHarness, type ManagedHarness } from './support/managed-config.ts';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';

let harness: ManagedHarness;
let second: OpenAIEmulator;
before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
});
after(() => harness.close()); // closes the second emulator too

const upstreamCalls = () =>
  harness.emulators.openai.calls.length + second.calls.length + harness.emulators.google.calls.length + harness.emulators.azure.calls.length;

async function expect400(response: Response, param: string | null, message?: RegExp) {
  const text = await response.text();
  assert.equal(response.status, 400, text);
  const { error } = JSON.parse(text) as { error: { message: string; type: string; param: string | null; code: string } };
  assert.equal(error.type, 'invalid_request_error');
  assert.equal(error.param, param, text);
  if (message) assert.match(error.message, message);
  return error;
}

async function countUsers(): Promise<number> {
  const result = (await harness.runtime.database.db.execute(sql`SELECT count(*)::int AS n FROM users`)) as unknown as { rows: Array<{ n: number }> };
  return result.rows[0]!.n;
}

const post = (path: string, body: unknown, key?: string) =>
  harness.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...(key ? { key } : {}) });

test('NUL and lone surrogates in query values, path ids and JSON strings: 400 naming the parameter, nothing upstream', async () => {
  const before = upstreamCalls();
  await expect400(await harness.fetch('/v1/files?purpose=%00'), 'purpose', /NUL/);
  await expect400(await harness.fetch('/v1/files?after=a%00b'), 'after', /NUL/);
  await expect400(await harness.fetch('/openai/v1/files?purpose=x&custom_llm_provider=%00'), 'custom_llm_provider');
  await expect400(await harness.fetch('/v1/files/file-%00abc'), 'file_id', /NUL/);
  await expect400(await harness.fetch('/v1/files/file-%00abc/content'), 'file_id');
  await expect400(await harness.fetch('/v1/files/file-%00abc', { method: 'DELETE' }), 'file_id');
  await expect400(await harness.fetch('/key/info?key=sk-%00'), 'key');
  const chat = (content: unknown) => ({ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content }] });
  await expect400(await post('/v1/chat/completions', chat('hello\u0000world')), 'messages[0].content', /NUL/);
  await expect400(await post('/v1/chat/completions', '{"model":"gpt-4o-mini-openai","messages":[{"role":"user","content":"\\ud800"}]}'), 'messages[0].content', /surrogate/);
  await expect400(await post('/v1/chat/completions', chat([{ type: 'file', file: { file_id: 'file-\u0000' } }])), 'messages[0].content[0].file.file_id');
  await expect400(await post('/key/generate', { user_id: 'a\u0000b' }), 'user_id');
  await expect400(await post('/user/new', { metadata: { 'k\u0000': 1 } }), 'metadata.(key)');
  assert.equal(upstreamCalls(), before);
});

test('chat bodies of the wrong shape are 400 naming the field (null parts, null messages, wrong types), never 5xx', async () => {
  const before = upstreamCalls();
  const cases: Array<[unknown, string | null]> = [
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: [null] }] }, 'messages[0].content[0]'],
    [{ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: [null] }] }, 'messages[0].content[0]'],
    [{ model: 'gpt-4o-mini-openai', messages: [null] }, 'messages[0]'],
    [{ model: 'gpt-4o-mini-openai', messages: [[]] }, 'messages[0]'],
    [{ model: 'gpt-4o-mini-openai', messages: null }, 'messages'],
    [{ model: 'gpt-4o-mini-openai', messages: {} }, 'messages'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 5, content: 'x' }] }, 'messages[0].role'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: [{ type: 'file', file: null }] }] }, 'messages[0].content[0].file'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 7 } }] }] }, 'messages[0].content[0].file.file_id'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: null }] }] }, 'messages[0].content[0].image_url'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages[0].content[0].text'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'assistant', content: null, tool_calls: [null] }] }, 'messages[0].tool_calls[0]'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 'x' }], tools: [null] }, 'tools[0]'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 'x' }], temperature: '1' }, 'temperature'],
    [{ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 'x' }], max_tokens: 1.5 }, 'max_tokens'],
    [{ model: ['gpt-4o-mini-openai'], messages: [{ role: 'user', content: 'x' }] }, 'model'],
    [{ model: 'x'.repeat(100_000), messages: [{ role: 'user', content: 'x' }] }, 'model'],
    [[], null],
    [null, null],
    ['"a string"', null],
  ];
  for (const [body, param] of cases) {
    await expect400(await post('/v1/chat/completions', typeof body === 'string' ? body : JSON.stringify(body)), param);
  }
  assert.equal(upstreamCalls(), before, 'nothing reached a provider');
  // The shape check lets well-formed requests through on every provider.
  for (const model of ['gpt-4o-mini-openai', 'gemini-2.0-flash', 'azure-gpt']) {
    const ok = await post('/v1/chat/completions', { model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], temperature: 0.2, max_tokens: 10 });
    assert.equal(ok.status, 200, `${model}: ${await ok.clone().text()}`);
  }
});

test('keys and users: repeated query parameters, absurd durations and wrong field types are 400 naming the field', async () => {
  await expect400(await harness.fetch('/key/info?key=a&key=b'), 'key', /more than once/);
  await expect400(await harness.fetch('/user/info?user_id=a&user_id=b'), 'user_id', /more than once/);
  await expect400(await harness.fetch('/v1/files?limit=1&limit=2'), 'limit', /more than once/);
  await expect400(await harness.fetch('/v1/files?order=asc&order=desc'), 'order');
  for (const duration of ['999999999999d', '99999999999999999999s', '36501d', '0s', '-1d', '1y', '', 'x'.repeat(100)]) {
    await expect400(await post('/key/generate', { duration }), 'duration');
  }
  assert.equal((await post('/key/generate', { duration: '36500d' })).status, 200);
  // A multipart body on a JSON route is not "no body": 415, and no user is created.
  const form = new FormData();
  form.append('user_id', 'from-a-form');
  const usersBeforeForm = await countUsers();
  const multipart = await harness.fetch('/user/new', { method: 'POST', body: form });
  assert.equal(multipart.status, 415, await multipart.clone().text());
  assert.equal(((await multipart.json()) as { error: { code: string } }).error.code, 'unsupported_media_type');
  assert.equal((await harness.fetch('/v1/chat/completions', { method: 'POST', body: form })).status, 415);
  assert.equal(await countUsers(), usersBeforeForm);
  // A refused request leaves no half row: no user without a key.
  const usersBefore = await countUsers();
  await expect400(await post('/user/new', { duration: '1y' }), 'duration');
  await expect400(await post('/key/generate', { user_id: 'never-created', duration: '999999999999d' }), 'duration');
  assert.equal(await countUsers(), usersBefore);
  const typeCases: Array<[string, unknown, string | null]> = [
    ['/key/generate', { models: 'gpt-4o-mini-openai' }, 'models'],
    ['/key/generate', { models: [null] }, 'models.0'],
    ['/key/generate', { user_id: 5 }, 'user_id'],
    ['/key/generate', { user_id: null }, 'user_id'],
    ['/key/generate', { team_id: ['a'] }, 'team_id'],
    ['/key/generate', { key_alias: {} }, 'key_alias'],
    ['/key/generate', { duration: 30 }, 'duration'],
    ['/key/generate', { metadata: 'x' }, 'metadata'],
    ['/key/generate', { metadata: { big: 'x'.repeat(70_000) } }, 'metadata'],
    ['/key/generate', { user_id: 'u'.repeat(300) }, 'user_id'],
    ['/key/generate', [1, 2], null],
    ['/key/generate', 'null', null],
    ['/user/new', { user_role: 7 }, 'user_role'],
    ['/user/new', { user_role: 'emperor' }, 'user_role'],
    ['/user/new', { models: [1] }, 'models.0'],
    ['/key/delete', { keys: 'sk-1' }, 'keys'],
    ['/key/delete', { keys: [] }, 'keys'],
    ['/key/delete', { keys: [null] }, 'keys.0'],
    ['/key/delete', {}, 'keys'],
  ];
  for (const [path, body, param] of typeCases) await expect400(await post(path, JSON.stringify(body)), param);
});

test('/key/info takes the key from ?key=, the x-key header, or the caller', async () => {
  const user = await harness.newUser({ user_id: 'key-info-user' });
  const viaHeader = await harness.fetch('/key/info', { headers: { 'x-key': user.key } });
  assert.equal(viaHeader.status, 200);
  const info = (await viaHeader.json()) as { key: string; info: { user_id: string } };
  assert.equal(info.info.user_id, 'key-info-user');
  assert.equal(info.key, `sk-...${user.key.slice(-4)}`);
  const viaQuery = (await (await harness.fetch(`/key/info?key=${encodeURIComponent(user.key)}`)).json()) as { key: string };
  assert.equal(viaQuery.key, info.key);
  const own = (await (await harness.fetch('/key/info', { key: user.key })).json()) as { key: string };
  assert.equal(own.key, info.key);
});
