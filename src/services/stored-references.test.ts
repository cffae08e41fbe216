import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestReferences, storedReferences, type ReferenceScanOptions } from './stored-references.ts';

const scan: ReferenceScanOptions = {
  providerOrigins: new Map([['https://api.openai.com', 'openai']]),
  storageForms: (value) => (/^gs:\/\//i.test(value) ? [value] : undefined),
};
const found = (body: unknown) => requestReferences(body, scan).map((reference) => `${reference.kind}:${reference.value}`).sort();

test('requestReferences: every file_id / file_ids value and storage URI, whatever the endpoint', () => {
  const unified = 'file-uf_AAAAAAAAAAAAAAAAAAAAAAAA';
  assert.deepEqual(found({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: unified } }] }] }), [`managed:${unified}`]);
  assert.deepEqual(
    found({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-abc' }, { type: 'input_image', file_id: 'file-img' }, { type: 'input_text', text: 'gs://b/o is just text' }] }] }),
    ['raw:file-abc', 'raw:file-img'],
  );
  assert.deepEqual(found({ tools: [{ type: 'code_interpreter', container: { type: 'auto', file_ids: ['file-x', unified] } }] }), [`managed:${unified}`, 'raw:file-x']);
  assert.deepEqual(found({ anything: { deeper: ['gs://bucket/secret.png', 'https://api.openai.com/v1/files/file-y/content', 'https://example.com/a.png'] } }), [
    'raw:gs://bucket/secret.png',
    'raw:https://api.openai.com/v1/files/file-y/content',
  ]);
  assert.deepEqual(found({ model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 }), []);
});

test('requestReferences: a reference nested 200,000 levels deep is found without exhausting the stack', () => {
  let body: Record<string, unknown> = { file_id: 'file-deep' };
  for (let depth = 0; depth < 100_000; depth++) body = { nested: [body] };
  assert.deepEqual(found(body), ['raw:file-deep']);
});

test('storedReferences: the part file id as a file id, stored-data URLs anywhere in a part with their param, prose skipped', () => {
  const unified = 'file-uf_AAAAAAAAAAAAAAAAAAAAAAAA';
  const messages = [
    { role: 'system', content: 'plain text gs://b/o is never looked at' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'gs://b/prose' },
        { type: 'file', file: { file_id: unified, filename: 'gs://b/name' } },
        { type: 'image_url', image_url: { url: ' https://api.openai.com/v1/files/file-y/content ', detail: 'gs://b/detail' } },
        { type: 'file', file: { file_id: 'file-raw', file_data: 'gs://b/data' } },
        { type: 'custom', nested: { list: ['https://example.com/x', { uri: 'gs://b/deep' }] } },
      ],
    },
  ];
  const references = storedReferences(messages, scan).map(({ kind, value, param }) => `${kind} ${value} ${param}`);
  assert.deepEqual(references, [
    `managed ${unified} messages[1].content[1].file.file_id`,
    'raw  https://api.openai.com/v1/files/file-y/content  messages[1].content[2].image_url.url',
    'raw file-raw messages[1].content[3].file.file_id',
    'raw gs://b/data messages[1].content[3].file.file_data',
    'raw gs://b/deep messages[1].content[4].nested.list[1].uri',
  ]);
});

test('storedReferences: only the part\'s own file.file_id is left to the file-id check; depth is bounded', () => {
  // A key spelt "file.file_id" is not the part's file id: its value is checked like any other.
  assert.deepEqual(
    storedReferences([{ role: 'user', content: [{ type: 'x', 'file.file_id': 'gs://b/o' }] }], scan).map((reference) => reference.param),
    ['messages[0].content[0].file.file_id'],
  );
  assert.deepEqual(
    storedReferences([{ role: 'user', content: [{ type: 'file', file: { file_id: 'gs://b/o' } }] }], scan).map((reference) => `${reference.kind} ${reference.param}`),
    ['raw messages[0].content[0].file.file_id'],
  );
  // The part is level 0; a value 6 levels below it is looked at, 7 levels below is not.
  const at = (levels: number) => {
    let value: unknown = 'gs://b/o';
    for (let level = 0; level < levels; level += 1) value = { down: value };
    return storedReferences([{ role: 'user', content: [value] }], scan).length;
  };
  assert.equal(at(6), 1);
  assert.equal(at(7), 0);
});
