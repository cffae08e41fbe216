/**
 * Vertex AI batch prediction jobs on the Google emulator (docs/wire-formats.md §3.5):
 *   POST {v}/projects/{p}/locations/{l}/batchPredictionJobs          create (JOB_STATE_PENDING)
 *   GET  {v}/projects/{p}/locations/{l}/batchPredictionJobs[/{id}]   list / get
 *   POST {v}/projects/{p}/locations/{l}/batchPredictionJobs/{id}:cancel → {}
 * A job moves PENDING → QUEUED → RUNNING → SUCCEEDED one `stepMs` apart, judged when it is read;
 * while RUNNING its `completionStats.successfulCount` grows with the time spent running. On
 * reaching SUCCEEDED it reads its GCS input, answers each `{"request": …}` line like the
 * generateContent emulator (a bad request gets a non-empty `status`) and writes
 * `{outputUriPrefix}/prediction-model-{ts}/predictions.jsonl` out of order (a bounded shuffle
 * window, so a large job streams). A missing input, or a scripted failure (`failure`), makes it
 * FAILED. Cancel makes it CANCELLING, then CANCELLED a step later; a job cancelled while RUNNING
 * keeps the predictions of the lines it had reached (partial output), like Vertex. List pages
 * with `pageSize` (default 100, at most 1000) and `pageToken`/`nextPageToken`.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { echoAnswer } from './chat-echo.ts';
import { candidate, googleError, usage } from './chat-gemini.ts';
import { parseGeminiRequest, type GcsLookup } from './chat-gemini-validate.ts';
import { EmulatorBodyError, type EmulatorExchange } from './emulator-exchange.ts';
import { HashingFile, type GcsObjects } from './google-gcs-store.ts';
import type { GoogleOAuth } from './google-oauth.ts';

type Json = Record<string, unknown>;

export interface BatchJobsRoute {
  oauth: GoogleOAuth;
  objects: GcsObjects;
  lookupObject: GcsLookup;
  tempDir: string;
  /** Time between states, in milliseconds. */
  stepMs: number;
  jobs: Map<string, EmulatedJob>;
  /** When set, jobs that would succeed fail with this message instead (a scripted failure). */
  failure?: string | undefined;
}

export interface EmulatedJob {
  resource: Json;
  createdMs: number;
  cancelledMs?: number;
  /** Lines answered before the cancel (a fraction of the input, by time spent RUNNING). */
  cancelledLines?: number;
  /** Input line count, once read. */
  lineCount?: number;
  /** The model segment, e.g. gemini-2.5-flash. */
  model: string;
  finishing?: Promise<void>;
}

const PATH = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/batchPredictionJobs(?:\/([^/:]+))?(:cancel)?$/;
const STATES = ['JOB_STATE_PENDING', 'JOB_STATE_QUEUED', 'JOB_STATE_RUNNING'] as const;
const TERMINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);

export async function handleBatchJobs(exchange: EmulatorExchange, route: BatchJobsRoute): Promise<boolean> {
  const match = PATH.exec(exchange.path);
  if (!match) return false;
  const [, , project, location, id, cancel] = match;
  if (route.oauth.checkBearer(exchange.headers.authorization) !== 'ok') {
    await exchange.sendJson(401, googleError(401, 'Request had invalid authentication credentials.'));
    return true;
  }
  const parent = `projects/${project}/locations/${location}`;
  if (!id && exchange.method === 'POST') {
    await create(exchange, route, parent);
    return true;
  }
  if (!id && exchange.method === 'GET') {
    await list(exchange, route, parent);
    return true;
  }
  const job = id ? route.jobs.get(`${parent}/batchPredictionJobs/${id}`) : undefined;
  if (!job) {
    await exchange.sendJson(404, googleError(404, `The BatchPredictionJob does not exist.`));
    return true;
  }
  if (cancel && exchange.method === 'POST') {
    await advance(job, route);
    if (!TERMINAL.has(String(job.resource.state)) && job.cancelledMs === undefined) {
      job.cancelledMs = Date.now();
      job.cancelledLines = job.resource.state === 'JOB_STATE_RUNNING' ? await linesReached(job, route) : 0;
      job.resource.state = 'JOB_STATE_CANCELLING';
      job.resource.updateTime = new Date().toISOString();
    }
    await exchange.sendJson(200, {});
    return true;
  }
  if (!cancel && exchange.method === 'GET') {
    await advance(job, route);
    await exchange.sendJson(200, job.resource);
    return true;
  }
  await exchange.sendJson(400, googleError(400, `Method ${exchange.method} is not supported here.`));
  return true;
}

/** Newest first, `pageSize` per page (default 100, at most 1000); the token is an offset. */
async function list(exchange: EmulatorExchange, route: BatchJobsRoute, parent: string): Promise<void> {
  const size = Number(exchange.query.get('pageSize') ?? 100);
  const offset = Number(exchange.query.get('pageToken') || 0);
  if (!Number.isInteger(size) || size < 0 || !Number.isInteger(offset) || offset < 0) {
    return exchange.sendJson(400, googleError(400, 'Invalid pageSize or pageToken.'));
  }
  const jobs = [...route.jobs.values()].filter((job) => String(job.resource.name).startsWith(`${parent}/`)).reverse();
  const page = jobs.slice(offset, offset + Math.min(size || 100, 1000));
  for (const job of page) await advance(job, route);
  const next = offset + page.length;
  await exchange.sendJson(200, { batchPredictionJobs: page.map((job) => job.resource), ...(next < jobs.length ? { nextPageToken: String(next) } : {}) });
}

async function create(exchange: EmulatorExchange, route: BatchJobsRoute, parent: string): Promise<void> {
  let body: Json;
  try {
    body = (await exchange.readJson()) as Json;
  } catch (error) {
    if (!(error instanceof EmulatorBodyError)) throw error;
    return exchange.sendJson(400, googleError(400, `Invalid JSON payload received. ${error.message}`));
  }
  const uris = ((body?.inputConfig as Json | undefined)?.gcsSource as Json | undefined)?.uris;
  const prefix = ((body?.outputConfig as Json | undefined)?.gcsDestination as Json | undefined)?.outputUriPrefix;
  const model = typeof body?.model === 'string' ? /(?:^|\/)models\/([^/]+)$/.exec(body.model)?.[1] : undefined;
  if (!Array.isArray(uris) || uris.length === 0 || typeof prefix !== 'string' || !prefix.startsWith('gs://') || !model) {
    return exchange.sendJson(400, googleError(400, 'inputConfig.gcsSource.uris, outputConfig.gcsDestination.outputUriPrefix and model are required.'));
  }
  const id = String(randomInt(1, 2 ** 47));
  const now = new Date().toISOString();
  const resource: Json = {
    name: `${parent}/batchPredictionJobs/${id}`,
    displayName: body.displayName ?? `job_${id}`,
    model: body.model,
    inputConfig: body.inputConfig,
    outputConfig: body.outputConfig,
    state: 'JOB_STATE_PENDING',
    createTime: now,
    updateTime: now,
    ...(body.labels ? { labels: body.labels } : {}),
  };
  route.jobs.set(String(resource.name), { resource, createdMs: Date.now(), model });
  await exchange.sendJson(200, resource);
}

/** Brings the job's state up to the clock. */
async function advance(job: EmulatedJob, route: BatchJobsRoute): Promise<void> {
  const resource = job.resource;
  if (TERMINAL.has(String(resource.state))) return;
  const now = Date.now();
  if (job.cancelledMs !== undefined) {
    if (now - job.cancelledMs >= route.stepMs) {
      job.finishing ??= finish(job, route, job.cancelledLines ?? 0);
      await job.finishing;
    }
    return;
  }
  const step = Math.floor((now - job.createdMs) / Math.max(1, route.stepMs));
  if (step < STATES.length) {
    if (resource.state !== STATES[step]) {
      resource.state = STATES[step];
      resource.updateTime = new Date().toISOString();
      if (step === 2) resource.startTime = resource.updateTime;
    }
    if (step === 2) resource.completionStats = { successfulCount: String(await linesReached(job, route)), failedCount: '0', incompleteCount: '0' };
    return;
  }
  job.finishing ??= finish(job, route);
  await job.finishing;
}

/** How many input lines a RUNNING job has reached: its share of the input by time spent running. */
async function linesReached(job: EmulatedJob, route: BatchJobsRoute): Promise<number> {
  job.lineCount ??= await countLines(job, route);
  const running = Date.now() - job.createdMs - 2 * Math.max(1, route.stepMs);
  const share = Math.min(1, Math.max(0, running / Math.max(1, route.stepMs)));
  return Math.max(0, Math.min(job.lineCount - 1, Math.floor(job.lineCount * share)));
}

function parseUri(uri: string): { bucket: string; name: string } | undefined {
  const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match ? { bucket: match[1]!, name: match[2]! } : undefined;
}

async function* inputLines(job: EmulatedJob, route: BatchJobsRoute): AsyncGenerator<string> {
  const uris = ((job.resource.inputConfig as Json).gcsSource as Json).uris as string[];
  for (const uri of uris) {
    const where = parseUri(uri);
    const blob = where ? route.objects.get(where.bucket, where.name) : undefined;
    if (!blob) throw new Error(`Input ${uri} does not exist.`);
    for await (const line of createInterface({ input: createReadStream(blob.path), crlfDelay: Infinity })) if (line.trim() !== '') yield line;
  }
}

async function countLines(job: EmulatedJob, route: BatchJobsRoute): Promise<number> {
  let count = 0;
  try {
    for await (const _line of inputLines(job, route)) count += 1;
  } catch {
    return 0;
  }
  return count;
}

/** Lines held back to shuffle the output: out of order, yet streaming with bounded memory. */
const SHUFFLE_WINDOW = 512;

/**
 * Answers the input (only its first `limit` lines for a cancelled job) into a shuffled
 * predictions.jsonl and ends the job SUCCEEDED, CANCELLED or FAILED.
 */
async function finish(job: EmulatedJob, route: BatchJobsRoute, limit?: number): Promise<void> {
  const resource = job.resource;
  const cancelled = limit !== undefined;
  const end = (state: string): void => {
    resource.state = state;
    resource.endTime = resource.updateTime = new Date().toISOString();
  };
  if (!cancelled && route.failure !== undefined) {
    resource.error = { code: 13, message: route.failure };
    return end('JOB_STATE_FAILED');
  }
  const prefix = parseUri(String(((resource.outputConfig as Json).gcsDestination as Json).outputUriPrefix).replace(/\/+$/, '') + '/x')!;
  const directory = `${prefix.name.slice(0, -2)}/prediction-model-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const file = new HashingFile(join(route.tempDir, `batch-output-${randomUUID()}`));
  await file.open();
  const window: string[] = [];
  let ok = 0;
  let failed = 0;
  let total = 0;
  try {
    for await (const line of inputLines(job, route)) {
      total += 1;
      if (cancelled && total > limit) continue;
      const answer = answerLine(line, job.model, route.lookupObject);
      if (answer.ok) ok += 1;
      else failed += 1;
      // Output order is not input order (docs/wire-formats.md §3.5): a random held line goes out.
      window.push(answer.line);
      if (window.length >= SHUFFLE_WINDOW) await file.write(Buffer.from(`${takeRandom(window)}\n`));
    }
    while (window.length > 0) await file.write(Buffer.from(`${takeRandom(window)}\n`));
  } catch (error) {
    await file.close();
    await rm(file.path, { force: true });
    resource.error = { code: 3, message: (error as Error).message };
    return end('JOB_STATE_FAILED');
  }
  await file.close();
  if (ok + failed > 0) {
    await route.objects.put({ bucket: prefix.bucket, name: `${directory}/predictions.jsonl`, contentType: 'application/jsonl', file });
    resource.outputInfo = { gcsOutputDirectory: `gs://${prefix.bucket}/${directory}` };
  } else {
    await rm(file.path, { force: true });
  }
  resource.completionStats = { successfulCount: String(ok), failedCount: String(failed), incompleteCount: String(total - ok - failed) };
  end(cancelled ? 'JOB_STATE_CANCELLED' : 'JOB_STATE_SUCCEEDED');
}

function takeRandom(lines: string[]): string {
  const index = randomInt(0, lines.length);
  const line = lines[index]!;
  lines[index] = lines[lines.length - 1]!;
  lines.pop();
  return line;
}

function answerLine(line: string, model: string, lookup: GcsLookup): { ok: boolean; line: string } {
  const processed_time = new Date().toISOString();
  let request: unknown;
  try {
    request = (JSON.parse(line) as Json).request;
  } catch {
    return { ok: false, line: JSON.stringify({ request: line, status: 'Bad Request: the line is not valid JSON.', processed_time }) };
  }
  const parsed = parseGeminiRequest(request, lookup);
  if (!parsed.ok) return { ok: false, line: JSON.stringify({ request, status: `Bad Request: ${parsed.message}`, processed_time }) };
  const answer = echoAnswer({ ...parsed.echo, label: `vertex:${model}` });
  const response = { candidates: answer.choices.map((choice, index) => candidate(choice, index, true)), usageMetadata: usage(answer), modelVersion: model };
  return { ok: true, line: JSON.stringify({ request, status: '', response, processed_time }) };
}
