import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../core/errors.ts';
import type { ChatRequest } from '../provider-adapter.ts';
import { convertOpenAIToGemini } from './convert-openai-to-gemini.ts';

const UNIFIED = 'bGl0ZWxsbV9wcm94eTp1bmlmaWVk';
const ONLY_OPENAI = 'bGl0ZWxsbV9wcm94eTpvcGVuYWk';
const fileReferences: ChatRequest['fileReferences'] = {
  [ONLY_OPENAI]: { 'openai-1': { providerFileId: 'file-xyz', mimeType: 'application/pdf' } },
  [UNIFIED]: {
    'vertex-eu': { providerFileId: 'gs://bucket-eu/unifile/a.pdf', mimeType: 'application/pdf' },
    'openai-1': { providerFileId: 'file-abc', mimeType: 'application/pdf' },
  },
};

const convert = (body: Record<string, unknown>, instance = 'vertex-eu') =>
  convertOpenAIToGemini({ body: { model: 'gemini-2.5-flash', messages: [], ...body } as ChatRequest['body'], fileReferences, instance });

const rejects = (body: Record<string, unknown>, param: string, message: RegExp) =>
  assert.throws(
    () => convert(body),
    (error: unknown) => error instanceof GatewayError && error.status === 400 && error.param === param && message.test(error.message),
  );

describe('convertOpenAIToGemini', () => {
  test('system and developer messages become systemInstruction; roles map and same-role turns merge', () => {
    const result = convert({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hello' },
        { role: 'user', content: [{ type: 'text', text: 'Are you there?' }] },
        { role: 'assistant', content: 'Oui.' },
        { role: 'user', content: 'Bye' },
      ],
    });
    assert.deepEqual(result, {
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hello' }, { text: 'Are you there?' }] },
        { role: 'model', parts: [{ text: 'Oui.' }] },
        { role: 'user', parts: [{ text: 'Bye' }] },
      ],
    });
  });

  test('unified file ids become this deployment\'s fileData; inline data and images are translated', () => {
    const result = convert({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'file', file: { file_id: UNIFIED } },
            { type: 'file', file: { filename: 'b.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' } },
            { type: 'file', file: { filename: 'c.txt', file_data: 'aGVsbG8=' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.webp?size=2' } },
            { type: 'image_url', image_url: { url: 'https://example.com/render' } },
            { type: 'file', file: { file_id: 'gs://other/doc.pdf' } },
          ],
        },
      ],
    });
    assert.deepEqual(result.contents, [
      {
        role: 'user',
        parts: [
          { text: 'Compare' },
          { fileData: { mimeType: 'application/pdf', fileUri: 'gs://bucket-eu/unifile/a.pdf' } },
          { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0x' } },
          { inlineData: { mimeType: 'text/plain', data: 'aGVsbG8=' } },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0K' } },
          { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cat.webp?size=2' } },
          { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/render' } },
          { fileData: { mimeType: 'application/pdf', fileUri: 'gs://other/doc.pdf' } },
        ],
      },
    ]);
  });

  test('a percent-encoded data: URL is re-encoded as base64', () => {
    const result = convert({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:text/plain,hi%20there' } }] }] });
    assert.deepEqual(result.contents[0]!.parts, [{ inlineData: { mimeType: 'text/plain', data: Buffer.from('hi there').toString('base64') } }]);
  });

  test('assistant tool calls become functionCall parts and tool results functionResponse parts named after them', () => {
    const result = convert({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18 C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '12:00' }] },
      ],
    });
    assert.deepEqual(result.contents, [
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }, { functionCall: { name: 'get_time', args: {} } }],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { content: '18 C' } } },
          { functionResponse: { name: 'get_time', response: { content: '12:00' } } },
        ],
      },
    ]);
  });

  test('parameters map to generationConfig, tools and toolConfig; unknown OpenAI parameters are dropped', () => {
    const result = convert({
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 200,
      stop: 'END',
      n: 2,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      user: 'someone',
      parallel_tool_calls: true,
      stream_options: { include_usage: true },
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'answer',
          schema: {
            $schema: 'http://json-schema.org/draft-07/schema#',
            type: 'object',
            additionalProperties: false,
            properties: { city: { type: ['string', 'null'] }, additionalProperties: { type: 'integer' }, tags: { type: 'array', items: { type: 'string', additionalProperties: false } } },
            required: ['city'],
          },
        },
      },
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, additionalProperties: false }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    assert.deepEqual(result.generationConfig, {
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 200,
      stopSequences: ['END'],
      candidateCount: 2,
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      responseMimeType: 'application/json',
      responseSchema: {
        type: 'object',
        properties: { city: { type: 'string', nullable: true }, additionalProperties: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
        required: ['city'],
      },
    });
    assert.deepEqual(result.tools, [
      { functionDeclarations: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } }] },
    ]);
    assert.deepEqual(result.toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });
  });

  test('json_object, tool_choice strings and the absence of parameters', () => {
    const base = { messages: [{ role: 'user', content: 'x' }] };
    assert.deepEqual(convert({ ...base, response_format: { type: 'json_object' } }).generationConfig, { responseMimeType: 'application/json' });
    assert.deepEqual(convert({ ...base, tool_choice: 'auto' }).toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
    assert.deepEqual(convert({ ...base, tool_choice: 'none' }).toolConfig, { functionCallingConfig: { mode: 'NONE' } });
    assert.deepEqual(convert({ ...base, tool_choice: 'required' }).toolConfig, { functionCallingConfig: { mode: 'ANY' } });
    assert.deepEqual(convert({ ...base, stop: ['a', 'b'], max_tokens: 5 }).generationConfig, { maxOutputTokens: 5, stopSequences: ['a', 'b'] });
    assert.deepEqual(convert(base), { contents: [{ role: 'user', parts: [{ text: 'x' }] }] });
  });

  test('invalid input is a 400 that names the parameter', () => {
    rejects({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: ONLY_OPENAI } }] }] }, 'messages[0].content[0].file.file_id', /not available on the deployment chosen for this request/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-raw' } }] }] }, 'messages[0].content[0].file.file_id', /cannot be used with Vertex AI/);
    rejects({ messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'r' }] }, 'messages[0].tool_call_id', /no earlier assistant tool call/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'input_text', text: 'x' }] }] }, 'messages[0].content[0].type', /not supported/);
    rejects({ messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', /Invalid value: 'robot'/);
    rejects({ messages: [{ role: 'system', content: 'only a system prompt' }] }, 'messages', /at least one user or assistant message/);
    rejects(
      { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] },
      'messages[0].tool_calls[0].function.arguments',
      /JSON object/,
    );
    rejects({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search' }] }, 'tools[0]', /only function tools/);
  });

  test('the same unified id is rewritten for each deployment from its own entry', () => {
    const body = { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: UNIFIED } }] }] };
    const other = convertOpenAIToGemini({
      body: { model: 'm', ...body },
      fileReferences: { [UNIFIED]: { 'vertex-us': { providerFileId: 'gs://bucket-us/x/a.pdf', mimeType: 'application/pdf' } } },
      instance: 'vertex-us',
    });
    assert.deepEqual(other.contents[0]!.parts, [{ fileData: { mimeType: 'application/pdf', fileUri: 'gs://bucket-us/x/a.pdf' } }]);
  });
});
