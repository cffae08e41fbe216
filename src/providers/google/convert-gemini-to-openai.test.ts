import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convertGeminiResponse, GeminiStreamConverter, mapFinishReason } from './convert-gemini-to-openai.ts';
import type { GeminiResponse } from './gemini-types.ts';

const CREATED = '2025-06-01T12:00:00.000Z';
const CREATED_SECONDS = Date.parse(CREATED) / 1000;

/** Deterministic tool call ids: call_1, call_2, … */
function counter(): () => string {
  let next = 0;
  return () => `call_${(next += 1)}`;
}

describe('convertGeminiResponse', () => {
  test('text parts are joined (thoughts skipped) and usage is mapped', () => {
    const response: GeminiResponse = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'thinking…', thought: true }, { text: 'Hello ' }, { text: 'world' }] }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 3, thoughtsTokenCount: 4, totalTokenCount: 19, cachedContentTokenCount: 2 },
      modelVersion: 'gemini-2.5-flash-001',
      createTime: CREATED,
      responseId: 'resp-1',
    };
    assert.deepEqual(convertGeminiResponse(response, { model: 'gemini-2.5-flash' }), {
      id: 'chatcmpl-resp-1',
      object: 'chat.completion',
      created: CREATED_SECONDS,
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello world', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 7,
        total_tokens: 19,
        prompt_tokens_details: { cached_tokens: 2 },
        completion_tokens_details: { reasoning_tokens: 4 },
      },
    });
  });

  test('functionCall parts become tool_calls with minted ids and JSON arguments', () => {
    const response: GeminiResponse = {
      candidates: [
        {
          content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }, { functionCall: { name: 'get_time' } }] },
          finishReason: 'STOP',
        },
      ],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 },
      createTime: CREATED,
      responseId: 'r2',
    };
    assert.deepEqual(convertGeminiResponse(response, { model: 'm', newToolCallId: counter() }).choices, [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ]);
  });

  test('several candidates keep their index; a blocked prompt gives one content_filter choice', () => {
    const two = convertGeminiResponse(
      {
        candidates: [
          { content: { parts: [{ text: 'a' }] }, finishReason: 'MAX_TOKENS' },
          { content: { parts: [{ text: 'b' }] }, finishReason: 'SAFETY', index: 1 },
        ],
        createTime: CREATED,
        responseId: 'r3',
      },
      { model: 'm' },
    );
    assert.deepEqual(
      (two.choices as Array<Record<string, unknown>>).map((choice) => [choice.index, choice.finish_reason]),
      [[0, 'length'], [1, 'content_filter']],
    );
    assert.deepEqual(two.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    const blocked = convertGeminiResponse({ promptFeedback: { blockReason: 'SAFETY' }, createTime: CREATED, responseId: 'r4' }, { model: 'm' });
    assert.deepEqual(blocked.choices, [{ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' }]);
  });

  test('finish reasons follow the LiteLLM map', () => {
    const cases: Array<[string | undefined, boolean, string]> = [
      ['STOP', false, 'stop'],
      ['STOP', true, 'tool_calls'],
      ['MAX_TOKENS', true, 'length'],
      ['SAFETY', false, 'content_filter'],
      ['RECITATION', false, 'content_filter'],
      ['BLOCKLIST', false, 'content_filter'],
      ['PROHIBITED_CONTENT', false, 'content_filter'],
      ['SPII', false, 'content_filter'],
      ['IMAGE_SAFETY', false, 'content_filter'],
      ['MALFORMED_FUNCTION_CALL', false, 'stop'],
      [undefined, false, 'stop'],
    ];
    for (const [reason, tools, expected] of cases) assert.equal(mapFinishReason(reason, tools), expected, String(reason));
  });
});

describe('GeminiStreamConverter', () => {
  const base = { id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: CREATED_SECONDS, model: 'gemini-2.5-flash' };
  const event = (parts: GeminiResponse['candidates'], extra: Partial<GeminiResponse> = {}): GeminiResponse => ({
    candidates: parts,
    createTime: CREATED,
    responseId: 's1',
    modelVersion: 'gemini-2.5-flash',
    ...extra,
  });

  test('text events become chunks: role first, finish_reason on the last, then the usage chunk', () => {
    const converter = new GeminiStreamConverter({ model: 'gemini-2.5-flash', includeUsage: true });
    const chunks = [
      ...converter.push(event([{ content: { role: 'model', parts: [{ text: 'Hel' }] } }])),
      ...converter.push(event([{ content: { role: 'model', parts: [{ text: 'lo' }] } }])),
      ...converter.push(
        event([{ content: { role: 'model', parts: [{ text: '!' }] }, finishReason: 'STOP' }], {
          usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
        }),
      ),
      ...converter.finish(),
    ];
    assert.deepEqual(chunks, [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'lo' }, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: '!' }, logprobs: null, finish_reason: 'stop' }] },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
    ]);
  });

  test('function calls stream as indexed tool_calls and finish with tool_calls; no usage chunk unless asked', () => {
    const converter = new GeminiStreamConverter({ model: 'gemini-2.5-flash', includeUsage: false, newToolCallId: counter() });
    const chunks = [
      ...converter.push(event([{ content: { parts: [{ functionCall: { name: 'a', args: { x: 1 } } }] } }])),
      ...converter.push(event([{ content: { parts: [{ functionCall: { name: 'b', args: {} } }] }, finishReason: 'STOP' }])),
      ...converter.finish(),
    ];
    assert.deepEqual(chunks, [
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }] },
            logprobs: null,
            finish_reason: null,
          },
        ],
      },
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'b', arguments: '{}' } }] },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
      },
    ]);
  });

  test('a stream that ends without finishReason is closed with stop; usage-only events emit nothing', () => {
    const converter = new GeminiStreamConverter({ model: 'gemini-2.5-flash', includeUsage: true });
    assert.deepEqual(converter.push(event([{ content: { parts: [{ text: 'x' }] } }])), [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'x' }, logprobs: null, finish_reason: null }] },
    ]);
    assert.deepEqual(converter.push(event(undefined, { usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } })), []);
    assert.deepEqual(converter.finish(), [
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
      { ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } },
    ]);
  });

  test('a blocked prompt streams one content_filter chunk', () => {
    const converter = new GeminiStreamConverter({ model: 'gemini-2.5-flash', includeUsage: false });
    assert.deepEqual(converter.push(event(undefined, { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } })), []);
    assert.deepEqual(converter.finish(), [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant' }, logprobs: null, finish_reason: 'content_filter' }] },
    ]);
  });
});
