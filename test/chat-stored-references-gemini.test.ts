/**
 * The confused deputy on the Gemini API (README "Endpoints" (chat)): a Gemini file named by its gateway id, by
 * `files/<id>` or by its Files API uri (in file_id or image_url) is read with the gateway's API
 * key, so a non-admin may only name files recorded as theirs; anything else is 404 and the
 * Gemini emulator receives no generateContent call. The owner's own plain upload works.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import type { RecordedCall } from '../src/emulators/emulator-kit.ts';
import { startHarness, type Harness } from './support/gateway-harness.ts';

const KEY = 'gemini-emulator-key';
let harness: Harness;
let alice: string;
let bob: string;
let aliceFileId: string;

const generateCalls = () => harness.emulators.gemini.calls.filter((call: RecordedCall) => call.method === 'POST' && /:generateContent$/.test(call.path)).length;

before(async () => {
  harness = await startHarness({
    config: (emulators) => ({
      files_settings: [{ custom_llm_provider: 'gemini', api_key: KEY, api_base: emulators.urls.gemini }],
      model_list: [{ model_name: 'gemini-flash', litellm_params: { model: 'gemini/gemini-2.0-flash', api_key: KEY, api_base: emulators.urls.gemini } }],
    }),
  });
  alice = (await harness.newUser({ user_id: 'gemini-alice' })).key;
  bob = (await harness.newUser({ user_id: 'gemini-bob' })).key;
  const gemini = harness.client(alice, { baseURL: `${harness.url}/gemini/v1` });
  aliceFileId = (await gemini.files.create({ file: await toFile(Buffer.from('%PDF-1.4 alice'), 'alice.pdf', { type: 'application/pdf' }), purpose: 'user_data' })).id;
  assert.match(aliceFileId, /^file-gemini-/);
});
after(async () => harness.close());

const ask = (part: Record<string, unknown>) => ({ model: 'gemini-flash', messages: [{ role: 'user', content: [{ type: 'text', text: 'read' }, part] }] }) as never;

test("another tenant's Gemini file, in every form, is 404 and never reaches Gemini", async () => {
  const resource = aliceFileId.slice('file-gemini-'.length);
  const uris = [`${harness.emulators.urls.gemini}/v1beta/files/${resource}`, `https://generativelanguage.googleapis.com/v1beta/files/${resource}`];
  const parts = [
    { type: 'file', file: { file_id: aliceFileId } },
    { type: 'file', file: { file_id: `files/${resource}` } },
    ...uris.map((uri) => ({ type: 'file', file: { file_id: uri } })),
    ...uris.map((uri) => ({ type: 'image_url', image_url: { url: uri } })),
  ];
  for (const part of parts) {
    const before = generateCalls();
    await assert.rejects(harness.client(bob).chat.completions.create(ask(part)), (error: { status?: number }) => error.status === 404, JSON.stringify(part));
    assert.equal(generateCalls(), before, `nothing sent for ${JSON.stringify(part)}`);
  }
});

test('the owner uses her own Gemini file', async () => {
  const resource = aliceFileId.slice('file-gemini-'.length);
  // (The adapter takes Files API uris only over https, so the emulator's http uri is not tried here.)
  for (const fileId of [aliceFileId]) {
    const before = generateCalls();
    const answer = await harness.client(alice).chat.completions.create(ask({ type: 'file', file: { file_id: fileId } }));
    assert.equal(answer.object, 'chat.completion');
    assert.equal(generateCalls(), before + 1);
    const body = harness.emulators.gemini.calls.filter((call) => /:generateContent$/.test(call.path)).at(-1)!.json as { contents: Array<{ parts: Array<Record<string, unknown>> }> };
    assert.deepEqual(body.contents[0]!.parts[1], { fileData: { mimeType: 'application/pdf', fileUri: `${harness.emulators.urls.gemini}/v1beta/files/${resource}` } });
  }
});
