/**
 * GET /files/{id}/content headers (README "Endpoints"): the file's MIME type, Content-Length,
 * Content-Disposition with the filename (RFC 6266) and X-Content-Type-Options: nosniff —
 * for plain files (name from the owner record, else from the provider) and managed files.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import type { OpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { startManagedHarness, type ManagedHarness } from './support/managed-config.ts';

let harness: ManagedHarness;
let second: OpenAIEmulator;
before(async () => {
  harness = await startManagedHarness();
  second = harness.second;
});
after(() => harness.close()); // closes the second emulator too

const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(3000, 7)]);

async function headersOf(path: string, key?: string) {
  const response = await harness.fetch(path, key ? { key } : {});
  assert.equal(response.status, 200, await response.clone().text());
  const body = Buffer.from(await response.arrayBuffer());
  return { body, headers: Object.fromEntries(response.headers) };
}

test('a plain file: type from its name, length, attachment with the UTF-8 name, nosniff', async () => {
  const user = await harness.newUser();
  const file = await harness.client(user.key).files.create({ file: await toFile(pdf, 'Über Q3.pdf'), purpose: 'user_data' });
  for (const prefix of ['/v1', '', '/openai/v1']) {
    const { body, headers } = await headersOf(`${prefix}/files/${file.id}/content`, user.key);
    assert.deepEqual(body, pdf);
    assert.equal(headers['content-type'], 'application/pdf');
    assert.equal(headers['content-length'], String(pdf.length));
    assert.equal(headers['content-disposition'], `attachment; filename="_ber Q3.pdf"; filename*=UTF-8''%C3%9Cber%20Q3.pdf`);
    assert.equal(headers['x-content-type-options'], 'nosniff');
  }
});

test('a provider file the gateway never recorded (admin): the name comes from the provider', async () => {
  const direct = new OpenAI({ apiKey: 'sk-emulator-openai', baseURL: harness.emulators.urls.openai, maxRetries: 0 });
  const file = await direct.files.create({ file: await toFile(Buffer.from('a,b\n1,2\n'), 'direct data.csv'), purpose: 'assistants' });
  const { body, headers } = await headersOf(`/v1/files/${file.id}/content`);
  assert.equal(body.toString(), 'a,b\n1,2\n');
  assert.equal(headers['content-type'], 'text/csv');
  assert.equal(headers['content-disposition'], `attachment; filename="direct data.csv"; filename*=UTF-8''direct%20data.csv`);
  assert.equal(headers['x-content-type-options'], 'nosniff');
});

test('a managed file: its stored MIME type and name', async () => {
  const file = await harness.client().files.create({
    file: await toFile(pdf, 'plan ✓.pdf', { type: 'application/pdf' }),
    purpose: 'user_data',
    // @ts-expect-error gateway field
    target_model_names: 'gpt-4o-mini-openai, gemini-2.0-flash',
  });
  const { body, headers } = await headersOf(`/v1/files/${file.id}/content`);
  assert.deepEqual(body, pdf);
  assert.equal(headers['content-type'], 'application/pdf');
  assert.equal(headers['content-length'], String(pdf.length));
  assert.equal(headers['content-disposition'], `attachment; filename="plan _.pdf"; filename*=UTF-8''plan%20%E2%9C%93.pdf`);
  assert.equal(headers['x-content-type-options'], 'nosniff');
});

test('a quoted filename sent as a raw multipart header never breaks the Content-Disposition', async () => {
  const boundary = 'x-boundary-1';
  const form = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="say \\"hi\\".txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n`),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  const created = await harness.fetch('/v1/files', { method: 'POST', body: form, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  assert.equal(created.status, 200, await created.clone().text());
  const file = (await created.json()) as { id: string; filename: string };
  const { headers } = await headersOf(`/v1/files/${file.id}/content`);
  assert.match(headers['content-disposition']!, /^attachment; filename="[^"]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
  assert.ok(headers['content-disposition']!.endsWith(encodeURIComponent(file.filename).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)));
});

test('a plain Vertex file with a long name (id of several KB) is reachable: retrieve, content, delete', async () => {
  const name = `${'long name '.repeat(50)}résumé.txt`;
  const form = new FormData();
  form.append('purpose', 'user_data');
  form.append('file', new Blob(['vertex bytes'], { type: 'text/plain' }), name);
  const created = await harness.fetch('/vertex_ai/v1/files', { method: 'POST', body: form });
  assert.equal(created.status, 200, await created.clone().text());
  const file = (await created.json()) as { id: string };
  const path = `/vertex_ai/v1/files/${encodeURIComponent(file.id)}`;
  assert.ok(encodeURIComponent(file.id).length > 200, 'longer than fastify\'s default maxParamLength (100)');
  assert.equal((await harness.fetch(path)).status, 200);
  const { body, headers } = await headersOf(`${path}/content`);
  assert.equal(body.toString(), 'vertex bytes');
  assert.equal(headers['content-type'], 'text/plain');
  assert.match(headers['content-disposition']!, /filename\*=UTF-8''long%20name%20.*r%C3%A9sum%C3%A9\.txt$/);
  const deleted = await harness.fetch(path, { method: 'DELETE' });
  assert.equal(deleted.status, 200, await deleted.clone().text());
});
