/**
 * A config written the way LiteLLM's own proxy CI configs are (README "Configuration reference"): providers this
 * gateway does not speak, wildcard routes, litellm_settings / router_settings / general_settings
 * keys it does not know, and environment variables only those need. The real CLI must start,
 * warn naming each skipped entry, serve the supported models, and answer 400 "not supported
 * here" for the skipped ones.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { startCliGateway, type CliGateway } from './support/cli-gateway.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';

const MASTER = 'sk-1234';
let emulators: AllEmulators;
let database: TestDatabase;
let gateway: CliGateway;

const configText = (urls: AllEmulators['urls'], databaseUrl: string | undefined) => `
model_list:
  - model_name: gpt-3.5-turbo
    litellm_params:
      model: azure/chatgpt-v-2
      api_base: os.environ/AZURE_API_BASE
      api_key: os.environ/AZURE_API_KEY
      api_version: "2024-10-21"
      stream_timeout: 60
    model_info:
      mode: chat
      base_model: azure/gpt-35-turbo
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      api_base: os.environ/OPENAI_API_BASE
      rpm: 480
      timeout: 300
      input_cost_per_token: 0.00000015
    model_info:
      id: oai-mini
  - model_name: claude-3-5-sonnet
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20240620
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: groq-llama3
    litellm_params:
      model: groq/llama3-8b-8192
      api_key: os.environ/GROQ_API_KEY
  - model_name: bedrock-claude
    litellm_params:
      model: bedrock/anthropic.claude-3-sonnet-20240229-v1:0
      aws_region_name: us-west-2
      aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
  - model_name: "anthropic/*"
    litellm_params:
      model: "anthropic/*"
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: "openai/*"
    litellm_params:
      model: "openai/*"
      api_key: os.environ/OPENAI_API_KEY
  - model_name: fake-openai-endpoint
    litellm_params:
      model: openai/fake
      api_key: fake-key
      api_base: ${urls.openai}
      mock_response: hello
      tags: ["teamA"]
  - model_name: text-embedding-ada-002
    litellm_params:
      model: azure/azure-embedding-model
      api_base: os.environ/AZURE_API_BASE
      api_key: os.environ/AZURE_API_KEY
      api_version: "2024-10-21"
    model_info:
      mode: embedding
  - model_name: "*"
    litellm_params:
      model: "*"

litellm_settings:
  drop_params: true
  num_retries: 5
  request_timeout: 600
  telemetry: false
  success_callback: ["prometheus"]
  cache: true
  cache_params:
    type: redis
    host: os.environ/REDIS_HOST
  context_window_fallbacks: [{ "gpt-3.5-turbo": ["gpt-4o-mini"] }]

router_settings:
  routing_strategy: usage-based-routing-v2
  redis_host: os.environ/REDIS_HOST
  redis_password: os.environ/REDIS_PASSWORD
  enable_pre_call_checks: true

general_settings:
  master_key: ${MASTER}
  ${databaseUrl ? `database_url: ${databaseUrl}` : ''}
  store_model_in_db: true
  proxy_batch_write_at: 60
  alerting: ["slack"]
  slack_webhook_url: os.environ/SLACK_WEBHOOK_URL
  disable_master_key_return: true
  pass_through_endpoints:
    - path: /v1/rerank
      target: https://api.cohere.com/v1/rerank
`;

before(async () => {
  emulators = await startAllEmulators();
  database = await createTestDatabase();
  gateway = await startCliGateway(configText(emulators.urls, database.url), {
    AZURE_API_BASE: emulators.urls.azure,
    AZURE_API_KEY: 'azure-emulator-key',
    OPENAI_API_KEY: 'sk-emulator-openai',
    OPENAI_API_BASE: emulators.urls.openai,
    UNIFILE_LOG_LEVEL: 'info',
  });
});
after(async () => {
  await gateway.stop();
  await emulators.close();
  await database.drop();
});

test('the CLI starts on a LiteLLM CI-style config and warns naming every skipped entry and unknown key', async () => {
  const warnings = gateway
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((line) => line.level === 40)
    .map((line) => line.msg);
  for (const [index, name, reason] of [
    [2, 'claude-3-5-sonnet', "provider 'anthropic'"],
    [3, 'groq-llama3', "provider 'groq'"],
    [4, 'bedrock-claude', "provider 'bedrock'"],
    [5, 'anthropic/*', "provider 'anthropic'"],
    [6, 'openai/*', "wildcard routing ('openai/*')"],
    [9, '*', "wildcard routing ('*')"],
  ] as const) {
    assert.ok(warnings.includes(`config: model_list[${index}] (model_name '${name}'): ${reason} is not supported here; entry skipped`), `${name}: ${warnings.join('\n')}`);
  }
  for (const key of ['general_settings.store_model_in_db', 'general_settings.slack_webhook_url', 'model_list[7].litellm_params.mock_response', 'model_list[1].litellm_params.input_cost_per_token']) {
    assert.ok(warnings.includes(`config: ${key}: unknown key, ignored`), key);
  }
  const models = (await (await fetch(`${gateway.base}/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } })).json()) as { data: Array<{ id: string }> };
  assert.deepEqual(
    models.data.map((model) => model.id),
    ['gpt-3.5-turbo', 'gpt-4o-mini', 'fake-openai-endpoint', 'text-embedding-ada-002'],
  );
});

test('supported models serve; a skipped model is a 400 "not supported here" in chat and in target_model_names', async () => {
  const client = new OpenAI({ apiKey: MASTER, baseURL: `${gateway.base}/v1`, maxRetries: 0 });
  const chat = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(chat.object, 'chat.completion');
  const azure = await client.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(azure.object, 'chat.completion');

  for (const [model, provider] of [['claude-3-5-sonnet', 'anthropic'], ['groq-llama3', 'groq'], ['anthropic/claude-3-opus', 'anthropic']] as const) {
    const error = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => assert.fail('accepted'),
      (caught: InstanceType<typeof OpenAI.APIError>) => caught,
    );
    assert.equal(error.status, 400, model);
    assert.deepEqual(error.error, {
      message: `Model '${model}' uses provider '${provider}', which is not supported here.`,
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_supported',
    });
  }
  const before = emulators.openai.calls.length + emulators.azure.calls.length;
  const upload = await client.files
    .create({
      file: await toFile(Buffer.from('x'), 'x.txt'),
      purpose: 'user_data',
      // @ts-expect-error gateway field
      target_model_names: 'gpt-4o-mini, bedrock-claude',
    })
    .then(
      () => assert.fail('accepted'),
      (caught: InstanceType<typeof OpenAI.APIError>) => caught,
    );
  assert.equal(upload.status, 400);
  assert.equal(upload.error && (upload.error as { code: string }).code, 'model_not_supported');
  assert.match(upload.message, /bedrock-claude.*provider 'bedrock'.*not supported here/);
  assert.equal(emulators.openai.calls.length + emulators.azure.calls.length, before, 'nothing uploaded');
  // A name no entry matches is still "unknown" when no catch-all wildcard is configured… here '*' matches it.
  const wildcard = await client.chat.completions.create({ model: 'some-model', messages: [{ role: 'user', content: 'hi' }] }).catch((caught: { status: number; error: { code: string } }) => caught);
  assert.equal((wildcard as { status: number }).status, 400);
  assert.equal((wildcard as { error: { code: string } }).error.code, 'model_not_supported');
});
