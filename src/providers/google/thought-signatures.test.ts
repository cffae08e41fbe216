import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertGeminiResponse } from './convert-gemini-to-openai.ts';
import { convertOpenAIToGemini } from './convert-openai-to-gemini.ts';

test('a text part signature rides on the message and goes back on the first text part of that turn', () => {
  const answer = convertGeminiResponse(
    { candidates: [{ content: { role: 'model', parts: [{ text: 'thinking done: ', thoughtSignature: 'U0lH' }, { text: 'hello' }] }, finishReason: 'STOP' }] },
    { model: 'gemini-3-pro', newToolCallId: () => 'call_x' },
  ) as { choices: Array<{ message: Record<string, unknown> }> };
  const message = answer.choices[0]!.message;
  assert.deepEqual(message.provider_specific_fields, { thought_signature: 'U0lH' });
  const request = convertOpenAIToGemini({ body: { model: 'm', messages: [{ role: 'user', content: 'hi' }, message, { role: 'user', content: 'more' }] }, fileReferences: {}, instance: 'i' });
  assert.deepEqual(request.contents[1], { role: 'model', parts: [{ text: 'thinking done: hello', thoughtSignature: 'U0lH' }] });
});

test('function call signatures: on the tool call, in its id, and back on the functionCall part', () => {
  const answer = convertGeminiResponse(
    { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'f', args: { a: 1 } }, thoughtSignature: 'c2ln+/=' }, { functionCall: { name: 'g' } }] }, finishReason: 'STOP' }] },
    { model: 'gemini-3-pro', newToolCallId: () => 'call_1' },
  ) as { choices: Array<{ message: { tool_calls: Array<Record<string, any>> } }> };
  const [signed, plain] = answer.choices[0]!.message.tool_calls;
  assert.equal(signed!.id, 'call_1__thought__c2ln+/=');
  assert.deepEqual(signed!.provider_specific_fields, { thought_signature: 'c2ln+/=' });
  assert.equal(plain!.id, 'call_1');
  assert.equal(plain!.provider_specific_fields, undefined);
  const bare = { role: 'assistant', content: null, tool_calls: [{ id: signed!.id, type: 'function', function: signed!.function }, { id: plain!.id, type: 'function', function: plain!.function }] };
  const request = convertOpenAIToGemini({ body: { model: 'm', messages: [{ role: 'user', content: 'hi' }, bare] }, fileReferences: {}, instance: 'i' });
  assert.deepEqual(request.contents[1]!.parts, [
    { functionCall: { name: 'f', args: { a: 1 } }, thoughtSignature: 'c2ln+/=' },
    { functionCall: { name: 'g', args: {} } },
  ]);
});
