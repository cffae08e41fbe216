/** The library face (README "Library use"): provider file functions and the managed-files Gateway, no server. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { closeProviderClients, createFile, deleteFile, fileContent, Gateway, listFiles, retrieveFile } from '../src/sdk/index.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let emulators: AllEmulators;
let database: TestDatabase;
before(async () => {
  emulators = await startAllEmulators();
  database = await createTestDatabase();
});
after(async () => {
  await closeProviderClients();
  await emulators.close();
  await database.drop();
});

test('createFile / listFiles / retrieveFile / fileContent / deleteFile on OpenAI and Azure', async () => {
  const providers = [
    { customLlmProvider: 'openai' as const, apiBase: emulators.urls.openai, apiKey: 'sk-emulator-openai' },
    { customLlmProvider: 'azure' as const, apiBase: emulators.urls.azure, apiKey: 'azure-emulator-key', apiVersion: '2024-10-21' },
  ];
  for (const options of providers) {
    const data = randomBytes(4096);
    const file = await createFile({ ...options, file: data, filename: 'lib.jsonl', purpose: 'batch' });
    assert.equal(file.bytes, data.length);
    assert.ok((await listFiles(options)).data.some((item) => item.id === file.id));
    assert.equal((await retrieveFile(file.id, options)).filename, 'lib.jsonl');
    assert.equal(sha256(await bytesOf((await fileContent(file.id, options)).body)), sha256(data));
    assert.deepEqual(await deleteFile(file.id, options), { id: file.id, object: 'file', deleted: true });
    await assert.rejects(retrieveFile(file.id, options), (error: { status?: number }) => error.status === 404);
  }
});

test('Gateway: managed files without the HTTP server, with ownership', async () => {
  const gateway = await Gateway.open({
    config: {
      model_list: [
        { model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } },
        {
          model_name: 'gemini',
          litellm_params: {
            model: 'vertex_ai/gemini-2.0-flash',
            vertex_project: 'p',
            vertex_credentials: JSON.stringify(emulators.google.createServiceAccount({ projectId: 'p' })),
            bucket_name: 'sdk-bucket',
            api_base: emulators.urls.google,
            gcs_api_base: emulators.urls.google,
          },
        },
      ],
      general_settings: database.url ? { database_url: database.url } : { data_dir: 'memory://' },
    },
    env: {},
  });
  try {
    const alice = gateway.as({ userId: 'alice' });
    const data = Buffer.from('%PDF-1.4 library upload');
    const file = await alice.createFile({ file: data, filename: 'lib.pdf', purpose: 'user_data', targetModelNames: ['gpt', 'gemini'] });
    assert.match(file.id, /^file-uf_/);
    assert.equal(emulators.google.objects('sdk-bucket').length, 1);
    assert.equal(sha256(await bytesOf((await alice.fileContent(file.id)).body)), sha256(data));
    await assert.rejects(gateway.as({ userId: 'bob' }).retrieveFile(file.id), (error: { status?: number }) => error.status === 404);
    assert.deepEqual((await gateway.listFiles()).data.map((item) => item.id), [file.id], 'the admin session sees it');
    const answer = (await alice.chatCompletion({ model: 'gemini', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: file.id } }] }] })) as { choices: Array<{ message: { content: string } }> };
    assert.match(answer.choices[0]!.message.content, /gs:\/\/sdk-bucket\//);
    await alice.deleteFile(file.id);
    assert.equal(emulators.google.objects('sdk-bucket').length, 0);
  } finally {
    await gateway.close();
  }
});
