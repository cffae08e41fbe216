/**
 * Batches that really run (docs/wire-formats.md §1.10, §2.4) for the OpenAI and Azure emulators: the
 * input JSONL is read line by line, each line answered like the chat route, and the answers
 * written to an output file (2xx) and an error file (others), both `batch_output` files of the
 * same store. Statuses move validating → in_progress → finalizing → completed on a short clock
 * (`stepMs`, `linesPerStep` lines per step), so a cancel part-way leaves partial output.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { answerChatBody, type OpenAIChatRoute } from './chat-openai.ts';
import type { FilesStore } from './files-api-common.ts';
import { randomBase62 } from './files-api-common.ts';
import type { BatchTimestamps } from '../core/batch-types.ts';
import { checkBatchLine, type LineProblem } from './batch-lines.ts';

/** A batch as OpenAI answers it (the lifecycle timestamps are OpenAI's, shared with the gateway's types). */
export interface EmulatedBatch extends BatchTimestamps {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: LineProblem[] } | null;
  input_file_id: string;
  completion_window: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
  /** Creation order, for stable lists. */
  seq: number;
}

export interface BatchEngineOptions {
  provider: OpenAIChatRoute['provider'];
  store: FilesStore;
  /** Where output files are written before the store adopts them. */
  tempDir: string;
  /** Milliseconds between state steps; default 20. */
  stepMs: number;
  /** Input lines answered per step; default 250. */
  linesPerStep: number;
  models: readonly string[] | undefined;
  newId: () => string;
  newFileId: () => string;
}

const now = (): number => Math.floor(Date.now() / 1000);
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export class BatchEngine {
  readonly batches = new Map<string, EmulatedBatch>();
  #seq = 0;
  #closed = false;
  constructor(private readonly options: BatchEngineOptions) {
    this.options = { ...options };
  }

  /** Changes the clock of batches from now on (tests slow it down to cancel part-way). */
  setClock(clock: { stepMs?: number; linesPerStep?: number }): void {
    if (clock.stepMs !== undefined) this.options.stepMs = clock.stepMs;
    if (clock.linesPerStep !== undefined) this.options.linesPerStep = clock.linesPerStep;
  }

  create(input: { inputFileId: string; endpoint: string; completionWindow: string; metadata: Record<string, string> | null }): EmulatedBatch {
    const created = now();
    this.#seq += 1;
    const batch: EmulatedBatch = {
      id: this.options.newId(),
      object: 'batch',
      endpoint: input.endpoint,
      errors: null,
      input_file_id: input.inputFileId,
      completion_window: input.completionWindow,
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: created,
      in_progress_at: null,
      expires_at: created + 24 * 3600,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: input.metadata,
      seq: this.#seq,
    };
    this.batches.set(batch.id, batch);
    void this.run(batch).catch((error: unknown) => this.fail(batch, [{ code: 'server_error', message: String(error), param: null, line: null }]));
    return batch;
  }

  /** Moves a running batch to cancelling; the runner stops after the current step. */
  cancel(batch: EmulatedBatch): void {
    if (['validating', 'in_progress', 'finalizing'].includes(batch.status)) {
      batch.status = 'cancelling';
      batch.cancelling_at = now();
    }
  }

  close(): void {
    this.#closed = true;
    this.batches.clear();
  }

  private fail(batch: EmulatedBatch, problems: LineProblem[]): void {
    batch.status = 'failed';
    batch.failed_at = now();
    batch.errors = { object: 'list', data: problems };
  }

  private stopped(batch: EmulatedBatch): boolean {
    return this.#closed || batch.status === 'cancelling';
  }

  private async run(batch: EmulatedBatch): Promise<void> {
    await wait(this.options.stepMs);
    if (batch.status === 'failed' || this.#closed) return; // refused at create (Azure window)
    const input = this.options.store.get(batch.input_file_id);
    if (!input) return this.fail(batch, [{ code: 'invalid_file', message: 'The input file no longer exists.', param: 'input_file_id', line: null }]);
    // Validation reads the whole input first, as OpenAI does before in_progress.
    const problems = await this.validate(input.path, batch.endpoint);
    if (problems.length > 0) return this.fail(batch, problems);
    if (this.stopped(batch)) return this.finishCancel(batch, undefined);
    batch.status = 'in_progress';
    batch.in_progress_at = now();
    const writer = new OutputWriters(this.options.tempDir, batch.id);
    const lines = createInterface({ input: createReadStream(input.path), crlfDelay: Infinity });
    let inStep = 0;
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const request = JSON.parse(line) as { custom_id: string; body: unknown };
      const answer = answerChatBody(request.body, { provider: this.options.provider, lookupFile: (id) => this.lookup(id), ...(this.options.models ? { models: this.options.models } : {}) });
      const record = {
        id: `batch_req_${randomBase62(24)}`,
        custom_id: request.custom_id,
        response: { status_code: answer.status, request_id: randomBase62(32), body: answer.body },
        error: null,
      };
      await writer.write(answer.status === 200 ? 'output' : 'error', `${JSON.stringify(record)}\n`);
      batch.request_counts.total += 1;
      if (answer.status === 200) batch.request_counts.completed += 1;
      else batch.request_counts.failed += 1;
      inStep += 1;
      if (inStep >= this.options.linesPerStep) {
        inStep = 0;
        await wait(this.options.stepMs);
        if (this.stopped(batch)) {
          lines.close();
          return this.finishCancel(batch, writer);
        }
      }
    }
    batch.status = 'finalizing';
    batch.finalizing_at = now();
    await wait(this.options.stepMs);
    if (this.stopped(batch)) return this.finishCancel(batch, writer);
    await this.attachOutputs(batch, writer);
    batch.status = 'completed';
    batch.completed_at = now();
  }

  private async finishCancel(batch: EmulatedBatch, writer: OutputWriters | undefined): Promise<void> {
    if (this.#closed) return void (await writer?.discard());
    await wait(this.options.stepMs);
    if (writer) await this.attachOutputs(batch, writer);
    batch.status = 'cancelled';
    batch.cancelled_at = now();
  }

  private async attachOutputs(batch: EmulatedBatch, writer: OutputWriters): Promise<void> {
    const files = await writer.finish();
    for (const [kind, file] of Object.entries(files)) {
      if (!file) continue;
      const created = now();
      const stored = await this.options.store.adopt({
        id: this.options.newFileId(),
        tempPath: file.path,
        bytes: file.bytes,
        sha256: file.sha256,
        meta: { filename: `${batch.id}_${kind}.jsonl`, purpose: 'batch_output', createdAt: created, expiresAt: null, contentType: 'application/jsonl', retrieves: 1_000_000 },
      });
      if (kind === 'output') batch.output_file_id = stored.id;
      else batch.error_file_id = stored.id;
    }
  }

  private lookup(id: string): { filename: string; bytes: number } | undefined {
    const file = this.options.store.get(id);
    return file ? { filename: file.meta.filename, bytes: file.bytes } : undefined;
  }

  /** Every problem of the input, each naming its 1-based line (at most 100, like OpenAI's list). */
  private async validate(path: string, endpoint: string): Promise<LineProblem[]> {
    const problems: LineProblem[] = [];
    const seen = new Set<string>();
    let number = 0;
    const models = new Set<string>();
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      number += 1;
      if (line.trim() === '') continue;
      const problem = checkBatchLine(line, number, { endpoint, seen, provider: this.options.provider, models });
      if (problem && problems.length < 100) problems.push(problem);
    }
    if (number === 0) problems.push({ code: 'empty_file', message: 'The batch input file is empty.', param: null, line: null });
    return problems;
  }
}

interface WrittenFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** Appends answer lines to the output and error temp files, created on first use. */
interface OpenFile {
  handle: Awaited<ReturnType<typeof open>>;
  path: string;
  bytes: number;
  hash: ReturnType<typeof createHash>;
}

class OutputWriters {
  #files: Partial<Record<'output' | 'error', OpenFile>> = {};
  constructor(private readonly dir: string, private readonly batchId: string) {}

  async write(kind: 'output' | 'error', text: string): Promise<void> {
    let file = this.#files[kind];
    if (!file) {
      const path = join(this.dir, `out-${this.batchId}-${kind}-${randomBase62(8)}`);
      file = { handle: await open(path, 'w'), path, bytes: 0, hash: createHash('sha256') };
      this.#files[kind] = file;
    }
    const buffer = Buffer.from(text);
    await file.handle.write(buffer);
    file.bytes += buffer.length;
    file.hash.update(buffer);
  }

  async finish(): Promise<Partial<Record<'output' | 'error', WrittenFile>>> {
    const result: Partial<Record<'output' | 'error', WrittenFile>> = {};
    for (const [kind, file] of Object.entries(this.#files) as Array<['output' | 'error', OpenFile]>) {
      await file.handle.close();
      result[kind] = { path: file.path, bytes: file.bytes, sha256: file.hash.digest('hex') };
    }
    return result;
  }

  async discard(): Promise<void> {
    for (const file of Object.values(this.#files)) await file?.handle.close();
  }
}
