/**
 * `npm run demo`: the whole managed-files story, offline. Starts the bundled provider
 * emulators, writes a config, starts the real gateway CLI on the embedded database, and walks
 * through it with the official openai client, printing every step.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { stringify } from 'yaml';
import { startAllEmulators } from '../src/emulators/start-all.ts';

const MASTER_KEY = 'sk-demo-master-key';
const PORT = 4455;
const bold = (text: string) => `\x1b[1m${text}\x1b[0m`;
const step = (text: string) => console.log(`\n${bold(`▶ ${text}`)}`);
const show = (label: string, value: unknown) => console.log(`  ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);

async function main(): Promise<void> {
  step('Starting the provider emulators (OpenAI, Azure OpenAI, Google GCS + Vertex + OAuth, Gemini API) on loopback');
  const emulators = await startAllEmulators();
  for (const [name, url] of Object.entries(emulators.urls)) show(name, url);

  const directory = mkdtempSync(join(tmpdir(), 'unifile-demo-'));
  const serviceAccount = emulators.google.createServiceAccount({ projectId: 'demo-project' });
  const config = {
    model_list: [
      { model_name: 'gpt-4o-mini-openai', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }, model_info: { id: 'openai-east' } },
      { model_name: 'gpt-4o-mini-openai', litellm_params: { model: 'azure/gpt-4o-mini-deployment', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' }, model_info: { id: 'azure-west' } },
      {
        model_name: 'gemini-2.0-flash',
        litellm_params: {
          model: 'vertex_ai/gemini-2.0-flash',
          vertex_project: 'demo-project',
          vertex_location: 'us-central1',
          vertex_credentials: JSON.stringify(serviceAccount),
          bucket_name: 'demo-bucket/managed',
          api_base: emulators.urls.google,
          gcs_api_base: emulators.urls.google,
        },
        model_info: { id: 'vertex-central' },
      },
      { model_name: 'gemini-flash', litellm_params: { model: 'gemini/gemini-2.0-flash', api_base: emulators.urls.gemini, api_key: emulators.gemini.apiKey }, model_info: { id: 'gemini-api' } },
    ],
    files_settings: [{ custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }],
    general_settings: { master_key: MASTER_KEY, data_dir: join(directory, 'data') },
  };
  const configPath = join(directory, 'config.yaml');
  writeFileSync(configPath, stringify(config));
  step(`Starting the gateway: unifile --config ${configPath} --port ${PORT} (embedded Postgres in ${directory}/data)`);
  const gateway = spawn(process.execPath, ['bin/unifile.js', '--config', configPath, '--port', String(PORT), '--host', '127.0.0.1'], {
    env: { ...process.env, UNIFILE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${PORT}`;
  try {
    await waitForReady(base);
    await walkthrough(base, emulators);
    console.log(`\n${bold('✔ Demo complete.')} Every step above went through the gateway with the official openai client.`);
  } finally {
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
    await emulators.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A first start creates the embedded database (a few seconds; much longer on a busy machine). */
async function waitForReady(base: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/health/readiness`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the gateway did not become ready within 120 s');
}

async function admin(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

async function walkthrough(base: string, emulators: Awaited<ReturnType<typeof startAllEmulators>>): Promise<void> {
  step('The admin creates two users with POST /user/new (keys are shown once, stored hashed)');
  const alice = await admin(base, '/user/new', { user_id: 'user_123' });
  const bob = await admin(base, '/user/new', { user_id: 'user_456' });
  show('user_123 key', `${String(alice.key).slice(0, 10)}…`);
  const client = new OpenAI({ apiKey: String(alice.key), baseURL: `${base}/v1` });
  const stranger = new OpenAI({ apiKey: String(bob.key), baseURL: `${base}/v1` });

  step('Plain Files API passthrough to OpenAI: upload → retrieve → content → delete');
  const plain = await client.files.create({ file: await toFile(Buffer.from('{"hello":"world"}\n'), 'hello.jsonl'), purpose: 'batch' }, { headers: { 'custom-llm-provider': 'openai' } });
  show('provider file id', plain.id);
  show('retrieve', await client.files.retrieve(plain.id, { headers: { 'custom-llm-provider': 'openai' } }));
  show('content', await (await client.files.content(plain.id, { headers: { 'custom-llm-provider': 'openai' } })).text());
  show('user_456 retrieving it', await stranger.files.retrieve(plain.id).then(() => 'visible (wrong!)', (error: { status: number }) => `HTTP ${error.status}`));
  show('delete', await client.files.delete(plain.id, { headers: { 'custom-llm-provider': 'openai' } }));

  step('Managed file: user_123 uploads report.pdf once for gpt-4o-mini-openai, gemini-2.0-flash (Vertex) and gemini-flash (Gemini API)');
  const pdf = Buffer.from('%PDF-1.4\n% Quarterly report: revenue grew 12%.\n%%EOF\n');
  const file = await client.files.create({
    file: await toFile(pdf, 'report.pdf', { type: 'application/pdf' }),
    purpose: 'user_data',
    // @ts-expect-error gateway field, sent as a form field
    target_model_names: 'gpt-4o-mini-openai, gemini-2.0-flash, gemini-flash',
  });
  show('unified id', file.id);
  show('stored on OpenAI', emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/files').length - 1 + ' new file');
  show('stored on Azure', emulators.azure.calls.filter((call) => call.method === 'POST' && call.path === '/openai/files').length + ' file');
  show('stored in GCS', emulators.google.objects().map((object) => `gs://${object.bucket}/${object.name} (${object.contentType})`));
  show('stored on the Gemini API', emulators.gemini.files().map((stored) => `${stored.name} (${stored.state}, expires in 48 h)`));

  step('The same id works with every model: the gateway rewrites it for the deployment it picks');
  for (const model of ['gpt-4o-mini-openai', 'gpt-4o-mini-openai', 'gemini-2.0-flash', 'gemini-flash']) {
    const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarize the report' }, { type: 'file', file: { file_id: file.id } }] }] });
    show(model, answer.choices[0]!.message.content!);
  }
  const stream = await client.chat.completions.create({ model: 'gemini-2.0-flash', stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: 'Stream it' }, { type: 'file', file: { file_id: file.id } }] }] });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
  show('gemini-2.0-flash (stream)', streamed);

  step('48 hours later the Gemini API has deleted its copy: the gateway re-makes it from a copy that keeps the bytes, same id');
  const expired = emulators.gemini.files()[0]!;
  emulators.gemini.expireFile(expired.name);
  show('expired on the Gemini API', expired.name);
  const again = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: [{ type: 'text', text: 'Still there?' }, { type: 'file', file: { file_id: file.id } }] }] });
  show('gemini-flash', again.choices[0]!.message.content!);
  show('stored on the Gemini API now', emulators.gemini.files().map((stored) => stored.name));

  step('Another user cannot see it: every call answers 404, as for an id that does not exist');
  for (const [name, call] of [
    ['retrieve', () => stranger.files.retrieve(file.id)],
    ['content', () => stranger.files.content(file.id)],
    ['chat', () => stranger.chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: file.id } }] }] })],
  ] as const) {
    show(name, await (call as () => Promise<unknown>)().then(() => 'visible (wrong!)', (error: { status: number }) => `HTTP ${error.status}`));
  }
  show('user_456 list', (await stranger.files.list()).data.length + ' files');
  show('user_123 list', (await client.files.list()).data.map((item) => `${item.id} ${item.filename}`));

  step('user_123 deletes it: every provider copy goes, then the mapping');
  show('delete', await client.files.delete(file.id));
  show('GCS objects left', emulators.google.objects().length);
  show('Gemini API files left', emulators.gemini.files().length);
  show('retrieve after delete', await client.files.retrieve(file.id).then(() => 'visible (wrong!)', (error: { status: number }) => `HTTP ${error.status}`));
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
