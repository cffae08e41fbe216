/**
 * The Google emulator's Vertex batchPredictionJobs over real HTTP (docs/wire-formats.md §3.5): list
 * paging with pageSize/pageToken, progress while RUNNING, a cancel while RUNNING that keeps the
 * predictions reached so far, out-of-order output, and a scripted failure.
 */
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';

const BUCKET = 'jobs-bucket';
const PARENT = '/v1/projects/p1/locations/us-central1/batchPredictionJobs';
let emulator: GoogleEmulator;
let token: string;

before(async () => {
  emulator = await startGoogleEmulator({ batchStepMs: 20 });
  const account = emulator.createServiceAccount({ projectId: 'p1' });
  const iat = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'RS256', typ: 'JWT', kid: account.private_key_id })}.${encode({ iss: account.client_email, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: account.token_uri, iat, exp: iat + 3600 })}`;
  const jwt = `${signingInput}.${sign('sha256', Buffer.from(signingInput), account.private_key).toString('base64url')}`;
  const response = await request(emulator.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }).toString() });
  token = ((await response.body.json()) as { access_token: string }).access_token;
});
after(async () => {
  await emulator.close();
});

async function call(path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<{ status: number; body: Record<string, any> }> {
  const response = await request(`${emulator.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, any> };
}

async function inputOf(lines: number, name: string): Promise<string> {
  const text = Array.from({ length: lines }, (_, row) => JSON.stringify({ request: { contents: [{ role: 'user', parts: [{ text: `q${row}` }] }], labels: { row: String(row) } } })).join('\n');
  const response = await request(`${emulator.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=${encodeURIComponent(name)}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/jsonl' }, body: text });
  assert.equal(response.statusCode, 200);
  await response.body.dump();
  return `gs://${BUCKET}/${name}`;
}

const createJob = async (input: string, out: string) =>
  (await call(PARENT, { method: 'POST', body: { model: 'publishers/google/models/gemini-2.5-flash', inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: [input] } }, outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: `gs://${BUCKET}/${out}` } } } })).body;

async function settle(name: string, states: string[]): Promise<Record<string, any>> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const job = (await call(`/v1/${name}`)).body;
    if (states.includes(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${name} never reached ${states.join('/')}`);
}

async function predictions(job: Record<string, any>): Promise<Array<Record<string, any>>> {
  const directory = String(job.outputInfo.gcsOutputDirectory).slice(`gs://${BUCKET}/`.length);
  const text = (await emulator.readObject(BUCKET, `${directory}/predictions.jsonl`))!.toString('utf8');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

test('list pages newest first with pageSize and pageToken, like Vertex', async () => {
  const input = await inputOf(2, 'list/input.jsonl');
  const names: string[] = [];
  for (let index = 0; index < 5; index++) names.push((await createJob(input, `list/out${index}`)).name);
  const first = (await call(`${PARENT}?pageSize=2`)).body;
  assert.deepEqual(first.batchPredictionJobs.map((job: { name: string }) => job.name), [names[4], names[3]]);
  assert.equal(typeof first.nextPageToken, 'string');
  const second = (await call(`${PARENT}?pageSize=2&pageToken=${first.nextPageToken}`)).body;
  assert.deepEqual(second.batchPredictionJobs.map((job: { name: string }) => job.name), [names[2], names[1]]);
  const last = (await call(`${PARENT}?pageSize=2&pageToken=${second.nextPageToken}`)).body;
  assert.deepEqual(last.batchPredictionJobs.map((job: { name: string }) => job.name), [names[0]]);
  assert.equal(last.nextPageToken, undefined, 'no token after the last page');
  assert.equal((await call(`${PARENT}?pageSize=-1`)).status, 400);
});

test('a finished job answers every line once, out of order, with the request echoed', async () => {
  const job = await createJob(await inputOf(2000, 'all/input.jsonl'), 'all/out');
  const done = await settle(job.name, ['JOB_STATE_SUCCEEDED']);
  assert.deepEqual(done.completionStats, { successfulCount: '2000', failedCount: '0', incompleteCount: '0' });
  const rows = (await predictions(done)).map((line) => Number(line.request.labels.row));
  assert.deepEqual([...rows].sort((a, b) => a - b), Array.from({ length: 2000 }, (_, row) => row));
  assert.notDeepEqual(rows, Array.from({ length: 2000 }, (_, row) => row), 'out of order');
});

test('cancel while RUNNING keeps the predictions of the lines reached; progress shows while running', async () => {
  emulator.setBatchStepMs(400);
  try {
    const job = await createJob(await inputOf(100, 'cancel/input.jsonl'), 'cancel/out');
    const running = await settle(job.name, ['JOB_STATE_RUNNING']);
    assert.ok(running.startTime);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const progress = (await call(`/v1/${job.name}`)).body;
    const reached = Number(progress.completionStats.successfulCount);
    assert.ok(reached > 0 && reached < 100, `progress ${reached}`);
    assert.equal((await call(`/v1/${job.name}:cancel`, { method: 'POST' })).status, 200);
    assert.equal((await call(`/v1/${job.name}`)).body.state, 'JOB_STATE_CANCELLING');
    const cancelled = await settle(job.name, ['JOB_STATE_CANCELLED']);
    const kept = Number(cancelled.completionStats.successfulCount);
    assert.ok(kept >= reached && kept < 100, `kept ${kept}`);
    assert.equal(Number(cancelled.completionStats.incompleteCount), 100 - kept);
    assert.equal((await predictions(cancelled)).length, kept);
  } finally {
    emulator.setBatchStepMs(20);
  }
});

test('a scripted failure ends jobs FAILED with the message and no output', async () => {
  emulator.setBatchFailure('Internal error while running the job.');
  try {
    const job = await createJob(await inputOf(3, 'fail/input.jsonl'), 'fail/out');
    const failed = await settle(job.name, ['JOB_STATE_FAILED', 'JOB_STATE_SUCCEEDED']);
    assert.equal(failed.state, 'JOB_STATE_FAILED');
    assert.equal(failed.error.message, 'Internal error while running the job.');
    assert.equal(failed.outputInfo, undefined);
  } finally {
    emulator.setBatchFailure(undefined);
  }
  const after = await createJob(await inputOf(3, 'fail/input2.jsonl'), 'fail/out2');
  assert.equal((await settle(after.name, ['JOB_STATE_FAILED', 'JOB_STATE_SUCCEEDED'])).state, 'JOB_STATE_SUCCEEDED');
});
