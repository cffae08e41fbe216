/**
 * Gemini thought signatures survive a multi-turn tool call through the gateway (issue 8): a
 * Gemini 3 model (which refuses replayed function calls without their signature, as the real API
 * does) on Vertex AI and on the Gemini API, driven by the official openai client. The assistant
 * message carries the signature; sent back as the client got it — or rebuilt from id, name and
 * arguments only — the next request reaches the emulator with the signature on the functionCall
 * part, and the second turn succeeds. Streams carry it too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type OpenAI from 'openai';
import { thoughtSignatureFor } from '../src/emulators/gemini-thought-signatures.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness({
    config: (emulators) => ({
      model_list: [
        {
          model_name: 'vertex-thinking',
          litellm_params: {
            model: 'vertex_ai/gemini-3-pro-preview',
            vertex_project: 'p',
            vertex_credentials: JSON.stringify(emulators.google.createServiceAccount({ projectId: 'p' })),
            api_base: emulators.urls.google,
          },
        },
        { model_name: 'gemini-thinking', litellm_params: { model: 'gemini/gemini-3-flash-preview', api_base: emulators.urls.gemini, api_key: emulators.gemini.apiKey } },
      ],
    }),
  });
});
after(async () => harness.close());

const WEATHER = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const SIGNATURE = thoughtSignatureFor('get_weather');

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** The functionCall parts of model turns in the last generateContent body an emulator received. */
function replayedCalls(calls: Array<{ path: string; json?: unknown }>): Array<Record<string, unknown>> {
  const body = calls.filter((call) => /:(stream)?generateContent$/i.test(call.path)).at(-1)!.json as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> };
  return body.contents.filter((content) => content.role === 'model').flatMap((content) => content.parts.filter((part) => part.functionCall));
}

for (const [model, emulator] of [['vertex-thinking', 'google'], ['gemini-thinking', 'gemini']] as const) {
  test(`${model}: the signature comes back on the assistant message and goes out on the next turn`, async () => {
    const client = harness.client();
    const question: Message = { role: 'user', content: 'What is the weather in Paris?' };
    const first = await client.chat.completions.create({ model, tools: [WEATHER], messages: [question] });
    const message = first.choices[0]!.message;
    const call = message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall & { provider_specific_fields?: { thought_signature?: string } };
    assert.equal(first.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(call.provider_specific_fields?.thought_signature, SIGNATURE);

    // 1. The message sent back exactly as the client got it.
    const second = await client.chat.completions.create({
      model,
      tools: [WEATHER],
      messages: [question, message as Message, { role: 'tool', tool_call_id: call.id, content: '18 C' }],
    });
    assert.match(second.choices[0]!.message.content!, /function response get_weather/);
    assert.deepEqual(replayedCalls(harness.emulators[emulator].calls).map((part) => part.thoughtSignature), [SIGNATURE]);

    // 2. A client that rebuilds the message from id, name and arguments only (no extra fields).
    const rebuilt: Message = { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments } }] };
    const third = await client.chat.completions.create({ model, tools: [WEATHER], messages: [question, rebuilt, { role: 'tool', tool_call_id: call.id, content: '18 C' }] });
    assert.equal(third.choices[0]!.finish_reason, 'stop');
    assert.deepEqual(replayedCalls(harness.emulators[emulator].calls).map((part) => part.thoughtSignature), [SIGNATURE]);
  });
}

test('a replayed call without its signature is refused by a Gemini 3 model (what the gateway now avoids)', async () => {
  const client = harness.client();
  const stripped: Message = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] };
  await assert.rejects(
    client.chat.completions.create({ model: 'vertex-thinking', tools: [WEATHER], messages: [{ role: 'user', content: 'Paris?' }, stripped, { role: 'tool', tool_call_id: 'call_1', content: '18 C' }] }),
    (error: { status?: number }) => error.status === 400,
  );
});

test('streams: the tool call delta carries the signature, and it round-trips', async () => {
  const client = harness.client();
  const question: Message = { role: 'user', content: 'What is the weather in Paris?' };
  const stream = await client.chat.completions.create({ model: 'gemini-thinking', tools: [WEATHER], messages: [question], stream: true });
  const deltas: Array<Record<string, any>> = [];
  for await (const chunk of stream) for (const choice of chunk.choices) for (const call of (choice.delta.tool_calls ?? []) as Array<Record<string, any>>) deltas.push(call);
  assert.equal(deltas.length, 1);
  assert.equal(deltas[0]!.provider_specific_fields.thought_signature, SIGNATURE);
  const next = await client.chat.completions.create({
    model: 'gemini-thinking',
    tools: [WEATHER],
    messages: [question, { role: 'assistant', content: null, tool_calls: [{ id: deltas[0]!.id, type: 'function', function: deltas[0]!.function }] }, { role: 'tool', tool_call_id: deltas[0]!.id, content: '18 C' }],
  });
  assert.equal(next.choices[0]!.finish_reason, 'stop');
});
