/**
 * Chat completions through the gateway with the openai client (README "Endpoints" (chat)): one unified file id
 * used with OpenAI, Azure and Vertex Gemini models, rewritten per deployment; access and
 * target checks; failover; streaming.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import type { RecordedCall } from '../src/emulators/emulator-kit.ts';
import { startManagedHarness, type ManagedHarness } from './support/managed-config.ts';

let harness: ManagedHarness;
let second: OpenAIEmulator;
let fileId: string;
let ownerKey: string;
let copies: Map<string, string>;

before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
  const owner = await harness.newUser({ user_id: 'chat-owner' });
  ownerKey = owner.key;
  const file = await harness.client(ownerKey).files.create({
    file: await toFile(Buffer.from('%PDF-1.4 quarterly report'), 'report.pdf', { type: 'application/pdf' }),
    purpose: 'user_data',
    target_model_names: 'gpt-4o-mini-openai,gemini-2.0-flash,azure-gpt',
  } as never);
  fileId = file.id;
  const rows = (await harness.runtime.database.db.execute(
    (await import('drizzle-orm')).sql`SELECT deployment_id, provider_file_id FROM managed_file_copies WHERE file_id = ${fileId}`,
  )) as unknown as { rows: Array<{ deployment_id: string; provider_file_id: string }> };
  copies = new Map(rows.rows.map((row) => [row.deployment_id, row.provider_file_id]));
});
after(() => harness.close()); // closes the second emulator too
beforeEach(() => {
  for (const emulator of [harness.emulators.openai, second, harness.emulators.azure, harness.emulators.google]) emulator.faults.clear();
});

const ask = (text: string, withFile = true) => [
  { role: 'user' as const, content: [{ type: 'text' as const, text }, ...(withFile ? [{ type: 'file' as const, file: { file_id: fileId } }] : [])] },
];
const chatCalls = (calls: RecordedCall[]) => calls.filter((call) => call.method === 'POST' && /chat\/completions|generateContent/.test(call.path));
const lastJson = (calls: RecordedCall[]) => chatCalls(calls).at(-1)!.json as Record<string, unknown>;

test('OpenAI: the unified id becomes that deployment’s own file id and the model its own name', async () => {
  const seen = new Set<string>();
  for (let index = 0; index < 4; index += 1) {
    const answer = await harness.client(ownerKey).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: ask('Summarize') });
    assert.match(answer.choices[0]!.message.content!, /Summarize/);
    for (const [deployment, emulator] of [['oai-1', harness.emulators.openai], ['oai-2', second]] as const) {
      const calls = chatCalls(emulator.calls);
      if (calls.length === 0) continue;
      const body = calls.at(-1)!.json as { model: string; messages: Array<{ content: Array<{ file?: { file_id: string } }> }> };
      assert.equal(body.model, 'gpt-4o-mini');
      assert.equal(body.messages[0]!.content[1]!.file!.file_id, copies.get(deployment));
      seen.add(deployment);
    }
  }
  assert.deepEqual([...seen].sort(), ['oai-1', 'oai-2'], 'both deployments served requests');
});

test('Azure: deployment path, api-version, api-key and the Azure copy id', async () => {
  const answer = await harness.client(ownerKey).chat.completions.create({ model: 'azure-gpt', messages: ask('Hello Azure') });
  assert.ok(answer.choices[0]!.message.content);
  const call = chatCalls(harness.emulators.azure.calls).at(-1)!;
  assert.equal(call.path, '/openai/deployments/my-gpt-deployment/chat/completions');
  assert.equal(call.query['api-version'], '2024-10-21');
  assert.equal(call.headers['api-key'], 'azure-emulator-key');
  const body = call.json as { messages: Array<{ content: Array<{ file?: { file_id: string } }> }> };
  assert.equal(body.messages[0]!.content[1]!.file!.file_id, copies.get('azure-1'));
});

test('Vertex Gemini: fileData with the gs:// URI and MIME type, parameters and answer translated', async () => {
  const answer = await harness.client(ownerKey).chat.completions.create({
    model: 'gemini-2.0-flash',
    messages: [{ role: 'system', content: 'Be brief.' }, ...ask('What is in the report?')],
    temperature: 0.2,
    max_tokens: 200,
  });
  assert.equal(answer.object, 'chat.completion');
  assert.equal(answer.choices[0]!.finish_reason, 'stop');
  assert.ok(answer.usage!.total_tokens > 0);
  const call = chatCalls(harness.emulators.google.calls).at(-1)!;
  assert.equal(call.path, '/v1/projects/emulated-project/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent');
  const body = call.json as { contents: Array<{ parts: Array<Record<string, unknown>> }>; systemInstruction: { parts: Array<{ text: string }> }; generationConfig: Record<string, unknown> };
  assert.deepEqual(body.contents[0]!.parts[1], { fileData: { mimeType: 'application/pdf', fileUri: copies.get('vertex-1') } });
  assert.equal(body.systemInstruction.parts[0]!.text, 'Be brief.');
  assert.equal(body.generationConfig.temperature, 0.2);
  assert.equal(body.generationConfig.maxOutputTokens, 200);
  assert.match(answer.choices[0]!.message.content!, new RegExp(copies.get('vertex-1')!.replace(/[/.]/g, '\\$&')));
});

test('streaming returns OpenAI chunks and [DONE] for OpenAI and Gemini', async () => {
  for (const model of ['gpt-4o-mini-openai', 'gemini-2.0-flash']) {
    const stream = await harness.client(ownerKey).chat.completions.create({ model, messages: ask('stream please'), stream: true });
    let text = '';
    let finish: string | null = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(chunks >= 2, `${model}: several chunks`);
    assert.match(text, /stream please/);
    assert.equal(finish, 'stop');
  }
  const raw = await harness.fetch('/v1/chat/completions', {
    key: ownerKey,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gemini-2.0-flash', stream: true, messages: ask('x') }),
  });
  assert.equal(raw.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.ok((await raw.text()).trimEnd().endsWith('data: [DONE]'));
});

test('tool calls come back in OpenAI shape from Gemini', async () => {
  const answer = await harness.client(ownerKey).chat.completions.create({
    model: 'gemini-2.0-flash',
    messages: [{ role: 'user', content: 'What is the weather?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }],
  });
  assert.equal(answer.choices[0]!.finish_reason, 'tool_calls');
  const call = answer.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { location: 'Paris' });
});

test('a model that is not among the file’s targets is a 400 naming file, model and targets', async () => {
  const other = await harness.client(ownerKey).files.create({
    file: await toFile(Buffer.from('only gemini'), 'g.txt'),
    purpose: 'user_data',
    target_model_names: 'gemini-2.0-flash',
  } as never);
  await assert.rejects(
    harness.client(ownerKey).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: other.id } }] }] }),
    (error: { status?: number; message: string }) =>
      error.status === 400 && error.message.includes(other.id) && error.message.includes('gpt-4o-mini-openai') && error.message.includes('gemini-2.0-flash'),
  );
});

test('someone else’s file id is 404; a model the key may not use is 403', async () => {
  const stranger = await harness.newUser({ user_id: 'chat-stranger', models: ['gemini-2.0-flash'] });
  const before = chatCalls(harness.emulators.google.calls).length;
  await assert.rejects(harness.client(stranger.key).chat.completions.create({ model: 'gemini-2.0-flash', messages: ask('steal') }), (error: { status?: number }) => error.status === 404);
  await assert.rejects(harness.client(stranger.key).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: ask('hi', false) }), (error: { status?: number }) => error.status === 403);
  assert.equal(chatCalls(harness.emulators.google.calls).length, before, 'nothing reached the provider');
});

test('a 500, 429 or dropped connection from one deployment fails over to the other', async () => {
  for (const action of [
    { kind: 'status', status: 500, body: { error: { message: 'nope' } } },
    { kind: 'status', status: 429, body: { error: { message: 'slow down' } } },
    { kind: 'drop' },
  ] as const) {
    harness.emulators.openai.faults.add({ path: '/v1/chat/completions', times: Infinity, action });
    const failedBefore = harness.emulators.openai.calls.length;
    // Round-robin: of two requests, one starts on the failing deployment and must fail over.
    for (let index = 0; index < 2; index += 1) {
      const answer = await harness.client(ownerKey).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: ask(`failover ${index}`) });
      assert.match(answer.choices[0]!.message.content!, new RegExp(`failover ${index}`));
    }
    assert.ok(harness.emulators.openai.calls.length > failedBefore, `${action.kind}: the failing deployment was tried`);
    harness.emulators.openai.faults.clear();
  }
  // Both failing: the caller sees the upstream error naming the provider (never a deployment id).
  for (const emulator of [harness.emulators.openai, second]) {
    emulator.faults.add({ path: '/v1/chat/completions', action: { kind: 'status', status: 500, body: { error: { message: 'down' } } } });
  }
  await assert.rejects(harness.client(ownerKey).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: ask('x') }), (error: { status?: number; message: string }) => error.status === 502 && /^502 openai failed \(HTTP 500/.test(error.message) && !/oai-[12]|down/.test(error.message));
});

test('a stream that fails before its first byte fails over; a 4xx is not retried', async () => {
  harness.emulators.openai.faults.add({ path: '/v1/chat/completions', times: Infinity, action: { kind: 'status', status: 503, body: { error: { message: 'busy' } } } });
  for (let index = 0; index < 2; index += 1) {
    const stream = await harness.client(ownerKey).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: ask('streamed'), stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.match(text, /streamed/);
  }
  harness.emulators.openai.faults.clear();
  const before = chatCalls(second.calls).length + chatCalls(harness.emulators.openai.calls).length;
  for (const emulator of [harness.emulators.openai, second]) {
    emulator.faults.add({ path: '/v1/chat/completions', action: { kind: 'status', status: 400, body: { error: { message: 'bad request', type: 'invalid_request_error', param: null, code: null } } } });
  }
  await assert.rejects(harness.client(ownerKey).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: ask('x') }), (error: { status?: number }) => error.status === 400);
  assert.equal(chatCalls(second.calls).length + chatCalls(harness.emulators.openai.calls).length, before + 1, 'a 400 is answered, not retried');
});

test('inline file_data and image_url parts are translated for Gemini and passed through for OpenAI', async () => {
  const pdf = Buffer.from('%PDF-1.4 inline').toString('base64');
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
  const content = [
    { type: 'text' as const, text: 'Look' },
    { type: 'file' as const, file: { filename: 'inline.pdf', file_data: `data:application/pdf;base64,${pdf}` } },
    { type: 'image_url' as const, image_url: { url: `data:image/png;base64,${png}` } },
  ];
  await harness.client(ownerKey).chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content }] });
  const gemini = lastJson(harness.emulators.google.calls) as { contents: Array<{ parts: Array<Record<string, unknown>> }> };
  assert.deepEqual(gemini.contents[0]!.parts.slice(1), [
    { inlineData: { mimeType: 'application/pdf', data: pdf } },
    { inlineData: { mimeType: 'image/png', data: png } },
  ]);
  await harness.client(ownerKey).chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content }] });
  const azure = lastJson(harness.emulators.azure.calls) as { messages: Array<{ content: unknown[] }> };
  assert.deepEqual(azure.messages[0]!.content, content);
});
