/**
 * The confused deputy (README "Endpoints" (chat), issue 7): every chat content part that can point at stored data
 * (file_id, image_url, file_data, audio/video URLs naming gs:// objects, Gemini file URIs, Cloud
 * Storage URLs, provider file ids) goes through one ownership check. A non-admin's reference that
 * is not recorded as theirs is 404 and no provider receives anything; their own plain uploads
 * work; https:/data: URLs pass; admins are trusted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import OpenAI, { toFile } from 'openai';
import type { RecordedCall } from '../src/emulators/emulator-kit.ts';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { MASTER_KEY } from './support/gateway-harness.ts';
import { BUCKET, startManagedHarness, type ManagedHarness } from './support/managed-config.ts';

let harness: ManagedHarness;
let second: OpenAIEmulator;
let alice: string;
let bob: string;
let aliceManagedUri: string;
let aliceRawOpenAIId: string;

const chatCalls = (calls: RecordedCall[]) => calls.filter((call) => call.method === 'POST' && /chat\/completions|generateContent/.test(call.path));
const allChatCalls = () => [harness.emulators.openai, second, harness.emulators.azure, harness.emulators.google].flatMap((emulator) => chatCalls(emulator.calls)).length;

before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
  alice = (await harness.newUser({ user_id: 'deputy-alice' })).key;
  bob = (await harness.newUser({ user_id: 'deputy-bob' })).key;
  const managed = await harness.client(alice).files.create({
    file: await toFile(Buffer.from('%PDF-1.4 alice secrets'), 'alice.pdf', { type: 'application/pdf' }),
    purpose: 'user_data',
    target_model_names: 'gemini-2.0-flash',
  } as never);
  const rows = (await harness.runtime.database.db.execute(
    sql`SELECT provider_file_id FROM managed_file_copies WHERE file_id = ${managed.id}`,
  )) as unknown as { rows: Array<{ provider_file_id: string }> };
  aliceManagedUri = rows.rows[0]!.provider_file_id;
  assert.match(aliceManagedUri, /^gs:\/\//);
  aliceRawOpenAIId = (await harness.client(alice).files.create({ file: await toFile(Buffer.from('raw'), 'raw.txt'), purpose: 'user_data' })).id;
});
after(() => harness.close()); // closes the second emulator too

type Part = Record<string, unknown>;
const withPart = (part: Part) => [{ role: 'user', content: [{ type: 'text', text: 'look' }, part] }];

async function expect404(client: OpenAI, model: string, part: Part, label: string): Promise<void> {
  const before = allChatCalls();
  await assert.rejects(
    client.chat.completions.create({ model, messages: withPart(part) } as never),
    (error: { status?: number; code?: string }) => {
      assert.equal(error.status, 404, `${label}: 404`);
      assert.equal(error.code, 'file_not_found', label);
      return true;
    },
  );
  assert.equal(allChatCalls(), before, `${label}: no provider received a chat call`);
}

test("another tenant's managed gs:// copy, in any URI-bearing part, is 404 and never reaches Gemini", async () => {
  const client = harness.client(bob);
  const uri = aliceManagedUri;
  const https = `${harness.emulators.urls.google}/${uri.slice('gs://'.length)}`;
  const cases: Array<[string, Part]> = [
    ['image_url', { type: 'image_url', image_url: { url: uri } }],
    ['image_url as a string', { type: 'image_url', image_url: uri }],
    ['file.file_id', { type: 'file', file: { file_id: uri, format: 'application/pdf' } }],
    ['file.file_data', { type: 'file', file: { file_data: uri, filename: 'x.pdf' } }],
    ['video_url', { type: 'video_url', video_url: { url: uri } }],
    ['audio_url', { type: 'audio_url', audio_url: { url: uri } }],
    ['input_audio.data', { type: 'input_audio', input_audio: { data: uri, format: 'wav' } }],
    ['Cloud Storage https URL', { type: 'image_url', image_url: { url: `https://storage.googleapis.com/${uri.slice('gs://'.length)}` } }],
    ['URL on the configured GCS endpoint', { type: 'image_url', image_url: { url: https } }],
    ['another bucket', { type: 'image_url', image_url: { url: `gs://someone-elses-bucket/data/photo.png` } }],
    ['the gateway bucket, unknown object', { type: 'file', file: { file_id: `gs://${BUCKET}/managed/unifile/x/y.pdf` } }],
    ['a Gemini file URI', { type: 'file', file: { file_id: 'https://generativelanguage.googleapis.com/v1beta/files/abc123' } }],
  ];
  for (const [label, part] of cases) await expect404(client, 'gemini-2.0-flash', part, label);
  // The owner herself did not record the managed copy's raw URI either: only the unified id is hers.
  await expect404(harness.client(alice), 'gemini-2.0-flash', { type: 'image_url', image_url: { url: uri } }, 'owner, raw copy URI');
});

test("another tenant's raw provider file id is 404 on OpenAI models; the owner's own works", async () => {
  await expect404(harness.client(bob), 'gpt-4o-mini-openai', { type: 'file', file: { file_id: aliceRawOpenAIId } }, 'raw openai id');
  await expect404(harness.client(bob), 'gpt-4o-mini-openai', { type: 'image_url', image_url: { url: `gs://${BUCKET}/x.png` } }, 'gs:// on openai');
  // The raw id lives on the files_settings account (the first OpenAI emulator), as does oai-1.
  const before = chatCalls(harness.emulators.openai.calls).length + chatCalls(second.calls).length;
  await harness.client(alice).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: withPart({ type: 'file', file: { file_id: aliceRawOpenAIId } }) } as never);
  assert.equal(chatCalls(harness.emulators.openai.calls).length + chatCalls(second.calls).length, before + 1);
});

test('a plain /vertex_ai/v1/files upload is usable in chat by its owner, by id and as an image URL', async () => {
  const vertexFiles = harness.client(bob, { baseURL: `${harness.url}/vertex_ai/v1` }).files;
  const uploaded = await vertexFiles.create({ file: await toFile(Buffer.from('%PDF-1.4 bob'), 'bob.pdf', { type: 'application/pdf' }), purpose: 'user_data' });
  assert.match(uploaded.id, /^gs:\/\//);
  const answer = await harness.client(bob).chat.completions.create({
    model: 'gemini-2.0-flash',
    messages: withPart({ type: 'file', file: { file_id: uploaded.id } }),
  } as never);
  assert.equal(answer.object, 'chat.completion');
  let body = chatCalls(harness.emulators.google.calls).at(-1)!.json as { contents: Array<{ parts: Part[] }> };
  assert.deepEqual(body.contents[0]!.parts[1], { fileData: { mimeType: 'application/pdf', fileUri: uploaded.id } });

  const image = await vertexFiles.create({ file: await toFile(Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'pic.png', { type: 'image/png' }), purpose: 'vision' });
  await harness.client(bob).chat.completions.create({ model: 'gemini-2.0-flash', messages: withPart({ type: 'image_url', image_url: { url: image.id } }) } as never);
  body = chatCalls(harness.emulators.google.calls).at(-1)!.json as { contents: Array<{ parts: Part[] }> };
  assert.deepEqual(body.contents[0]!.parts[1], { fileData: { mimeType: 'image/png', fileUri: image.id } });
  // ...and still 404 for anyone else.
  await expect404(harness.client(alice), 'gemini-2.0-flash', { type: 'file', file: { file_id: uploaded.id } }, "bob's upload used by alice");
});

test('https: and data: URLs pass as the provider accepts them; text mentioning gs:// is just text', async () => {
  await harness.client(bob).chat.completions.create({
    model: 'gemini-2.0-flash',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: `please do not read ${aliceManagedUri}` },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
    ],
  } as never);
  const body = chatCalls(harness.emulators.google.calls).at(-1)!.json as { contents: Array<{ parts: Part[] }> };
  assert.deepEqual(body.contents[0]!.parts.slice(1), [
    { fileData: { mimeType: 'image/png', fileUri: 'https://example.com/cat.png' } },
    { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
  ]);
});

test('an admin may name any gs:// object (the gateway trusts its own operators)', async () => {
  const before = chatCalls(harness.emulators.google.calls).length;
  await harness.client(MASTER_KEY).chat.completions.create({ model: 'gemini-2.0-flash', messages: withPart({ type: 'image_url', image_url: { url: aliceManagedUri } }) } as never);
  assert.equal(chatCalls(harness.emulators.google.calls).length, before + 1);
});
