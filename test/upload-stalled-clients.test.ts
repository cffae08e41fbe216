/**
 * Stalled and hostile clients (README "Endpoints" (limits)): 136 uploads from 9 tenants stall mid-file on real
 * sockets. Another tenant's retrieve, content, list and chat still complete while they stall
 * (upload traffic has its own upstream pool); a key past its concurrent-upload cap gets 429; the
 * stalled ones are cut with 408 in the envelope, and the emulator holds none of their files.
 * Until the other checks are done the stalled uploads send a byte now and then (their idle clock
 * restarts), so however slowly a loaded machine opens them none is cut before its time: the
 * refusal is 429 because the cap is full, never because the first ones already went idle.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';

const IDLE_SECONDS = 6;
const TENANTS = 8;
const PER_TENANT = 16; // max_concurrent_uploads_per_key in this test
let harness: Harness;
before(async () => {
  harness = await startHarness({ general: { request_idle_timeout_seconds: IDLE_SECONDS, max_concurrent_uploads_per_key: PER_TENANT } });
});
after(async () => harness.close());

async function storedFiles(): Promise<number> {
  const response = await fetch(`${harness.emulators.urls.openai}/files`, { headers: { authorization: 'Bearer sk-emulator-openai' } });
  return ((await response.json()) as { data: unknown[] }).data.length;
}

async function uploadedBytes(): Promise<number> {
  const metrics = await (await fetch(`${harness.url}/metrics`)).text();
  return Number(/^unifile_uploaded_bytes_total (\d+)/m.exec(metrics)?.[1] ?? 0);
}

/** Polls a condition (never a fixed sleep): resolves once it holds. */
async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Stalled {
  socket: Socket;
  answer: Promise<{ status: number; body: string }>;
  /** Stops the byte sent now and then (`keepAlive`): from here the upload is idle. */
  stall: () => void;
}

/** A byte of file data sent this often keeps a stalled upload well inside its idle time. */
const KEEP_ALIVE_MS = (IDLE_SECONDS * 1000) / 6;

/** Opens a real socket, sends the head of a multipart upload and `stallAfter` file bytes, then nothing. */
async function stalledUpload(options: { key: string; fieldsFirst: boolean; path?: string; extraFields?: string; keepAlive?: boolean }): Promise<Stalled> {
  const boundary = 'stallBoundary';
  const socket = connect(Number(new URL(harness.url).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const answer = new Promise<{ status: number; body: string }>((resolve) => {
    socket.once('close', () => {
      const text = Buffer.concat(received).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
  socket.on('error', () => undefined);
  const purpose = `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n${options.extraFields ?? ''}`;
  const fileHead = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="stall.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const chunk = Buffer.from(options.fieldsFirst ? `${purpose}${fileHead}0123456789` : `${fileHead}0123456789`);
  socket.write(
    `POST ${options.path ?? '/openai/v1/files'} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${options.key}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n`,
  );
  socket.write(chunk);
  socket.write('\r\n');
  const keepAlive = options.keepAlive ? setInterval(() => socket.write('1\r\nx\r\n'), KEEP_ALIVE_MS) : undefined;
  socket.once('close', () => clearInterval(keepAlive));
  return { socket, answer, stall: () => clearInterval(keepAlive) };
}

test('128 stalled uploads do not block another tenant; the stalled ones get 408 and leave nothing upstream', async () => {
  const tenants = await Promise.all(Array.from({ length: TENANTS }, () => harness.newUser()));
  const other = await harness.newUser();
  const otherClient = harness.client(other.key, { defaultHeaders: { 'custom-llm-provider': 'openai' } });
  const own = await otherClient.files.create({ file: await toFile(Buffer.from('the other tenant'), 'own.txt'), purpose: 'user_data' });
  const baseline = await storedFiles();
  const bytesBefore = await uploadedBytes();

  const stalled: Stalled[] = [];
  // Fields-first uploads stream upstream at once and hold an upstream connection each (128, as
  // many as the pool of short calls); a ninth tenant's file-first uploads stall in the spool.
  for (const tenant of tenants) {
    for (let index = 0; index < PER_TENANT; index += 1) stalled.push(await stalledUpload({ key: tenant.key, fieldsFirst: true, keepAlive: true }));
  }
  const spooling = await harness.newUser();
  for (let index = 0; index < 8; index += 1) stalled.push(await stalledUpload({ key: spooling.key, fieldsFirst: false, keepAlive: true }));
  let answered = 0;
  for (const item of stalled) void item.answer.then(() => (answered += 1));
  // Every stalled upload's first bytes have been taken in: the fields-first ones are upstream now.
  await until(async () => (await uploadedBytes()) - bytesBefore >= stalled.length * 10, 'the stalled uploads to start');

  // A tenant past its cap is refused at once.
  const refused = await stalledUpload({ key: tenants[0]!.key, fieldsFirst: true });
  const refusal = await refused.answer;
  assert.equal(refusal.status, 429);
  assert.equal(JSON.parse(refusal.body).error.code, 'too_many_concurrent_uploads');

  // Another tenant's calls all complete while the 128 uploads are still stalled.
  const retrieved = await otherClient.files.retrieve(own.id);
  assert.equal(retrieved.id, own.id);
  assert.equal(await (await otherClient.files.content(own.id)).text(), 'the other tenant');
  const listed = await harness.client(MASTER_KEY, { defaultHeaders: { 'custom-llm-provider': 'openai' } }).files.list();
  assert.ok(listed.data.some((file) => file.id === own.id));
  const chat = await harness.client(other.key).chat.completions.create({ model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(chat.choices[0]!.message.content);
  const quick = await otherClient.files.create({ file: await toFile(Buffer.from('quick'), 'quick.txt'), purpose: 'user_data' });
  assert.equal(answered, 0, 'the other tenant was answered while every stalled upload was still waiting');

  // Now they stall for good: each is cut once it has sent nothing for the idle time.
  for (const item of stalled) item.stall();
  const answers = await Promise.all(stalled.map((item) => item.answer));
  for (const answer of answers) {
    assert.equal(answer.status, 408, answer.body);
    const error = JSON.parse(answer.body) as { error: { code: string; message: string } };
    assert.equal(error.error.code, 'request_timeout');
  }
  await otherClient.files.delete(quick.id);
  await until(async () => harness.runtime.uploadSlots.total === 0, 'upload slots to be released');
  assert.equal(await storedFiles(), baseline, 'no stalled upload left a file upstream');
  assert.deepEqual(await readdir(harness.runtime.spoolDirectory).catch(() => []), [], 'no spool left behind');
});

test('a stalled managed upload and a stalled JSON body are cut with 408 in the envelope', async () => {
  const managed = await stalledUpload({ key: MASTER_KEY, fieldsFirst: false, path: '/v1/files' });
  const json = connect(Number(new URL(harness.url).port), '127.0.0.1');
  await new Promise((resolve) => json.once('connect', resolve));
  const received: Buffer[] = [];
  json.on('data', (chunk: Buffer) => received.push(chunk));
  const closed = new Promise((resolve) => json.once('close', resolve));
  json.write(
    `POST /key/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"models":`,
  );
  await closed;
  const text = Buffer.concat(received).toString('utf8');
  assert.match(text, /^HTTP\/1\.1 408/);
  assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error.code, 'request_timeout');
  const answer = await managed.answer;
  assert.equal(answer.status, 408, answer.body);
  assert.equal(JSON.parse(answer.body).error.type, 'invalid_request_error');
});
