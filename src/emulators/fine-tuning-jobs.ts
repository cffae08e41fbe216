/**
 * Fine-tuning jobs for the OpenAI and Azure OpenAI emulators (docs/wire-formats.md §1.11):
 * `POST …/fine_tuning/jobs`, `GET …/jobs[?after&limit]`, `GET …/jobs/{id}`, `POST …/{id}/cancel`,
 * `GET …/{id}/events[?after&limit]`, `GET …/{id}/checkpoints[?after&limit]`. A job checks that its files exist here with purpose
 * fine-tune, then moves validating_files → queued → running → succeeded, one stage per `stepMs`
 * after its creation (read lazily, no timers), logging an event per stage. Success stores a
 * metrics CSV as a `fine-tune-results` file, keeps a checkpoint per step (OpenAI keeps those of
 * the last epochs) and names a fine-tuned model, which the emulator's chat accepts from then on
 * (and refuses before).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatorExchange } from './emulator-exchange.ts';
import { EmulatorBodyError } from './emulator-exchange.ts';
import { randomBase62, randomHex, type FilesStore, type Problem, type StoredFile } from './files-api-common.ts';
import { jobBody, pageAfter, pageLimit, type EmulatedEvent, type EmulatedJob } from './fine-tuning-objects.ts';

export interface FineTuningEmulatorOptions {
  flavour: 'openai' | 'azure';
  store: FilesStore;
  tempDir: string;
  /** Milliseconds each stage lasts for jobs created from now on. */
  stepMs: number;
  /** Base models that can be tuned; undefined = any name. */
  models?: readonly string[];
  /** Whether a file may be used yet (Azure: only `processed` files). */
  fileReady?: (file: StoredFile) => boolean;
  newFileId: () => string;
}

type SendProblem = (status: number, problem: Problem) => Promise<void>;

const STAGES = ['validating_files', 'queued', 'running'] as const;
const STAGE_MESSAGES = ['Validating training file', 'Fine-tuning job queued', 'Fine-tuning job started'];
const FT_MODEL = /^ft:|\.ft-[0-9a-f]{32}/;

export class EmulatedFineTuning {
  /** Change to speed up or slow down jobs created afterwards. */
  stepMs: number;
  readonly #options: FineTuningEmulatorOptions;
  readonly #jobs = new Map<string, EmulatedJob>();
  readonly #tuned = new Set<string>();

  constructor(options: FineTuningEmulatorOptions) {
    this.#options = options;
    this.stepMs = options.stepMs;
  }

  clear(): void {
    this.#jobs.clear();
    this.#tuned.clear();
  }

  /** A job's status as the emulator holds it (tests wait on the provider side with it). */
  status(id: string): string | undefined {
    return this.#jobs.get(id)?.status;
  }

  /** Fine-tuned models produced so far. */
  tunedModels(): string[] {
    return [...this.#tuned];
  }

  /** Chat must refuse a fine-tuned-model-shaped name that no finished job produced here. */
  async refusesModel(model: string): Promise<boolean> {
    await this.advance();
    return FT_MODEL.test(model) && !this.#tuned.has(model);
  }

  /** `rest` is the path after `…/fine_tuning/jobs` ('' or '/{id}[/cancel|/events|/checkpoints]'). */
  async handle(exchange: EmulatorExchange, rest: string, sendProblem: SendProblem): Promise<void> {
    await this.advance();
    const { method } = exchange;
    if (rest === '' && method === 'POST') return this.create(exchange, sendProblem);
    if (rest === '' && method === 'GET') return this.list(exchange, sendProblem);
    const match = /^\/([^/]+)(\/cancel|\/events|\/checkpoints)?$/.exec(rest);
    const job = match ? this.#jobs.get(decodeURIComponent(match[1]!)) : undefined;
    const action = match?.[2];
    const allowed = (action === '/cancel' && method === 'POST') || (action !== '/cancel' && method === 'GET');
    if (!match || !allowed) return sendProblem(404, { message: `Invalid URL (${method} ${exchange.path})`, param: null, code: null });
    if (!job) return sendProblem(404, { message: `Could not find fine-tune: ${decodeURIComponent(match[1]!)}`, param: 'fine_tune_id', code: 'fine_tune_not_found' });
    if (action === '/events') return this.events(exchange, job, sendProblem);
    if (action === '/checkpoints') return this.checkpoints(exchange, job, sendProblem);
    if (action === '/cancel') {
      if (job.status === 'succeeded' || job.status === 'failed') {
        return sendProblem(400, { message: `Job has already completed: ${job.id}`, param: null, code: 'invalid_request' });
      }
      if (job.status !== 'cancelled') this.finish(job, 'cancelled', 'Fine-tuning job cancelled');
    }
    await exchange.sendJson(200, jobBody(job));
  }

  private async create(exchange: EmulatorExchange, sendProblem: SendProblem): Promise<void> {
    let body: unknown;
    try {
      body = await exchange.readJson();
    } catch (error) {
      if (!(error instanceof EmulatorBodyError)) throw error;
      return sendProblem(400, { message: 'We could not parse the JSON body of your request.', param: null, code: null });
    }
    const parsed = this.validate(body);
    if ('problem' in parsed) return sendProblem(400, parsed.problem);
    const now = Date.now();
    const flavour = this.#options.flavour;
    const job: EmulatedJob = {
      ...parsed.value,
      id: flavour === 'azure' ? `ftjob-${randomHex(32)}` : `ftjob-${randomBase62(24)}`,
      createdMs: now,
      stepMs: this.stepMs,
      status: 'validating_files',
      finishedAt: null,
      fineTunedModel: null,
      resultFiles: [],
      events: [],
      checkpoints: [],
      error: null,
      trainedTokens: null,
      seq: this.#jobs.size,
    };
    this.event(job, 'Created fine-tuning job');
    this.#jobs.set(job.id, job);
    await exchange.sendJson(200, jobBody(job));
  }

  private validate(body: unknown): { value: Pick<EmulatedJob, 'model' | 'trainingFile' | 'validationFile' | 'suffix' | 'hyperparameters' | 'metadata' | 'invalidReason' | 'trainingBytes'> } | { problem: Problem } {
    const problem = (message: string, param: string | null, code: string | null = null) => ({ problem: { message, param, code } });
    if (!body || typeof body !== 'object' || Array.isArray(body)) return problem('The request body must be a JSON object.', null);
    const input = body as Record<string, unknown>;
    for (const name of ['model', 'training_file']) {
      if (typeof input[name] !== 'string' || input[name] === '') return problem(`Missing required parameter: '${name}'.`, name, 'missing_required_parameter');
    }
    const model = input.model as string;
    if (this.#options.models && !this.#options.models.includes(model)) {
      // Azure names a base model here, never a deployment (Azure OpenAI REST "Fine Tuning - Create").
      if (this.#options.flavour === 'azure') return problem('The specified base model does not support fine-tuning.', 'model', 'invalidPayload');
      return problem(`Model ${model} is not available for fine-tuning or does not exist.`, 'model', 'model_not_available');
    }
    const files: Partial<Record<'training_file' | 'validation_file', StoredFile>> = {};
    for (const name of ['training_file', 'validation_file'] as const) {
      const id = input[name];
      if (id === undefined || id === null) continue;
      if (typeof id !== 'string') return problem(`Invalid type for '${name}': expected a string.`, name, 'invalid_type');
      const file = this.#options.store.get(id);
      if (!file) return problem(`invalid ${name}: ${id}`, name, 'invalid_file');
      if (file.meta.purpose !== 'fine-tune') return problem(`File ${id} has purpose '${file.meta.purpose}'; fine-tuning needs purpose 'fine-tune'.`, name, 'invalid_file_purpose');
      if (this.#options.fileReady && !this.#options.fileReady(file)) {
        return problem(`The file '${id}' is not processed yet. Only files with status 'processed' can be used for fine-tuning.`, name, 'invalidPayload');
      }
      files[name] = file;
    }
    const suffix = input.suffix;
    if (suffix !== undefined && suffix !== null && (typeof suffix !== 'string' || suffix.length > 64)) return problem('suffix must be a string of at most 64 characters.', 'suffix', 'invalid_value');
    const hyperparameters = input.hyperparameters;
    if (hyperparameters !== undefined && (typeof hyperparameters !== 'object' || hyperparameters === null || Array.isArray(hyperparameters))) {
      return problem('hyperparameters must be an object.', 'hyperparameters', 'invalid_type');
    }
    const training = files.training_file!;
    return {
      value: {
        model,
        trainingFile: training.id,
        validationFile: files.validation_file?.id ?? null,
        suffix: typeof suffix === 'string' ? suffix : null,
        hyperparameters: (hyperparameters as Record<string, unknown> | undefined) ?? {},
        metadata: (input.metadata as Record<string, string> | undefined) ?? null,
        invalidReason: trainingProblem(training),
        trainingBytes: training.bytes,
      },
    };
  }

  private list(exchange: EmulatorExchange, sendProblem: SendProblem): Promise<void> {
    const limit = pageLimit(exchange.query.get('limit'));
    if (limit === undefined) return sendProblem(400, { message: 'limit must be an integer between 1 and 100.', param: 'limit', code: 'invalid_value' });
    const newestFirst = [...this.#jobs.values()].sort((a, b) => b.seq - a.seq);
    const page = pageAfter(newestFirst, exchange.query.get('after'), limit);
    return exchange.sendJson(200, { object: 'list', data: page.data.map(jobBody), has_more: page.hasMore });
  }

  private events(exchange: EmulatorExchange, job: EmulatedJob, sendProblem: SendProblem): Promise<void> {
    const limit = pageLimit(exchange.query.get('limit'));
    if (limit === undefined) return sendProblem(400, { message: 'limit must be an integer between 1 and 100.', param: 'limit', code: 'invalid_value' });
    const page = pageAfter([...job.events].reverse(), exchange.query.get('after'), limit);
    return exchange.sendJson(200, { object: 'list', data: page.data, has_more: page.hasMore });
  }

  /** Newest first, with first_id/last_id like OpenAI's ListFineTuningJobCheckpointsResponse. */
  private checkpoints(exchange: EmulatorExchange, job: EmulatedJob, sendProblem: SendProblem): Promise<void> {
    const limit = pageLimit(exchange.query.get('limit'), 10);
    if (limit === undefined) return sendProblem(400, { message: 'limit must be an integer between 1 and 100.', param: 'limit', code: 'invalid_value' });
    const page = pageAfter([...job.checkpoints].reverse(), exchange.query.get('after'), limit);
    return exchange.sendJson(200, { object: 'list', data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.hasMore });
  }

  /** Moves every unfinished job to the stage its clock has reached. */
  async advance(): Promise<void> {
    for (const job of this.#jobs.values()) {
      if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled') continue;
      const stage = Math.floor((Date.now() - job.createdMs) / Math.max(job.stepMs, 1));
      for (let index = STAGES.indexOf(job.status as (typeof STAGES)[number]) + 1; index <= Math.min(stage, STAGES.length); index += 1) {
        if (index === 1 && job.invalidReason) {
          job.error = { code: 'invalid_training_file', message: job.invalidReason, param: 'training_file' };
          this.finish(job, 'failed', `Training file validation failed: ${job.invalidReason}`);
          break;
        }
        if (index === STAGES.length) {
          await this.succeed(job);
          break;
        }
        job.status = STAGES[index]!;
        this.event(job, STAGE_MESSAGES[index]!);
      }
    }
  }

  private async succeed(job: EmulatedJob): Promise<void> {
    const tag = job.suffix ? `-${job.suffix}` : '';
    job.fineTunedModel =
      this.#options.flavour === 'azure' ? `${job.model}.ft-${randomHex(32)}${tag}` : `ft:${job.model}:emulator-org:${job.suffix ?? ''}:${randomBase62(8)}`;
    job.trainedTokens = Math.max(1, Math.round(job.trainingBytes / 4));
    const csv = ['step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy', '1,1.9,0.41,2.0,0.40', '2,1.2,0.58,1.3,0.55', '3,0.7,0.77,0.9,0.71', ''].join('\n');
    const id = this.#options.newFileId();
    const tempPath = join(this.#options.tempDir, `result-${id}`);
    writeFileSync(tempPath, csv);
    await this.#options.store.adopt({
      id,
      tempPath,
      bytes: Buffer.byteLength(csv),
      sha256: createHash('sha256').update(csv).digest('hex'),
      // Results are ready at once: a huge retrieve count reads as processed on Azure too.
      meta: { filename: 'step_metrics.csv', purpose: 'fine-tune-results', createdAt: Math.floor(Date.now() / 1000), expiresAt: null, contentType: 'text/csv', retrieves: Number.MAX_SAFE_INTEGER },
    });
    job.resultFiles = [id];
    const losses = [1.9, 1.2, 0.7];
    job.checkpoints = losses.map((loss, index) => ({
      object: 'fine_tuning.job.checkpoint',
      id: `ftckpt_${randomBase62(24)}`,
      created_at: Math.floor(Date.now() / 1000),
      fine_tuned_model_checkpoint: `${job.fineTunedModel}:ckpt-step-${index + 1}`,
      fine_tuning_job_id: job.id,
      step_number: index + 1,
      metrics: { step: index + 1, train_loss: loss, train_mean_token_accuracy: 0.4 + index * 0.18, valid_loss: loss + 0.1, valid_mean_token_accuracy: 0.4 + index * 0.15 },
    }));
    this.#tuned.add(job.fineTunedModel);
    this.event(job, 'New fine-tuned model created');
    this.finish(job, 'succeeded', 'The job has successfully completed');
  }

  private finish(job: EmulatedJob, status: 'succeeded' | 'failed' | 'cancelled', message: string): void {
    job.status = status;
    job.finishedAt = Math.floor(Date.now() / 1000);
    this.event(job, message, status === 'failed' ? 'error' : 'info');
  }

  private event(job: EmulatedJob, message: string, level: EmulatedEvent['level'] = 'info'): void {
    job.events.push({ object: 'fine_tuning.job.event', id: `ftevent-${randomBase62(24)}`, created_at: Math.floor(Date.now() / 1000), level, message, data: {}, type: 'message' });
  }
}

/** Why a training file is not chat fine-tuning JSONL (each line `{"messages":[…]}`), if it is not. */
function trainingProblem(file: StoredFile): string | undefined {
  const lines = readFileSync(file.path, 'utf8').split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return 'the file is empty';
  for (const [index, line] of lines.entries()) {
    try {
      const value = JSON.parse(line) as { messages?: unknown };
      if (!Array.isArray(value?.messages)) return `line ${index + 1} has no messages array`;
    } catch {
      return `line ${index + 1} is not JSON`;
    }
  }
  return undefined;
}
