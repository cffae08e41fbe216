/**
 * Adding a provider = its folder + one line in the list (README "Layout"). A test-only provider, test/support/echo-provider/, registered only by appending its
 * definition to the list given to the config, works end to end: its params are validated, its
 * checks run, the registry builds its adapter, the OpenAPI enum names it, managed files and chat
 * route through it with the one id, plain /echo/v1/files reach it, and its raw ids pass the
 * ownership check — all asserted on what the emulator received.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { toFile } from 'openai';
import { ConfigError, loadConfig } from '../src/config/load-config.ts';
import type { ProviderDefinition } from '../src/providers/provider-definition.ts';
import { PROVIDER_DEFINITIONS } from '../src/providers/provider-list.ts';
import { WeightedRoundRobin } from '../src/services/weighted-round-robin.ts';
import { echoProvider } from './support/echo-provider/echo-provider.ts';
import { defaultConfig, startHarness, type Harness } from './support/gateway-harness.ts';

const WITH_ECHO = [...PROVIDER_DEFINITIONS, echoProvider];

function problemsOf(text: string, providers: readonly ProviderDefinition[] = WITH_ECHO): string[] {
  try {
    loadConfig({ text }, {}, { providers });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return assert.fail('expected the config to be refused');
}

describe('config from the provider list', () => {
  test('a kind exists only when its definition is in the list; its own params and checks apply', () => {
    const text = 'model_list:\n  - model_name: e\n    litellm_params: { model: echo/m, api_base: "http://127.0.0.1:1/v1" }\n';
    // Without its definition the entry is skipped with a warning (README "Configuration reference": the config still starts).
    const without = loadConfig({ text }, {}, { providers: PROVIDER_DEFINITIONS });
    assert.deepEqual(without.warnings, ["model_list[0] (model_name 'e'): provider 'echo' is not supported here; entry skipped"]);
    assert.deepEqual(without.deployments, []);
    assert.deepEqual(problemsOf(text), ['model_list[0].litellm_params.echo_tag: required for echo']);
    assert.match(problemsOf(text.replace('}', ', echo_tag: "Not Valid" }'))[0]!, /^model_list\[0\]\.litellm_params\.echo_tag: /);
    const config = loadConfig({ text: text.replace('}', ', echo_tag: t-1 }') }, {}, { providers: WITH_ECHO });
    assert.deepEqual(config.deployments[0]!.settings.options, { echoTag: 't-1' });
    assert.deepEqual(config.providers.kinds, ['openai', 'azure', 'vertex_ai', 'gemini', 'echo']);
  });

  test('settings accepted but not acted upon are startup warnings naming them; weight is acted upon', () => {
    const config = loadConfig({ text: 'model_list:\n  - model_name: a\n    litellm_params: { model: gpt-4o-mini, rpm: 10, tpm: 1000, weight: 3 }\n' }, {});
    assert.deepEqual([...config.warnings].sort(), [
      'model_list[0].litellm_params.rpm: accepted for LiteLLM compatibility, not acted upon',
      'model_list[0].litellm_params.tpm: accepted for LiteLLM compatibility, not acted upon',
    ]);
    assert.equal(config.deployments[0]!.weight, 3);
  });

  test('weighted round-robin spreads picks in proportion to weight, interleaved', () => {
    const balancer = new WeightedRoundRobin();
    const candidates = [{ id: 'a', weight: 3 }, { id: 'b', weight: 1 }];
    const picks = Array.from({ length: 8 }, () => candidates[balancer.pick(candidates)]!.id).join('');
    assert.equal(picks, 'aabaaaba');
    const even = new WeightedRoundRobin();
    const plain = [{ id: 'x' }, { id: 'y' }];
    assert.equal(Array.from({ length: 4 }, () => plain[even.pick(plain)]!.id).join(''), 'xyxy');
  });
});

describe('a test-only provider through the gateway', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      providers: WITH_ECHO,
      config: (emulators) => ({
        ...defaultConfig(emulators),
        model_list: [
          { model_name: 'echo-model', litellm_params: { model: 'echo/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai', echo_tag: 'tag-42' }, model_info: { id: 'echo-1' } },
        ],
      }),
    });
  });
  after(async () => harness.close());
  const echoed = () => harness.emulators.openai.calls.filter((call) => call.headers['x-echo-tag'] === 'tag-42');

  test('the OpenAPI provider enum is derived from the list', async () => {
    const document = (await (await harness.fetch('/openapi.json')).json()) as { paths: Record<string, { get?: { parameters?: Array<{ name: string; schema: { enum?: string[] } }> } }> };
    const header = document.paths['/v1/files/{file_id}']!.get!.parameters!.find((parameter) => parameter.name === 'custom-llm-provider')!;
    assert.deepEqual(header.schema.enum, ['openai', 'azure', 'vertex_ai', 'gemini', 'echo']);
  });

  test('managed upload, chat with the one id (plain and stream), content and delete go through the echo adapter', async () => {
    const user = await harness.newUser({ user_id: 'echo-user' });
    const client = harness.client(user.key);
    const bytes = Buffer.from('%PDF-1.7 echo document');
    const file = await client.files.create({
      file: await toFile(bytes, 'echo.pdf', { type: 'application/pdf' }),
      purpose: 'user_data',
      // @ts-expect-error gateway field
      target_model_names: 'echo-model',
    });
    assert.match(file.id, /^file-/);
    const upload = echoed().find((call) => call.method === 'POST' && call.path === '/v1/files')!;
    assert.equal(upload.form!.files[0]!.sha256, createHash('sha256').update(bytes).digest('hex'));
    const copies = (await harness.runtime.database.db.execute(sql`select provider, provider_file_id from managed_file_copies where file_id = ${file.id}`)) as unknown as { rows: Array<{ provider: string; provider_file_id: string }> };
    assert.deepEqual(copies.rows.map((row) => row.provider), ['echo']);
    const providerId = copies.rows[0]!.provider_file_id;

    const messages = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'echo this' }, { type: 'file' as const, file: { file_id: file.id } }] }];
    const answer = await client.chat.completions.create({ model: 'echo-model', messages });
    assert.equal(answer.object, 'chat.completion');
    const stream = await client.chat.completions.create({ model: 'echo-model', messages, stream: true });
    let chunks = 0;
    for await (const _chunk of stream) chunks += 1;
    assert.ok(chunks > 0);
    const chats = echoed().filter((call) => call.path === '/v1/chat/completions');
    assert.equal(chats.length, 2);
    for (const chat of chats) {
      const sent = JSON.stringify(chat.json);
      assert.doesNotMatch(sent, new RegExp(file.id));
      assert.match(sent, new RegExp(providerId));
      assert.equal((chat.json as { model: string }).model, 'gpt-4o-mini');
    }
    assert.deepEqual(Buffer.from(await (await client.files.content(file.id)).arrayBuffer()), bytes);
    await client.files.delete(file.id);
    assert.ok(echoed().some((call) => call.method === 'DELETE'));
  });

  test('plain /echo/v1/files reaches the provider; its raw ids pass the ownership check in chat', async () => {
    const owner = await harness.newUser({ user_id: 'echo-owner' });
    const stranger = await harness.newUser({ user_id: 'echo-stranger' });
    const response = await harness.fetch('/echo/v1/files', {
      key: owner.key,
      method: 'POST',
      body: (() => {
        const form = new FormData();
        form.set('purpose', 'user_data');
        form.set('file', new Blob([Buffer.from('raw echo bytes')], { type: 'text/plain' }), 'raw.txt');
        return form;
      })(),
    });
    assert.equal(response.status, 200);
    const raw = (await response.json()) as { id: string };
    assert.ok(echoed().some((call) => call.method === 'POST' && call.path === '/v1/files' && call.form?.files[0]?.filename === 'raw.txt'));
    const messages = [{ role: 'user' as const, content: [{ type: 'file' as const, file: { file_id: raw.id } }] }];
    const answer = await harness.client(owner.key).chat.completions.create({ model: 'echo-model', messages });
    assert.equal(answer.object, 'chat.completion');
    await assert.rejects(harness.client(stranger.key).chat.completions.create({ model: 'echo-model', messages }), (error: { status?: number }) => error.status === 404);

    // The provider's own storage URL form (its storedReferenceForms hook) names the same file: the
    // owner's goes through as sent, a stranger's is 404 and never reaches the provider.
    const url = `https://store.echo.test/${raw.id}`;
    const byUrl = [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url } }] }];
    const callsBefore = echoed().length;
    await assert.rejects(harness.client(stranger.key).chat.completions.create({ model: 'echo-model', messages: byUrl }), (error: { status?: number }) => error.status === 404);
    assert.equal(echoed().length, callsBefore, 'nothing sent for a stranger');
    await harness.client(owner.key).chat.completions.create({ model: 'echo-model', messages: byUrl });
    const sent = echoed().at(-1)!.json as { messages: Array<{ content: Array<{ image_url?: { url: string } }> }> };
    assert.equal(sent.messages[0]!.content[0]!.image_url!.url, url);
  });
});
