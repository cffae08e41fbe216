/** A client that leaves mid-stream aborts the upstream call (README "Endpoints" (chat), issue: no buffering, abort propagates). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';

let emulators: AllEmulators;
let harness: Harness;
before(async () => {
  // Slow chunks, so the stream is still running when the client leaves.
  emulators = await startAllEmulators({ chatChunkDelayMs: 150 });
  harness = await startHarness({ emulators });
});
after(async () => {
  await harness.close();
  await emulators.close();
});

test('chunks arrive as they are produced, and leaving mid-stream aborts the upstream request', async () => {
  const controller = new AbortController();
  const stream = await harness.client().chat.completions.create(
    { model: 'gpt-4o-mini-openai', stream: true, messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten eleven twelve' }] },
    { signal: controller.signal },
  );
  const started = Date.now();
  let first: number | undefined;
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      first ??= Date.now() - started;
      chunks += 1;
      if (chunk.choices[0]?.delta?.content) controller.abort();
    }
  } catch {
    // the SDK may end the iteration quietly or throw an abort error
  }
  assert.ok(chunks <= 3, `stopped after the first content chunk (${chunks} chunks)`);
  assert.ok(first !== undefined && first < 1000, 'the first chunk came before the whole answer was produced');
  const call = await emulators.openai.waitForCall((item) => item.path === '/v1/chat/completions');
  assert.equal(call.status, 0, 'the emulator saw its client (the gateway) leave before the stream finished');
});
