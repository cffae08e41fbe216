/**
 * Plain Files API through the gateway with the official openai client, against the OpenAI and
 * Azure emulators: routes and prefixes, provider selection, files_settings for every
 * operation, exact bytes, Azure quirks, and what reached the upstream.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { toFile } from 'openai';
import { startHarness, type Harness } from './support/gateway-harness.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => harness.close());

async function upload(options: { prefix?: string; headers?: Record<string, string>; query?: Record<string, string>; extra?: Record<string, unknown>; data?: Buffer } = {}) {
  const data = options.data ?? randomBytes(70_000);
  const client = harness.client(undefined, { baseURL: `${harness.url}${options.prefix ?? '/v1'}` });
  const file = await client.files.create(
    // Extra params become extra form fields in a multipart call (docs/wire-formats.md §1.8).
    { file: await toFile(data, 'data.jsonl'), purpose: 'batch', ...options.extra } as Parameters<typeof client.files.create>[0],
    { headers: options.headers, query: options.query },
  );
  return { file, data };
}

describe('OpenAI passthrough', () => {
  test('upload → list → retrieve → content → delete round-trips exact bytes', async () => {
    const client = harness.client();
    const { file, data } = await upload();
    assert.match(file.id, /^file-/);
    assert.equal(file.bytes, data.length);
    assert.equal(file.filename, 'data.jsonl');
    assert.equal(file.purpose, 'batch');
    assert.equal(file.object, 'file');

    const stored = harness.emulators.openai.calls.find((call) => call.method === 'POST' && call.path === '/v1/files' && call.status === 200)!;
    assert.equal(stored.headers.authorization, 'Bearer sk-emulator-openai', 'files_settings credentials used upstream');
    assert.deepEqual(Object.keys(stored.form!.fields).sort(), ['purpose']);
    assert.equal(stored.form!.files[0]!.sha256, sha256(data));

    const listed = await client.files.list({}, { headers: { 'custom-llm-provider': 'openai' } });
    assert.ok(listed.data.some((item) => item.id === file.id));
    const retrieved = await client.files.retrieve(file.id);
    assert.equal(retrieved.bytes, data.length);
    const content = Buffer.from(await (await client.files.content(file.id)).arrayBuffer());
    assert.equal(sha256(content), sha256(data));
    const deleted = await client.files.delete(file.id);
    assert.deepEqual(deleted, { id: file.id, object: 'file', deleted: true });
    await assert.rejects(client.files.retrieve(file.id), (error: { status?: number }) => error.status === 404);
  });

  test('routes answer with and without /v1 and with a provider prefix', async () => {
    for (const prefix of ['', '/v1', '/openai/v1']) {
      const { file } = await upload({ prefix });
      const response = await harness.fetch(`${prefix}/files/${file.id}`);
      assert.equal(response.status, 200, `GET ${prefix}/files/{id}`);
      const content = await harness.fetch(`${prefix}/files/${file.id}/content`);
      assert.equal(content.status, 200);
      const removed = await harness.fetch(`${prefix}/files/${file.id}/delete`, { method: 'POST' });
      assert.deepEqual(await removed.json(), { id: file.id, object: 'file', deleted: true });
    }
  });

  test('the gateway never forwards its own fields upstream', async () => {
    const { file } = await upload({ extra: { custom_llm_provider: 'openai', litellm_metadata: 'x' } });
    const call = harness.emulators.openai.calls.findLast((item) => item.method === 'POST' && item.path === '/v1/files')!;
    assert.equal(call.status, 200);
    assert.deepEqual(Object.keys(call.form!.fields), ['purpose']);
    await harness.client().files.delete(file.id);
  });

  test('expires_after reaches the provider as OpenAI form fields', async () => {
    const { file } = await upload({ extra: { expires_after: { anchor: 'created_at', seconds: 7200 } } });
    assert.equal(file.expires_at, file.created_at + 7200);
    const call = harness.emulators.openai.calls.findLast((item) => item.method === 'POST' && item.path === '/v1/files')!;
    assert.deepEqual(call.form!.fields['expires_after[seconds]'], ['7200']);
  });
});

describe('provider selection', () => {
  const azureUploads = () => harness.emulators.azure.calls.filter((call) => call.method === 'POST' && call.path === '/openai/files').length;

  test('by path prefix, header, query and form field', async () => {
    const ways: Array<Parameters<typeof upload>[0]> = [
      { prefix: '/azure/v1' },
      { headers: { 'custom-llm-provider': 'azure' } },
      { query: { custom_llm_provider: 'azure' } },
      { extra: { custom_llm_provider: 'azure' } },
    ];
    for (const way of ways) {
      const before = azureUploads();
      const { file } = await upload(way);
      assert.match(file.id, /^file-[0-9a-f]{32}$/, `azure id for ${JSON.stringify(way)}`);
      assert.equal(azureUploads(), before + 1);
    }
  });

  test('an unknown provider is a 400 naming it', async () => {
    const response = await harness.fetch('/v1/files', { headers: { 'custom-llm-provider': 'nope' } });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { message: string; param: string } };
    assert.match(body.error.message, /Unknown provider 'nope'/);
    assert.equal(body.error.param, 'custom_llm_provider');
  });
});

describe('Azure through files_settings', () => {
  test('every operation uses the configured endpoint, key and api-version; quirks are normalised', async () => {
    const client = harness.client(undefined, { baseURL: `${harness.url}/azure/v1` });
    const data = randomBytes(5000);
    const file = await client.files.create({ file: await toFile(data, 'train.jsonl'), purpose: 'fine-tune' });
    assert.equal(file.status, 'uploaded', "Azure's pending is reported as uploaded");
    assert.equal(file.bytes, data.length);

    const retrieved = await client.files.retrieve(file.id);
    assert.ok(['uploaded', 'processed'].includes(retrieved.status));
    const again = await client.files.retrieve(file.id);
    assert.equal(again.status, 'processed');

    const page = await client.files.list({ limit: 1 });
    assert.equal(page.data.length, 1);
    const raw = (await (await harness.fetch('/azure/v1/files')).json()) as Record<string, unknown>;
    assert.ok('first_id' in raw && 'last_id' in raw && 'has_more' in raw, 'paging fields added to the classic list');

    const content = Buffer.from(await (await client.files.content(file.id)).arrayBuffer());
    assert.equal(sha256(content), sha256(data));
    assert.deepEqual(await client.files.delete(file.id), { id: file.id, object: 'file', deleted: true });

    const calls = harness.emulators.azure.calls.filter((call) => call.path.includes(file.id) || call.path === '/openai/files');
    assert.ok(calls.length >= 5);
    for (const call of calls) {
      assert.equal(call.query['api-version'], '2024-10-21');
      assert.equal(call.headers['api-key'], 'azure-emulator-key');
    }
  });
});

describe('validation and errors', () => {
  test('purpose and expires_after are validated with param set', async () => {
    const client = harness.client();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ purpose: 'nonsense' }, 'purpose'],
      [{ purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 10 } }, 'expires_after[seconds]'],
      [{ purpose: 'batch', expires_after: { anchor: 'last_active_at', seconds: 7200 } }, 'expires_after[anchor]'],
    ];
    for (const [params, param] of cases) {
      await assert.rejects(
        client.files.create({ file: await toFile(Buffer.from('x'), 'a.txt'), ...params } as never),
        (error: { status?: number; param?: string; type?: string }) => error.status === 400 && error.param === param && error.type === 'invalid_request_error',
      );
    }
  });

  test('401 without or with a wrong key, in the OpenAI envelope', async () => {
    for (const key of [null, 'sk-wrong']) {
      const response = await harness.fetch('/v1/files', { key });
      assert.equal(response.status, 401);
      const body = (await response.json()) as { error: Record<string, unknown> };
      assert.equal(body.error.type, 'authentication_error');
      assert.equal(typeof body.error.message, 'string');
    }
  });

  test("an unknown id is the provider's 404, answered as the gateway's own", async () => {
    const response = await harness.fetch('/v1/files/file-doesnotexist');
    assert.equal(response.status, 404);
    const body = (await response.json()) as { error: { message: string; type: string } };
    assert.equal(body.error.message, 'No such File object: file-doesnotexist');
  });
});
