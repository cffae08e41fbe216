/**
 * Vertex AI batch prediction jobs on the Google emulator (providers.md §3.5):
 *   POST {v}/projects/{p}/locations/{l}/batchPredictionJobs          create (JOB_STATE_PENDING)
 *   GET  {v}/projects/{p}/locations/{l}/batchPredictionJobs[/{id}]   list / get
 *   POST {v}/projects/{p}/locations/{l}/batchPredictionJobs/{id}:cancel → {}
 * A job moves PENDING → QUEUED → RUNNING → SUCCEEDED one `stepMs` apart, judged when it is read.
 * On reaching SUCCEEDED it reads its GCS input, answers each `{"request": …}` line like the
 * generateContent emulator (a bad request gets a non-empty `status`) and writes
 * `{outputUriPrefix}/prediction-model-{ts}/predictions.jsonl` in shuffled order. A missing input
 * makes it FAILED; cancel makes it CANCELLING, then CANCELLED a step later, without output.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
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
}

export interface EmulatedJob {
  resource: Json;
  createdMs: number;
  cancelledMs?: number;
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
    const jobs = [...route.jobs.values()].filter((job) => String(job.resource.name).startsWith(`${parent}/`)).reverse();
    for (const job of jobs) await advance(job, route);
    await exchange.sendJson(200, { batchPredictionJobs: jobs.map((job) => job.resource) });
    return true;
  }
  const job = id ? route.jobs.get(`${parent}/batchPredictionJobs/${id}`) : undefined;
  if (!job) {
    await exchange.sendJson(404, googleError(404, `The BatchPredictionJob does not exist.`));
    return true;
  }
  if (cancel && exchange.method === 'POST') {
    await advance(job, route);
    if (!TERMINAL.has(String(job.resource.state))) {
      job.cancelledMs ??= Date.now();
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
      resource.state = 'JOB_STATE_CANCELLED';
      resource.endTime = resource.updateTime = new Date().toISOString();
      resource.completionStats = { successfulCount: '0', failedCount: '0', incompleteCount: String(await countLines(job, route)) };
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
    return;
  }
  job.finishing ??= finish(job, route);
  await job.finishing;
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

async function finish(job: EmulatedJob, route: BatchJobsRoute): Promise<void> {
  const resource = job.resource;
  const answers: string[] = [];
  let ok = 0;
  let failed = 0;
  try {
    for await (const line of inputLines(job, route)) {
      const answer = answerLine(line, job.model, route.lookupObject);
      if (answer.ok) ok += 1;
      else failed += 1;
      // Output order is not input order (providers.md §3.5): insert at a random place.
      answers.splice(randomInt(0, answers.length + 1), 0, answer.line);
    }
  } catch (error) {
    resource.state = 'JOB_STATE_FAILED';
    resource.error = { code: 3, message: (error as Error).message };
    resource.endTime = resource.updateTime = new Date().toISOString();
    return;
  }
  const prefix = parseUri(String(((resource.outputConfig as Json).gcsDestination as Json).outputUriPrefix).replace(/\/+$/, '') + '/x')!;
  const directory = `${prefix.name.slice(0, -2)}/prediction-model-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const file = new HashingFile(join(route.tempDir, `batch-output-${randomUUID()}`));
  await file.open();
  for (const line of answers) await file.write(Buffer.from(`${line}\n`));
  await file.close();
  await route.objects.put({ bucket: prefix.bucket, name: `${directory}/predictions.jsonl`, contentType: 'application/jsonl', file });
  resource.outputInfo = { gcsOutputDirectory: `gs://${prefix.bucket}/${directory}` };
  resource.completionStats = { successfulCount: String(ok), failedCount: String(failed), incompleteCount: '0' };
  resource.state = 'JOB_STATE_SUCCEEDED';
  resource.endTime = resource.updateTime = new Date().toISOString();
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
