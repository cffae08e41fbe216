/**
 * Vertex AI generateContent on the Google emulator over real HTTP: Bearer tokens from its token
 * endpoint, proto-JSON validation, gs:// fileUri existence and mimeType checks against its GCS
 * store, echo answers in GenerateContentResponse shape, function calls, and \r\n\r\n-framed SSE.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';
import { GoogleTokenProvider } from '../../src/providers/google/service-account-tokens.ts';
import { sseData } from './chat-helpers.ts';

let googleEmulator: GoogleEmulator;
let token: string;

before(async () => {
  googleEmulator = await startGoogleEmulator({ models: ['gemini-2.5-flash'] });
  token = await new GoogleTokenProvider({ instance: 'test', credentials: googleEmulator.createServiceAccount() }).getAccessToken();
});
after(() => googleEmulator.close());
beforeEach(() => googleEmulator.reset());

describe('Google emulator Vertex generateContent', () => {
  const modelUrl = (method: string, version = 'v1', model = 'gemini-2.5-flash') =>
    `${googleEmulator.vertexApiBase}/${version}/projects/proj-1/locations/us-central1/publishers/google/models/${model}:${method}`;
  const generate = async (body: unknown, options: { method?: string; version?: string; auth?: string | null; model?: string; query?: string } = {}) => {
    const auth = options.auth === undefined ? `Bearer ${token}` : options.auth;
    const response = await fetch(`${modelUrl(options.method ?? 'generateContent', options.version, options.model)}${options.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };
  const putObject = async (name: string, contentType: string, data: string) => {
    const response = await fetch(`${googleEmulator.gcsBaseUrl}/upload/storage/v1/b/chat-bucket/o?uploadType=media&name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      body: data,
    });
    assert.equal(response.status, 200);
  };
  const userText = (text: string) => ({ role: 'user', parts: [{ text }] });

  test('needs a Bearer token issued by the token endpoint', async () => {
    const missing = await generate({ contents: [userText('hi')] }, { auth: null });
    assert.equal(missing.status, 401);
    assert.equal(JSON.parse(missing.text).error.status, 'UNAUTHENTICATED');
    assert.equal((await generate({ contents: [userText('hi')] }, { auth: 'Bearer ya29.forged' })).status, 401);
  });

  test('echoes text and the gs:// files it was given, in GenerateContentResponse shape', async () => {
    await putObject('docs/a.pdf', 'application/pdf', '%PDF-1.4 abc');
    const { status, text } = await generate({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [{ role: 'user', parts: [{ text: 'Summarize' }, { fileData: { mimeType: 'application/pdf', fileUri: 'gs://chat-bucket/docs/a.pdf' } }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }] }],
      generationConfig: { temperature: 0.1, maxOutputTokens: 100 },
    });
    assert.equal(status, 200, text);
    const body = JSON.parse(text);
    assert.deepEqual(body.candidates, [
      {
        content: { role: 'model', parts: [{ text: 'Echo from vertex:gemini-2.5-flash: Summarize [files: gs://chat-bucket/docs/a.pdf (application/pdf, 12 bytes)] [inline file: image/png 8 bytes]' }] },
        finishReason: 'STOP',
        avgLogprobs: -0.05,
      },
    ]);
    assert.deepEqual([body.usageMetadata.promptTokenCount, body.usageMetadata.candidatesTokenCount, body.usageMetadata.totalTokenCount], [5, 14, 19]);
    assert.equal(body.modelVersion, 'gemini-2.5-flash');
    assert.equal(typeof body.responseId, 'string');
  });

  test('a fileUri must exist in GCS and its mimeType must equal the object content type', async () => {
    await putObject('docs/b.txt', 'text/plain', 'hello');
    const mismatch = await generate({ contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'application/pdf', fileUri: 'gs://chat-bucket/docs/b.txt' } }] }] });
    assert.equal(mismatch.status, 400);
    assert.deepEqual(JSON.parse(mismatch.text).error, {
      code: 400,
      message: "The mime_type application/pdf given for gs://chat-bucket/docs/b.txt does not match the object's content type text/plain.",
      status: 'INVALID_ARGUMENT',
    });
    const absent = await generate({ contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'text/plain', fileUri: 'gs://chat-bucket/docs/none.txt' } }] }] });
    assert.equal(absent.status, 400);
    assert.match(JSON.parse(absent.text).error.message, /gs:\/\/chat-bucket\/docs\/none\.txt/);
    const noMime = await generate({ contents: [{ role: 'user', parts: [{ fileData: { fileUri: 'gs://chat-bucket/docs/b.txt' } }] }] });
    assert.equal(noMime.status, 400);
  });

  test('proto-JSON rules: unknown names, roles and empty contents are refused; snake_case is accepted', async () => {
    const unknown = await generate({ contents: [userText('hi')], generationConfig: { max_tokens: 5 } });
    assert.equal(JSON.parse(unknown.text).error.message, `Invalid JSON payload received. Unknown name "max_tokens" at 'generation_config': Cannot find field.`);
    assert.equal(JSON.parse((await generate({ contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] })).text).error.message, 'Please use a valid role: user, model.');
    assert.equal((await generate({ contents: [] })).status, 400);
    const schema = await generate({ contents: [userText('x')], tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'object', additionalProperties: false } }] }] });
    assert.match(JSON.parse(schema.text).error.message, /Unknown name "additionalProperties"/);
    const snake = await generate({ contents: [userText('hi')], generation_config: { max_output_tokens: 3 } });
    assert.deepEqual([JSON.parse(snake.text).candidates[0].content.parts[0].text, JSON.parse(snake.text).candidates[0].finishReason], ['Echo from vertex:gemini-2.5-flash:', 'MAX_TOKENS']);
    const model = await generate({ contents: [userText('hi')] }, { model: 'gemini-0' });
    assert.equal(JSON.parse(model.text).error.status, 'NOT_FOUND');
  });

  test('tools and a weather question give a functionCall; the functionResponse is echoed', async () => {
    const tools = [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } }] }];
    const first = JSON.parse((await generate({ contents: [userText('weather in Paris?')], tools })).text);
    assert.deepEqual(first.candidates[0].content, { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }] });
    assert.equal(first.candidates[0].finishReason, 'STOP');
    const second = JSON.parse(
      (
        await generate({
          contents: [userText('weather in Paris?'), first.candidates[0].content, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { content: '18 C' } } }] }],
          tools,
        })
      ).text,
    );
    assert.equal(second.candidates[0].content.parts[0].text, 'Echo from vertex:gemini-2.5-flash: weather in Paris? [function response get_weather: {"content":"18 C"}]');
    const orphan = await generate({ contents: [{ role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: {} } }] }] });
    assert.equal(orphan.status, 400);
  });

  test('streamGenerateContent?alt=sse sends \\r\\n\\r\\n-framed responses without [DONE]; v1beta1 works too', async () => {
    const { status, text } = await generate({ contents: [userText('hello there')] }, { method: 'streamGenerateContent', version: 'v1beta1', query: '?alt=sse' });
    assert.equal(status, 200);
    const events = sseData(text, '\r\n\r\n').map((event) => JSON.parse(event));
    assert.deepEqual(events.map((event) => event.candidates[0].content.parts[0].text), ['Echo ', 'from ', 'vertex:gemini-2.5-flash: ', 'hello ', 'there']);
    assert.deepEqual(events.map((event) => event.candidates[0].finishReason ?? null), [null, null, null, null, 'STOP']);
    assert.equal(events.at(-1).usageMetadata.totalTokenCount, 7);
    assert.equal(events[0].usageMetadata, undefined);
    assert.ok(!text.includes('[DONE]'));
    const call = googleEmulator.calls.at(-1)!;
    assert.deepEqual([call.path, call.query.alt], ['/v1beta1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent', 'sse']);
    const array = await generate({ contents: [userText('hi')] }, { method: 'streamGenerateContent' });
    assert.equal(JSON.parse(array.text).length, 4);
  });
});
