/**
 * The OpenAI and Azure chat capabilities against their emulators over real HTTP: unified file
 * ids rewritten per deployment (visible in what the emulator received), Azure paths, api-version
 * and api-key, streams that yield chunks then end, failures before the first byte rejecting with
 * UpstreamError, and aborts that reach the upstream connection.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { GatewayError, UpstreamError } from '../../src/core/errors.ts';
import { startAzureEmulator, type AzureEmulator } from '../../src/emulators/azure-emulator.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import { createAzureAdapter } from '../../src/providers/azure/azure-adapter.ts';
import { createOpenAIAdapter } from '../../src/providers/openai/openai-adapter.ts';
import type { ChatCapability, ChatRequest, ProviderAdapter } from '../../src/providers/provider-adapter.ts';
import { answerOf, collect, recordingContext, rejection, streamedText } from './chat-support.ts';

const UNIFIED = 'bGl0ZWxsbV9wcm94eTp1bmlmaWVkLWlk';
let openaiEmulator: OpenAIEmulator;
let azureEmulator: AzureEmulator;
let openaiAdapter: ProviderAdapter;
let azureAdapter: ProviderAdapter;
let azureV1Adapter: ProviderAdapter;
let openaiFileId: string;
let azureFileId: string;

before(async () => {
  [openaiEmulator, azureEmulator] = await Promise.all([
    startOpenAIEmulator({ chatChunkDelayMs: 25 }),
    startAzureEmulator({ deployments: ['gpt-4o-eu'] }),
  ]);
  openaiAdapter = createOpenAIAdapter({ provider: 'openai', instance: 'openai-1', model: 'gpt-4o-mini', apiKey: openaiEmulator.apiKey, apiBase: openaiEmulator.apiBase });
  azureAdapter = createAzureAdapter({ provider: 'azure', instance: 'azure-eu', model: 'gpt-4o-eu', apiKey: azureEmulator.apiKey, apiBase: azureEmulator.url });
  azureV1Adapter = createAzureAdapter({ provider: 'azure', instance: 'azure-v1', model: 'gpt-4o-eu', apiKey: azureEmulator.apiKey, apiBase: `${azureEmulator.url}/openai/v1` });
});
after(async () => {
  await Promise.all([openaiAdapter.close(), azureAdapter.close(), azureV1Adapter.close()]);
  await Promise.all([openaiEmulator.close(), azureEmulator.close()]);
});
beforeEach(async () => {
  openaiEmulator.reset();
  azureEmulator.reset();
  // The same document uploaded to each provider, as the managed-files service would.
  const openai = new OpenAI({ apiKey: openaiEmulator.apiKey, baseURL: openaiEmulator.apiBase, maxRetries: 0 });
  const azure = new AzureOpenAI({ endpoint: azureEmulator.url, apiKey: azureEmulator.apiKey, apiVersion: '2024-10-21', maxRetries: 0 });
  openaiFileId = (await openai.files.create({ file: await toFile(Buffer.from('%PDF-1.4 doc'), 'doc.pdf'), purpose: 'user_data' })).id;
  azureFileId = (await azure.files.create({ file: await toFile(Buffer.from('%PDF-1.4 doc'), 'doc.pdf'), purpose: 'assistants' })).id;
});

function chatRequest(model: string, extra: Record<string, unknown> = {}): ChatRequest {
  return {
    body: {
      model,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarize the secret plan' }, { type: 'file', file: { file_id: UNIFIED } }] }],
      ...extra,
    },
    fileReferences: {
      [UNIFIED]: {
        'openai-1': { providerFileId: openaiFileId, mimeType: 'application/pdf' },
        'azure-eu': { providerFileId: azureFileId, mimeType: 'application/pdf' },
        'azure-v1': { providerFileId: azureFileId, mimeType: 'application/pdf' },
      },
    },
  };
}

const chatOf = (adapter: ProviderAdapter): ChatCapability => adapter.chat!;
const lastFilePart = (json: unknown) => (json as { messages: Array<{ content: unknown[] }> }).messages[0]!.content[1];

describe('OpenAI chat adapter', () => {
  test('rewrites the unified id to this deployment\'s file id and logs one line without content', async () => {
    const context = recordingContext();
    const answer = await answerOf(chatOf(openaiAdapter).complete(chatRequest('gpt-4o-mini'), context));
    const call = openaiEmulator.calls.at(-1)!;
    assert.equal(call.path, '/v1/chat/completions');
    assert.equal(call.headers.authorization, `Bearer ${openaiEmulator.apiKey}`);
    assert.equal(call.headers['x-request-id'], 'req-chat-test');
    assert.deepEqual(lastFilePart(call.json), { type: 'file', file: { file_id: openaiFileId } });
    const choices = answer.choices as Array<{ message: { content: string } }>;
    assert.equal(choices[0]!.message.content, `Echo from openai:gpt-4o-mini: Summarize the secret plan [files: ${openaiFileId} (doc.pdf, 12 bytes)]`);
    assert.deepEqual(
      context.lines.map(({ durationMs: _duration, upstreamRequestId: _id, ...line }) => line),
      [{ provider: 'openai', deployment: 'openai-1', operation: 'chat.complete', status: 200, message: 'upstream call' }],
    );
    assert.ok(!JSON.stringify(context.lines).includes('secret'));
  });

  test('a unified id without an entry for this deployment is a 400 before any upstream call', async () => {
    const request = chatRequest('gpt-4o-mini');
    request.fileReferences[UNIFIED] = { 'azure-eu': { providerFileId: azureFileId, mimeType: 'application/pdf' } };
    const error = await rejection(chatOf(openaiAdapter).complete(request, recordingContext()));
    assert.ok(error instanceof GatewayError);
    assert.deepEqual([error.status, error.param], [400, 'messages[0].content[1].file.file_id']);
    assert.equal(openaiEmulator.calls.filter((call) => call.path === '/v1/chat/completions').length, 0);
  });

  test('a provider file id the client sent itself passes through unchanged', async () => {
    const request: ChatRequest = { body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: openaiFileId } }] }] }, fileReferences: {} };
    await chatOf(openaiAdapter).complete(request, recordingContext());
    assert.deepEqual((openaiEmulator.calls.at(-1)!.json as any).messages[0].content[0], { type: 'file', file: { file_id: openaiFileId } });
  });

  test('streams chunk objects until [DONE], with the usage chunk when asked', async () => {
    const context = recordingContext();
    const chunks = await collect(await chatOf(openaiAdapter).stream(chatRequest('gpt-4o-mini', { stream_options: { include_usage: true } }), context));
    assert.equal(streamedText(chunks), `Echo from openai:gpt-4o-mini: Summarize the secret plan [files: ${openaiFileId} (doc.pdf, 12 bytes)]`);
    assert.deepEqual(chunks[0]!.choices[0].delta, { role: 'assistant', content: '', refusal: null });
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.equal(chunks.at(-1)!.usage.total_tokens, chunks.at(-1)!.usage.prompt_tokens + chunks.at(-1)!.usage.completion_tokens);
    const call = openaiEmulator.calls.at(-1)!;
    assert.equal((call.json as { stream: boolean }).stream, true);
    assert.equal(call.status, 200);
    assert.equal(context.lines.length, 1);
    assert.equal(context.lines[0]!.operation, 'chat.stream');
  });

  test('upstream 500 and 429 before the first byte reject stream() with UpstreamError', async () => {
    openaiEmulator.faults.add({ path: '/v1/chat/completions', action: { kind: 'status', status: 500, body: { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } } } });
    const failed = await rejection(chatOf(openaiAdapter).stream(chatRequest('gpt-4o-mini'), recordingContext()));
    assert.ok(failed instanceof UpstreamError);
    assert.deepEqual([failed.status, failed.failure.upstreamStatus, failed.failure.retryable], [502, 500, true]);
    assert.match(failed.failure.message, /The server had an error/, 'the provider text is kept for the log');
    assert.doesNotMatch(failed.message, /The server had an error/, 'and not shown to clients');
    openaiEmulator.faults.add({ path: '/v1/chat/completions', action: { kind: 'status', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } } } });
    const limited = await rejection(chatOf(openaiAdapter).stream(chatRequest('gpt-4o-mini'), recordingContext()));
    assert.ok(limited instanceof UpstreamError);
    assert.deepEqual([limited.status, limited.headers['retry-after']], [429, '7']);
  });

  test('an upstream 400 keeps its status; its message is kept for the log', async () => {
    const error = await rejection(chatOf(openaiAdapter).complete({ body: { model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'x' }] }, fileReferences: {} }, recordingContext()));
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.status, 400);
    assert.match(error.failure.message, /Invalid value: 'robot'/);
  });

  test('aborting the signal mid-stream stops the upstream request', async () => {
    const controller = new AbortController();
    const stream = await chatOf(openaiAdapter).stream(chatRequest('gpt-4o-mini'), recordingContext(controller.signal));
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    controller.abort();
    const error = await rejection(iterator.next());
    assert.ok(error instanceof GatewayError);
    assert.equal(error.status, 499);
    // The emulator records 0 when the connection closed before the stream finished.
    const call = await openaiEmulator.waitForCall((recorded) => recorded.path === '/v1/chat/completions');
    assert.equal(call.status, 0);
  });

  test('a consumer that stops reading closes the upstream connection', async () => {
    const stream = await chatOf(openaiAdapter).stream(chatRequest('gpt-4o-mini'), recordingContext());
    for await (const _chunk of stream) break;
    const call = await openaiEmulator.waitForCall((recorded) => recorded.path === '/v1/chat/completions');
    assert.equal(call.status, 0);
  });
});

describe('Azure chat adapter', () => {
  test('classic: deployment path, api-version, api-key and the Azure file id', async () => {
    const answer = await answerOf(chatOf(azureAdapter).complete(chatRequest('gpt-4o-eu'), recordingContext()));
    const call = azureEmulator.calls.at(-1)!;
    assert.deepEqual([call.path, call.query['api-version'], call.headers['api-key'], call.headers.authorization], [
      '/openai/deployments/gpt-4o-eu/chat/completions',
      '2024-10-21',
      azureEmulator.apiKey,
      undefined,
    ]);
    assert.deepEqual(lastFilePart(call.json), { type: 'file', file: { file_id: azureFileId } });
    assert.notEqual(azureFileId, openaiFileId);
    assert.equal((answer.choices as any)[0].message.content, `Echo from azure:gpt-4o-eu: Summarize the secret plan [files: ${azureFileId} (doc.pdf, 12 bytes)]`);
  });

  test('v1 surface: /openai/v1/chat/completions with the deployment as model, no api-version', async () => {
    await chatOf(azureV1Adapter).complete(chatRequest('gpt-4o-eu'), recordingContext());
    const call = azureEmulator.calls.at(-1)!;
    assert.deepEqual([call.path, call.query['api-version'], (call.json as { model: string }).model], ['/openai/v1/chat/completions', undefined, 'gpt-4o-eu']);
  });

  test('streams pass Azure\'s leading prompt_filter_results chunk through and end', async () => {
    const chunks = await collect(await chatOf(azureAdapter).stream(chatRequest('gpt-4o-eu'), recordingContext()));
    assert.deepEqual(chunks[0]!.choices, []);
    assert.equal(chunks[0]!.prompt_filter_results.length, 1);
    assert.equal(streamedText(chunks), `Echo from azure:gpt-4o-eu: Summarize the secret plan [files: ${azureFileId} (doc.pdf, 12 bytes)]`);
    assert.equal(chunks.at(-1)!.choices[0].finish_reason, 'stop');
  });

  test('a missing deployment is a 404 naming Azure', async () => {
    const adapter = createAzureAdapter({ provider: 'azure', instance: 'azure-x', model: 'missing', apiKey: azureEmulator.apiKey, apiBase: azureEmulator.url });
    try {
      const error = await rejection(adapter.chat!.complete({ body: { model: 'missing', messages: [{ role: 'user', content: 'hi' }] }, fileReferences: {} }, recordingContext()));
      assert.ok(error instanceof UpstreamError);
      assert.deepEqual([error.status, error.failure.provider, error.failure.deployment], [404, 'azure', 'azure-x']);
      assert.match(error.failure.message, /API deployment for this resource does not exist/);
      assert.match(error.message, /^azure could not find/);
    } finally {
      await adapter.close();
    }
  });
});
