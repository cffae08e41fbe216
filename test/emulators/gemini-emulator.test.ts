/**
 * The Gemini API emulator over real HTTP (docs/wire-formats.md §4): key auth, the resumable upload
 * protocol, the File resource, list paging, delete, PROCESSING → ACTIVE/FAILED, 48 h expiry on a
 * movable clock, generateContent checking fileData, the error envelope and faults.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startGeminiEmulator, type GeminiEmulator } from '../../src/emulators/gemini-emulator.ts';

const KEY = 'gemini-emulator-key';
const OTHER_KEY = 'gemini-other-project';
let emulator: GeminiEmulator;
before(async () => {
  emulator = await startGeminiEmulator({ apiKeys: [KEY, OTHER_KEY] });
});
after(async () => emulator.close());
beforeEach(() => emulator.reset());

type Json = Record<string, any>;

async function call(path: string, init: RequestInit & { key?: string | null } = {}): Promise<{ status: number; headers: Headers; json: Json }> {
  const headers = new Headers(init.headers);
  if (init.key !== null) headers.set('x-goog-api-key', init.key ?? KEY);
  const response = await fetch(`${emulator.url}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? {} : (JSON.parse(text) as Json) };
}

async function start(input: { bytes?: number; mimeType?: string; displayName?: string; key?: string } = {}): Promise<string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-goog-upload-protocol': 'resumable',
    'x-goog-upload-command': 'start',
    'x-goog-upload-header-content-type': input.mimeType ?? 'application/pdf',
  };
  if (input.bytes !== undefined) headers['x-goog-upload-header-content-length'] = String(input.bytes);
  const started = await call('/upload/v1beta/files', { method: 'POST', headers, body: JSON.stringify({ file: { display_name: input.displayName ?? 'doc.pdf' } }), key: input.key });
  assert.equal(started.status, 200, JSON.stringify(started.json));
  assert.equal(started.headers.get('x-goog-upload-status'), 'active');
  const url = started.headers.get('x-goog-upload-url');
  assert.ok(url?.startsWith(`${emulator.url}/upload/v1beta/files?upload_id=`));
  return url!;
}

async function send(url: string, data: Buffer, command: string, offset: number): Promise<{ status: number; headers: Headers; json: Json }> {
  const response = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': command, 'x-goog-upload-offset': String(offset) }, body: data });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? {} : (JSON.parse(text) as Json) };
}

async function upload(data: Buffer, options: { mimeType?: string; displayName?: string; key?: string } = {}): Promise<Json> {
  const url = await start({ ...options, bytes: data.length });
  const done = await send(url, data, 'upload, finalize', 0);
  assert.equal(done.status, 200, JSON.stringify(done.json));
  assert.equal(done.headers.get('x-goog-upload-status'), 'final');
  return done.json.file as Json;
}

const generate = (body: unknown, key = KEY) =>
  call('/v1beta/models/gemini-2.0-flash:generateContent', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), key });
const askAbout = (file: Json, mimeType = file.mimeType as string) => ({
  contents: [{ role: 'user', parts: [{ text: 'Describe it' }, { fileData: { mimeType, fileUri: file.uri } }] }],
});

describe('auth and errors', () => {
  test('no key is 403, a wrong key 400 API_KEY_INVALID, ?key= works; all in the Google envelope', async () => {
    const none = await call('/v1beta/files', { key: null });
    assert.equal(none.status, 403);
    assert.equal(none.json.error.status, 'PERMISSION_DENIED');
    assert.equal(none.json.error.code, 403);
    const wrong = await call('/v1beta/files', { key: 'nope' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.status, 'INVALID_ARGUMENT');
    assert.equal(wrong.json.error.details[0].reason, 'API_KEY_INVALID');
    const byQuery = await call(`/v1beta/files?key=${KEY}`, { key: null });
    assert.deepEqual(byQuery, { status: 200, headers: byQuery.headers, json: {} });
  });

  test('start without the resumable headers is refused', async () => {
    const response = await call('/upload/v1beta/files', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 400);
    assert.match(response.json.error.message, /resumable/);
  });
});

describe('resumable upload and the File resource', () => {
  test('start → upload, finalize gives a complete File; get returns the same', async () => {
    const data = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(100_000)]);
    const file = await upload(data);
    assert.match(file.name, /^files\/[a-z0-9]{12}$/);
    assert.equal(file.displayName, 'doc.pdf');
    assert.equal(file.mimeType, 'application/pdf');
    assert.equal(file.sizeBytes, String(data.length));
    assert.equal(file.sha256Hash, createHash('sha256').update(data).digest('base64'));
    assert.equal(file.uri, `${emulator.url}/v1beta/${file.name}`);
    assert.equal(file.state, 'ACTIVE');
    assert.equal(file.source, 'UPLOADED');
    for (const field of ['createTime', 'updateTime', 'expirationTime']) assert.match(file[field], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(Date.parse(file.expirationTime) - Date.parse(file.createTime), 48 * 3600 * 1000);
    const got = await call(`/v1beta/${file.name}`);
    assert.deepEqual(got.json, file);
    const [stored] = emulator.files();
    assert.equal(stored!.sha256, createHash('sha256').update(data).digest('hex'));
    const startCall = emulator.calls.find((recorded) => recorded.path === '/upload/v1beta/files' && recorded.headers['x-goog-upload-command'] === 'start')!;
    assert.deepEqual(startCall.json, { file: { display_name: 'doc.pdf' } });
    assert.equal(startCall.headers['x-goog-api-key'], KEY);
  });

  test('chunks: each upload checks the offset; finalize checks the declared length', async () => {
    const data = randomBytes(30_000);
    const url = await start({ bytes: data.length });
    const first = await send(url, data.subarray(0, 10_000), 'upload', 0);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-goog-upload-status'), 'active');
    const wrongOffset = await send(url, data.subarray(10_000), 'upload, finalize', 5);
    assert.equal(wrongOffset.status, 400);
    assert.match(wrongOffset.json.error.message, /does not match the 10000 bytes/);
    const last = await send(url, data.subarray(10_000), 'upload, finalize', 10_000);
    assert.equal(last.status, 200);
    assert.equal(last.json.file.sizeBytes, '30000');

    const short = await start({ bytes: 50 });
    const mismatch = await send(short, randomBytes(10), 'upload, finalize', 0);
    assert.equal(mismatch.status, 400);
    assert.equal(emulator.files().length, 1, 'a failed session never becomes a file');
  });

  test('list pages with pageSize/pageToken; an empty list is {}', async () => {
    const names: string[] = [];
    for (let index = 0; index < 3; index += 1) names.push((await upload(randomBytes(10), { displayName: `f${index}` })).name);
    const first = await call('/v1beta/files?pageSize=2');
    assert.equal(first.json.files.length, 2);
    assert.ok(first.json.nextPageToken);
    const second = await call(`/v1beta/files?pageSize=2&pageToken=${first.json.nextPageToken}`);
    assert.equal(second.json.files.length, 1);
    assert.equal(second.json.nextPageToken, undefined);
    assert.deepEqual([...first.json.files, ...second.json.files].map((file: Json) => file.name).sort(), [...names].sort());
    assert.equal((await call('/v1beta/files?pageToken=bogus')).status, 400);
    assert.deepEqual((await call('/v1beta/files', { key: OTHER_KEY })).json, {}, 'files belong to the key\'s project');
  });

  test('delete answers {}; afterwards, and for another project, the file is 403', async () => {
    const file = await upload(randomBytes(10));
    const foreign = await call(`/v1beta/${file.name}`, { key: OTHER_KEY });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json.error.status, 'PERMISSION_DENIED');
    assert.deepEqual((await call(`/v1beta/${file.name}`, { method: 'DELETE' })).json, {});
    assert.equal((await call(`/v1beta/${file.name}`)).status, 403);
    assert.equal((await call(`/v1beta/${file.name}`, { method: 'DELETE' })).status, 403);
    const download = await call(`/v1beta/${(await upload(randomBytes(5))).name}:download?alt=media`);
    assert.equal(download.status, 400, 'uploaded files cannot be downloaded');
  });
});

describe('state, expiry and generateContent', () => {
  test('PROCESSING until the delay has passed, then ACTIVE; FAILED when told so', async () => {
    emulator.setProcessing({ processingMs: 60_000 });
    const file = await upload(Buffer.from('%PDF-1.7\nhello'));
    assert.equal(file.state, 'PROCESSING');
    const early = await generate(askAbout(file));
    assert.equal(early.status, 400);
    assert.equal(early.json.error.status, 'FAILED_PRECONDITION');
    emulator.advanceClock(60_000);
    assert.equal((await call(`/v1beta/${file.name}`)).json.state, 'ACTIVE');
    const answer = await generate(askAbout(file));
    assert.equal(answer.status, 200);
    assert.match(answer.json.candidates[0].content.parts[0].text, new RegExp(`Echo from gemini:gemini-2.0-flash: Describe it \\[files: ${file.uri}`));

    emulator.setProcessing({ processingMs: 0, outcome: 'FAILED' });
    const failed = await upload(Buffer.from('bad'));
    assert.equal(failed.state, 'FAILED');
    assert.equal((await generate(askAbout(failed))).status, 400);
  });

  test('fileData is checked: mimeType must match, other projects and unknown files are 403, gs:// is refused', async () => {
    const file = await upload(Buffer.from('%PDF-1.7\nx'));
    const mismatch = await generate(askAbout(file, 'image/png'));
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.json.error.message, /does not match/);
    assert.equal((await generate(askAbout(file), OTHER_KEY)).status, 403);
    assert.equal((await generate(askAbout({ ...file, uri: `${emulator.url}/v1beta/files/missing1` }))).status, 403);
    assert.equal((await generate(askAbout({ ...file, uri: 'gs://bucket/doc.pdf' }))).status, 400);
    assert.equal((await generate({ ...askAbout(file), labels: { a: 'b' } })).status, 400, 'labels is Vertex-only');
  });

  test('a file expires after 48 h of emulator clock, or at once when told (also over HTTP)', async () => {
    const first = await upload(randomBytes(10));
    emulator.advanceClock(48 * 3600 * 1000);
    assert.equal((await call(`/v1beta/${first.name}`)).status, 403);
    assert.equal(emulator.files().length, 0);

    const second = await upload(Buffer.from('%PDF-1.7\ny'));
    const control = await fetch(`${emulator.url}/__emulator/gemini/expire`, { method: 'POST', body: JSON.stringify({ name: second.name }) });
    assert.deepEqual(await control.json(), { expired: true });
    const expired = await generate(askAbout(second));
    assert.equal(expired.status, 403);
    assert.match(expired.json.error.message, /do not have permission to access the File/);
  });

  test('streamGenerateContent?alt=sse sends GenerateContentResponse events', async () => {
    const response = await fetch(`${emulator.url}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'one two three' }] }] }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /text\/event-stream/);
    const events = (await response.text()).split('\r\n\r\n').filter(Boolean).map((event) => JSON.parse(event.replace(/^data: /, '')) as Json);
    const text = events.map((event) => event.candidates[0].content.parts[0].text).join('');
    assert.equal(text, 'Echo from gemini:gemini-2.0-flash: one two three');
    assert.equal(events.at(-1)!.candidates[0].finishReason, 'STOP');
    assert.ok(events.at(-1)!.usageMetadata.totalTokenCount > 0);
  });

  test('faults apply to Gemini routes too', async () => {
    emulator.faults.add({ method: 'POST', path: '/upload/v1beta/files', action: { kind: 'status', status: 503, body: { error: { code: 503, message: 'busy', status: 'UNAVAILABLE' } } } });
    const response = await call('/upload/v1beta/files', { method: 'POST', headers: { 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' }, body: '{}' });
    assert.equal(response.status, 503);
    assert.equal(emulator.calls.at(-1)!.status, 503);
  });
});
