/**
 * Chat on the OpenAI and Azure emulators over real HTTP, with the openai client where it fits
 * and raw fetch where the wire matters: echo answers name what the provider received, file
 * references must exist in that emulator's own store, streams arrive as SSE chunk by chunk, and
 * tool calls follow the "weather" rule. Vertex generateContent: chat-vertex-emulator.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI, { AzureOpenAI, BadRequestError, NotFoundError, toFile } from 'openai';
import { startAzureEmulator, type AzureEmulator } from '../../src/emulators/azure-emulator.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import { sseData } from './chat-helpers.ts';

let openaiEmulator: OpenAIEmulator;
let azureEmulator: AzureEmulator;
let openai: OpenAI;

const WEATHER_TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } };

before(async () => {
  [openaiEmulator, azureEmulator] = await Promise.all([startOpenAIEmulator({ chatChunkDelayMs: 20 }), startAzureEmulator({ deployments: ['gpt-4o-eu'] })]);
  openai = new OpenAI({ apiKey: openaiEmulator.apiKey, baseURL: openaiEmulator.apiBase, maxRetries: 0 });
});
after(() => Promise.all([openaiEmulator.close(), azureEmulator.close()]));
beforeEach(() => {
  openaiEmulator.reset();
  azureEmulator.reset();
});

describe('OpenAI emulator chat', () => {
  test('echoes the last user text and lists the files, inline files and images it was given', async () => {
    const file = await openai.files.create({ file: await toFile(Buffer.from('%PDF-1.4 hello'), 'report.pdf'), purpose: 'user_data' });
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Summarize these' },
            { type: 'file', file: { file_id: file.id } },
            { type: 'file', file: { filename: 'inline.pdf', file_data: 'data:application/pdf;base64,JVBERi0xLjQ=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          ],
        },
      ],
    });
    assert.equal(
      completion.choices[0]!.message.content,
      `Echo from openai:gpt-4o-mini: Summarize these [files: ${file.id} (report.pdf, 14 bytes)] [inline file: inline.pdf application/pdf 8 bytes] [image: https://example.com/cat.png]`,
    );
    assert.equal(completion.choices[0]!.finish_reason, 'stop');
    assert.equal(completion.model, 'gpt-4o-mini');
    assert.match(completion.id, /^chatcmpl-/);
    // Prompt: 4 words of text + 3 attachments; completion: the words of the answer.
    assert.deepEqual([completion.usage!.prompt_tokens, completion.usage!.completion_tokens, completion.usage!.total_tokens], [7, 18, 25]);
    const call = openaiEmulator.calls.at(-1)!;
    assert.equal(call.path, '/v1/chat/completions');
    assert.equal(call.status, 200);
    const recorded = call.json as { messages: Array<{ content: unknown[] }> };
    assert.deepEqual(recorded.messages[1]!.content[1], { type: 'file', file: { file_id: file.id } });
  });

  test('a file id that is not in this emulator\'s store is a 400 naming the part', async () => {
    const azureFile = await new AzureOpenAI({ endpoint: azureEmulator.url, apiKey: azureEmulator.apiKey, apiVersion: '2024-10-21', maxRetries: 0 }).files.create({
      file: await toFile(Buffer.from('x'), 'a.pdf'),
      purpose: 'assistants',
    });
    const error = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'file', file: { file_id: azureFile.id } }] }] })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.param, 'messages[0].content[1].file.file_id');
    assert.match(error.message, new RegExp(`Invalid file id: '${azureFile.id}'`));
  });

  test('validates the body like the real API', async () => {
    const post = async (body: unknown) => {
      const response = await fetch(`${openaiEmulator.apiBase}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${openaiEmulator.apiKey}`, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.status, error: ((await response.json()) as { error: Record<string, unknown> }).error };
    };
    const user = [{ role: 'user', content: 'hi' }];
    assert.deepEqual(await post({ messages: user }), { status: 400, error: { message: 'you must provide a model parameter', type: 'invalid_request_error', param: null, code: null } });
    assert.deepEqual((await post({ model: 'm' })).error.code, 'missing_required_parameter');
    assert.deepEqual((await post({ model: 'm', messages: [] })).error.code, 'empty_array');
    assert.deepEqual((await post({ model: 'm', messages: [{ role: 'robot', content: 'x' }] })).error.param, 'messages[0].role');
    assert.deepEqual((await post({ model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] })).error.param, 'messages[0].content[0].type');
    assert.deepEqual((await post({ model: 'm', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1', format: 'application/pdf' } }] }] })).error, {
      message: "Unknown parameter: 'messages[0].content[0].file.format'.",
      type: 'invalid_request_error',
      param: 'messages[0].content[0].file.format',
      code: 'unknown_parameter',
    });
    assert.equal((await post({ model: 'm', messages: user, fileReferences: {} })).error.message, 'Unrecognized request argument supplied: fileReferences');
    assert.equal((await post({ model: 'm', messages: user, stream_options: { include_usage: true } })).error.param, 'stream_options');
    assert.equal((await post({ model: 'm', messages: user, temperature: 3 })).error.code, 'decimal_above_max_value');
    assert.equal((await post({ model: 'm', messages: [{ role: 'tool', tool_call_id: 'call_1', content: 'x' }] })).error.param, 'messages.[0].role');
    assert.equal((await post('{not json')).status, 400);
  });

  test('n, max_tokens and stop shape the choices', async () => {
    const messages = [{ role: 'user' as const, content: 'one two three four' }];
    const two = await openai.chat.completions.create({ model: 'm', messages, n: 2 });
    assert.deepEqual(two.choices.map((choice) => [choice.index, choice.message.content]), [[0, 'Echo from openai:m: one two three four'], [1, 'Echo from openai:m: one two three four']]);
    assert.equal(two.usage!.completion_tokens, 14);
    const cut = await openai.chat.completions.create({ model: 'm', messages, max_tokens: 4 });
    assert.deepEqual([cut.choices[0]!.message.content, cut.choices[0]!.finish_reason, cut.usage!.completion_tokens], ['Echo from openai:m: one', 'length', 4]);
    const stopped = await openai.chat.completions.create({ model: 'm', messages, stop: [' three'] });
    assert.deepEqual([stopped.choices[0]!.message.content, stopped.choices[0]!.finish_reason], ['Echo from openai:m: one two', 'stop']);
  });

  test('a weather question with tools is answered by a tool call; the tool result is echoed back', async () => {
    const first = await openai.chat.completions.create({ model: 'm', tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'What is the weather in Paris?' }] });
    const choice = first.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls![0]!;
    assert.equal(call.type, 'function');
    assert.match(call.id, /^call_/);
    assert.deepEqual(call.type === 'function' ? [call.function.name, call.function.arguments] : [], ['get_weather', '{"location":"Paris"}']);
    const second = await openai.chat.completions.create({
      model: 'm',
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }, choice.message, { role: 'tool', tool_call_id: call.id, content: '18 C' }],
    });
    assert.equal(second.choices[0]!.message.content, `Echo from openai:m: What is the weather in Paris? [tool result ${call.id}: 18 C]`);
    assert.equal(second.choices[0]!.finish_reason, 'stop');
  });

  test('streams SSE chunks progressively: role, words, finish, usage, [DONE]', async () => {
    const response = await fetch(`${openaiEmulator.apiBase}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${openaiEmulator.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hello there' }] }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // The emulator pauses 20 ms between chunks: the first read holds the start, not the end.
    assert.match(first, /^data: \{/);
    assert.ok(!first.includes('[DONE]'));
    let text = first;
    for (let read = await reader.read(); !read.done; read = await reader.read()) text += new TextDecoder().decode(read.value);
    const events = sseData(text);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: unknown });
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '', refusal: null });
    assert.deepEqual(chunks.slice(1, 6).map((chunk) => chunk.choices[0]!.delta.content), ['Echo ', 'from ', 'openai:m: ', 'hello ', 'there']);
    assert.deepEqual(chunks[6]!.choices[0], { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    assert.deepEqual(chunks[7]!.choices, []);
    assert.deepEqual((chunks[7]!.usage as Record<string, number>).total_tokens, 7);
    assert.equal(chunks.length, 8);
    assert.equal((await openaiEmulator.waitForCall((call) => call.path === '/v1/chat/completions')).status, 200);
  });

  test('the openai client reads the stream', async () => {
    const stream = await openai.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'streamed words' }] });
    let content = '';
    const reasons: Array<string | null> = [];
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      reasons.push(chunk.choices[0]?.finish_reason ?? null);
    }
    assert.equal(content, 'Echo from openai:m: streamed words');
    assert.equal(reasons.at(-1), 'stop');
  });
});

describe('Azure emulator chat', () => {
  const classic = () => new AzureOpenAI({ endpoint: azureEmulator.url, apiKey: azureEmulator.apiKey, apiVersion: '2024-10-21', deployment: 'gpt-4o-eu', maxRetries: 0 });

  test('the deployment path answers with content filter results; files must be in the Azure store', async () => {
    const client = classic();
    const file = await client.files.create({ file: await toFile(Buffer.from('abc'), 'notes.txt'), purpose: 'assistants' });
    const completion = await client.chat.completions.create({ model: 'ignored', messages: [{ role: 'user', content: [{ type: 'text', text: 'Read' }, { type: 'file', file: { file_id: file.id } }] }] });
    assert.equal(completion.choices[0]!.message.content, `Echo from azure:gpt-4o-eu: Read [files: ${file.id} (notes.txt, 3 bytes)]`);
    const raw = completion as unknown as { prompt_filter_results: unknown[]; choices: Array<{ content_filter_results: unknown }> };
    assert.equal(raw.prompt_filter_results.length, 1);
    assert.deepEqual(raw.choices[0]!.content_filter_results, { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } });
    const call = azureEmulator.calls.at(-1)!;
    assert.deepEqual([call.path, call.query['api-version'], call.headers['api-key']], ['/openai/deployments/gpt-4o-eu/chat/completions', '2024-10-21', azureEmulator.apiKey]);
  });

  test('unknown deployments, missing api-version and foreign file ids are refused', async () => {
    const wrong = new AzureOpenAI({ endpoint: azureEmulator.url, apiKey: azureEmulator.apiKey, apiVersion: '2024-10-21', deployment: 'nope', maxRetries: 0 });
    const missing = await wrong.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    assert.ok(missing instanceof NotFoundError);
    assert.equal(missing.code, 'DeploymentNotFound');
    const noVersion = await fetch(`${azureEmulator.url}/openai/deployments/gpt-4o-eu/chat/completions`, {
      method: 'POST',
      headers: { 'api-key': azureEmulator.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(noVersion.status, 404);
    const foreign = await openai.files.create({ file: await toFile(Buffer.from('x'), 'a.pdf'), purpose: 'user_data' });
    const refused = await classic()
      .chat.completions.create({ model: 'x', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: foreign.id } }] }] })
      .catch((error: unknown) => error);
    assert.ok(refused instanceof BadRequestError);
    assert.equal(refused.param, 'messages[0].content[0].file.file_id');
  });

  test('the v1 surface takes the deployment as model; streams open with a prompt_filter_results chunk', async () => {
    const v1 = new OpenAI({ apiKey: 'unused', baseURL: `${azureEmulator.url}/openai/v1`, defaultHeaders: { 'api-key': azureEmulator.apiKey }, maxRetries: 0 });
    const completion = await v1.chat.completions.create({ model: 'gpt-4o-eu', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(completion.choices[0]!.message.content, 'Echo from azure:gpt-4o-eu: hi');
    const stream = await v1.chat.completions.create({ model: 'gpt-4o-eu', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const chunks: Array<Record<string, unknown>> = [];
    for await (const chunk of stream) chunks.push(chunk as unknown as Record<string, unknown>);
    assert.deepEqual(chunks[0]!.choices, []);
    assert.ok(Array.isArray(chunks[0]!.prompt_filter_results));
    assert.equal(azureEmulator.calls.at(-1)!.path, '/openai/v1/chat/completions');
  });
});
