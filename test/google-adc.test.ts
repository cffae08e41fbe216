/**
 * Google Application Default Credentials (issue 8): a Vertex deployment without
 * vertex_credentials takes its tokens from the metadata server (GCE_METADATA_HOST pointing at the
 * Google emulator's `/computeMetadata/v1/…/token`, `Metadata-Flavor: Google`), or from the key
 * file GOOGLE_APPLICATION_CREDENTIALS names — behind the same token hook, so storage and chat work
 * the same. Asserted on what the emulator received.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toFile } from 'openai';
import { ConfigError, loadConfig } from '../src/config/load-config.ts';
import { METADATA_PROJECT_ID } from '../src/emulators/google-metadata.ts';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';

const TOKEN_PATH = '/computeMetadata/v1/instance/service-accounts/default/token';
let emulators: AllEmulators;
let keyDirectory: string;
before(async () => {
  emulators = await startAllEmulators();
  keyDirectory = await mkdtemp(join(tmpdir(), 'unifile-adc-'));
});
after(async () => {
  await emulators.close();
  await rm(keyDirectory, { recursive: true, force: true });
});

const vertexModel = (extra: Record<string, unknown> = {}) => ({
  model_list: [{ model_name: 'gemini-adc', litellm_params: { model: 'vertex_ai/gemini-2.0-flash', bucket_name: 'adc-bucket', api_base: emulators.urls.google, gcs_api_base: emulators.urls.google, ...extra } }],
});

async function roundTrip(harness: Harness): Promise<void> {
  const client = harness.client();
  const file = await client.files.create({
    file: await toFile(Buffer.from('%PDF-1.4 adc'), 'adc.pdf', { type: 'application/pdf' }),
    purpose: 'user_data',
    // @ts-expect-error gateway field
    target_model_names: 'gemini-adc',
  });
  const answer = await client.chat.completions.create({ model: 'gemini-adc', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'file', file: { file_id: file.id } }] }] });
  assert.match(answer.choices[0]!.message.content!, /gs:\/\/adc-bucket\//);
}

describe('metadata server', () => {
  let harness: Harness;
  before(async () => {
    emulators.google.reset();
    harness = await startHarness({ emulators, config: () => vertexModel(), env: { GCE_METADATA_HOST: new URL(emulators.urls.google).host, GOOGLE_CLOUD_PROJECT: METADATA_PROJECT_ID } });
  });
  after(async () => harness.close());

  test('tokens come from the metadata endpoint with Metadata-Flavor: Google; files and chat work', async () => {
    await roundTrip(harness);
    const tokenCalls = emulators.google.calls.filter((call) => call.path === TOKEN_PATH);
    assert.equal(tokenCalls.length, 1, 'one token, cached, shared by storage and chat');
    assert.equal(tokenCalls[0]!.headers['metadata-flavor'], 'Google');
    assert.equal(tokenCalls[0]!.status, 200);
    assert.equal(emulators.google.calls.filter((call) => call.path === '/token').length, 0, 'no key file, no JWT grant');
    const chat = emulators.google.calls.find((call) => call.path.endsWith(':generateContent'))!;
    assert.equal(chat.path, `/v1/projects/${METADATA_PROJECT_ID}/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent`);
    assert.equal(chat.status, 200);
  });

  test('a metadata server that refuses is 502 upstream_auth_failed, not a crash', async () => {
    emulators.google.revokeTokens();
    emulators.google.faults.add({ path: TOKEN_PATH, times: Infinity, action: { kind: 'status', status: 404, body: 'no service account' } });
    try {
      await assert.rejects(harness.client().chat.completions.create({ model: 'gemini-adc', messages: [{ role: 'user', content: 'hi' }] }), (error: { status?: number; code?: string }) => {
        assert.equal(error.status, 502);
        assert.equal(error.code, 'upstream_auth_failed');
        return true;
      });
    } finally {
      emulators.google.faults.clear();
    }
  });
});

test('GOOGLE_APPLICATION_CREDENTIALS names a service-account key file: the JWT grant is used', async () => {
  emulators.google.reset();
  const path = join(keyDirectory, 'key.json');
  await writeFile(path, JSON.stringify(emulators.google.createServiceAccount({ projectId: 'file-project' })));
  const harness = await startHarness({ emulators, config: () => vertexModel(), env: { GOOGLE_APPLICATION_CREDENTIALS: path } });
  try {
    await roundTrip(harness);
    assert.equal(emulators.google.calls.filter((call) => call.path === '/token' && call.status === 200).length, 1);
    assert.equal(emulators.google.calls.filter((call) => call.path === TOKEN_PATH).length, 0);
    assert.ok(emulators.google.calls.some((call) => call.path.startsWith('/v1/projects/file-project/')));
  } finally {
    await harness.close();
  }
});

test('without a key and without a project the config says what to set', () => {
  assert.throws(
    () => loadConfig({ text: 'model_list:\n  - model_name: g\n    litellm_params: { model: vertex_ai/gemini-2.0-flash }\n' }, {}),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, ['model_list[0].litellm_params.vertex_project: required when credentials come from the metadata server (or set GOOGLE_CLOUD_PROJECT)']);
      return true;
    },
  );
});

test('the metadata endpoint refuses calls without Metadata-Flavor: Google', async () => {
  const response = await fetch(`${emulators.urls.google}${TOKEN_PATH}`);
  assert.equal(response.status, 403);
  assert.equal(response.headers.get('metadata-flavor'), 'Google');
});
