/**
 * The Vertex chat capability against the Google emulator over real HTTP: the generateContent URL
 * (project, location, model), the Bearer token from the service account, the translated Gemini
 * body as the emulator received it (fileData from this deployment's gs:// URI), answers and
 * streams translated back to OpenAI shapes, Google errors mapped to UpstreamError.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GatewayError, UpstreamError } from '../../src/core/errors.ts';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';
import type { ChatRequest, ProviderAdapter } from '../../src/providers/provider-adapter.ts';
import { GoogleTokenProvider } from '../../src/providers/google/service-account-tokens.ts';
import type { ServiceAccountJson } from '../../src/providers/google/service-account.ts';
import { createVertexAdapter } from '../../src/providers/vertex/vertex-adapter.ts';
import { vertexApiBase } from '../../src/providers/vertex/vertex-chat.ts';
import { answerOf, collect, recordingContext, rejection, streamedText } from './chat-support.ts';

const UNIFIED = 'bGl0ZWxsbV9wcm94eTp2ZXJ0ZXg';
const MODEL_PATH = '/v1/projects/proj-eu/locations/europe-west4/publishers/google/models/gemini-2.5-flash';
const WEATHER_TOOL = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, additionalProperties: false } } };
let emulator: GoogleEmulator;
let account: ServiceAccountJson;
let adapter: ProviderAdapter;

before(async () => {
  emulator = await startGoogleEmulator({ chatChunkDelayMs: 25 });
  account = emulator.createServiceAccount({ projectId: 'sa-project' });
  adapter = vertexAdapter({ vertexProject: 'proj-eu', vertexLocation: 'europe-west4' });
});
after(async () => {
  await adapter.close();
  await emulator.close();
});
beforeEach(async () => {
  emulator.reset();
  await putDocument();
});

/**
 * A file the managed-files service would have put in this deployment's bucket, uploaded with a
 * token of its own (one test revokes every token issued so far).
 */
async function putDocument(): Promise<void> {
  const token = await new GoogleTokenProvider({ instance: 'test-uploader', credentials: account }).getAccessToken();
  const upload = await fetch(`${emulator.gcsBaseUrl}/upload/storage/v1/b/eu-bucket/o?uploadType=media&name=unifile%2Fdoc.pdf`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf' },
    body: '%PDF-1.4 vertex',
  });
  assert.equal(upload.status, 200);
}

function vertexAdapter(overrides: Record<string, string> = {}): ProviderAdapter {
  return createVertexAdapter({
    provider: 'vertex_ai',
    instance: 'vertex-eu',
    model: 'gemini-2.5-flash',
    vertexCredentials: JSON.stringify(account),
    apiBase: emulator.vertexApiBase,
    ...overrides,
  });
}

function request(text: string, extra: Record<string, unknown> = {}, mimeType = 'application/pdf'): ChatRequest {
  return {
    body: { model: 'gemini-2.5-flash', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text }, { type: 'file', file: { file_id: UNIFIED } }] }], ...extra },
    fileReferences: { [UNIFIED]: { 'vertex-eu': { providerFileId: 'gs://eu-bucket/unifile/doc.pdf', mimeType }, 'openai-1': { providerFileId: 'file-abc', mimeType } } },
  };
}

const ECHO = 'Echo from vertex:gemini-2.5-flash: Summarize [files: gs://eu-bucket/unifile/doc.pdf (application/pdf, 15 bytes)]';

describe('Vertex chat adapter', () => {
  test('posts the translated body to the regional generateContent URL with a Bearer token', async () => {
    const context = recordingContext();
    const answer = await answerOf(adapter.chat!.complete(request('Summarize', { temperature: 0.3, max_tokens: 50 }), context));
    const call = emulator.calls.at(-1)!;
    assert.equal(call.path, `${MODEL_PATH}:generateContent`);
    assert.match(call.headers.authorization!, /^Bearer ya29\.emu-/);
    assert.deepEqual(call.json, {
      contents: [{ role: 'user', parts: [{ text: 'Summarize' }, { fileData: { mimeType: 'application/pdf', fileUri: 'gs://eu-bucket/unifile/doc.pdf' } }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0.3, maxOutputTokens: 50 },
    });
    assert.equal(answer.object, 'chat.completion');
    assert.equal(answer.model, 'gemini-2.5-flash');
    assert.match(String(answer.id), /^chatcmpl-/);
    assert.deepEqual(answer.choices, [{ index: 0, message: { role: 'assistant', content: ECHO, refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    // Prompt: "Be brief." + "Summarize" + one file = 4; answer: 9 words.
    assert.deepEqual(answer.usage, { prompt_tokens: 4, completion_tokens: 9, total_tokens: 13 });
    // One line per upstream call (plus one for the token, when this call had to fetch it).
    assert.deepEqual(
      context.lines.filter((line) => line.operation !== 'token').map((line) => [line.provider, line.deployment, line.operation, line.status]),
      [['vertex_ai', 'vertex-eu', 'chat.complete', 200]],
    );
    assert.ok(!JSON.stringify(context.lines).includes('Summarize'));
  });

  test('the project defaults to the service account\'s; the location to us-central1', async () => {
    const defaults = vertexAdapter();
    try {
      await defaults.chat!.complete(request('Summarize'), recordingContext());
      assert.equal(emulator.calls.at(-1)!.path, '/v1/projects/sa-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent');
    } finally {
      await defaults.close();
    }
    assert.equal(vertexApiBase('us-central1'), 'https://us-central1-aiplatform.googleapis.com/v1');
    assert.equal(vertexApiBase('global'), 'https://aiplatform.googleapis.com/v1');
    assert.equal(vertexApiBase('global', 'http://127.0.0.1:9/v1beta1/'), 'http://127.0.0.1:9/v1beta1');
  });

  test('streams: streamGenerateContent?alt=sse, role first, finish, usage chunk, then the end', async () => {
    const chunks = await collect(await adapter.chat!.stream(request('Summarize', { stream: true, stream_options: { include_usage: true } }), recordingContext()));
    const call = emulator.calls.at(-1)!;
    assert.deepEqual([call.path, call.query.alt, call.headers.accept], [`${MODEL_PATH}:streamGenerateContent`, 'sse', 'text/event-stream']);
    assert.equal(streamedText(chunks), ECHO);
    assert.equal(chunks[0]!.choices[0].delta.role, 'assistant');
    assert.ok(chunks.slice(1).every((chunk) => chunk.choices.length === 0 || chunk.choices[0].delta.role === undefined));
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0]!.id));
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1), { id: chunks[0]!.id, object: 'chat.completion.chunk', created: chunks[0]!.created, model: 'gemini-2.5-flash', choices: [], usage: { prompt_tokens: 4, completion_tokens: 9, total_tokens: 13 } });
  });

  test('tool calls go out as functionDeclarations and come back as tool_calls; results as functionResponse', async () => {
    const first = await answerOf(adapter.chat!.complete({ body: { model: 'gemini-2.5-flash', tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather in Paris?' }] }, fileReferences: {} }, recordingContext()));
    assert.deepEqual((emulator.calls.at(-1)!.json as { tools: unknown }).tools, [
      { functionDeclarations: [{ name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } }] },
    ]);
    const choice = (first.choices as Array<Record<string, any>>)[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls[0];
    assert.match(call.id, /^call_[0-9a-f]{24}$/);
    assert.deepEqual(call.function, { name: 'get_weather', arguments: '{"location":"Paris"}' });
    const second = await answerOf(
      adapter.chat!.complete(
        {
          body: { model: 'gemini-2.5-flash', tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather in Paris?' }, choice.message, { role: 'tool', tool_call_id: call.id, content: '18 C' }] },
          fileReferences: {},
        },
        recordingContext(),
      ),
    );
    assert.equal((second.choices as any)[0].message.content, 'Echo from vertex:gemini-2.5-flash: weather in Paris? [function response get_weather: {"content":"18 C"}]');
  });

  test('Google errors become UpstreamErrors: 400 keeps its message for the log, 429 and 500 fail before the first byte', async () => {
    const mismatch = await rejection(adapter.chat!.complete(request('Summarize', {}, 'text/plain'), recordingContext()));
    assert.ok(mismatch instanceof UpstreamError);
    assert.deepEqual([mismatch.status, mismatch.failure.provider, mismatch.failure.deployment], [400, 'vertex_ai', 'vertex-eu']);
    assert.match(mismatch.failure.message, /mime_type text\/plain given for gs:\/\/eu-bucket\/unifile\/doc\.pdf does not match/);
    assert.doesNotMatch(mismatch.message, /gs:\/\//, 'a gs:// path is never shown to clients');
    emulator.faults.add({ path: /:streamGenerateContent$/, action: { kind: 'status', status: 429, headers: { 'retry-after': '3' }, body: { error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } } } });
    const limited = await rejection(adapter.chat!.stream(request('Summarize'), recordingContext()));
    assert.ok(limited instanceof UpstreamError);
    assert.deepEqual([limited.status, limited.headers['retry-after']], [429, '3']);
    emulator.faults.add({ path: /:streamGenerateContent$/, action: { kind: 'status', status: 500, body: { error: { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' } } } });
    const failed = await rejection(adapter.chat!.stream(request('Summarize'), recordingContext()));
    assert.ok(failed instanceof UpstreamError);
    assert.equal(failed.status, 502);
    assert.match(failed.failure.message, /Internal error encountered/);
    assert.match(failed.message, /^vertex_ai failed \(HTTP 500, code INTERNAL/);
  });

  test('a revoked token is refreshed once and the call succeeds', async () => {
    await adapter.chat!.complete(request('Summarize'), recordingContext()); // the adapter holds a token now
    emulator.reset();
    await putDocument();
    emulator.revokeTokens();
    const answer = await answerOf(adapter.chat!.complete(request('Summarize'), recordingContext()));
    assert.equal((answer.choices as any)[0].message.content, ECHO);
    // 401 with the revoked token, one token refresh, then the same call again.
    const kind = (path: string) => (path === '/token' ? 'token' : path.endsWith(':generateContent') ? 'generate' : 'other');
    assert.deepEqual(
      emulator.calls.slice(-3).map((call) => [kind(call.path), call.status]),
      [['generate', 401], ['token', 200], ['generate', 200]],
    );
  });

  test('a unified id without a target on this deployment is a 400 before any upstream call', async () => {
    const bad = request('Summarize');
    bad.fileReferences[UNIFIED] = { 'openai-1': { providerFileId: 'file-abc', mimeType: 'application/pdf' } };
    const error = await rejection(adapter.chat!.complete(bad, recordingContext()));
    assert.ok(error instanceof GatewayError);
    assert.deepEqual([error.status, error.param], [400, 'messages[1].content[1].file.file_id']);
    assert.equal(emulator.calls.filter((call) => call.path.includes(':generate')).length, 0);
  });

  test('aborting the signal mid-stream stops the upstream request', async () => {
    const controller = new AbortController();
    const stream = await adapter.chat!.stream(request('Summarize'), recordingContext(controller.signal));
    const iterator = stream[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).done, false);
    controller.abort();
    const error = await rejection(iterator.next());
    assert.ok(error instanceof GatewayError);
    assert.equal(error.status, 499);
    const call = await emulator.waitForCall((recorded) => recorded.path.endsWith(':streamGenerateContent'));
    assert.equal(call.status, 0);
  });
});
