import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestReferences, type ReferenceScanOptions } from './stored-references.ts';

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
