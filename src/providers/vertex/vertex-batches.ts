/**
 * Batches on Vertex AI as batch prediction jobs (README "Batches"; docs/wire-formats.md §3.5; cloud.google.com/
 * vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs). `create` converts the
 * OpenAI JSONL input (a `gs://` object of this deployment) line by line into Vertex input in a
 * fresh folder `…/unifile/batches/{uuid}/` next to the custom_ids in row order (spooled to disk on
 * the way, custom-id-index.ts), then starts the job. Output references are opaque JSON naming the
 * prediction directory and that custom_id list; describeOutput converts the `predictions*.jsonl`
 * shards back once while streaming, outputContent reads the result (vertex-batch-output.ts);
 * once the outputs are recorded the shards go with the other intermediates (`leftovers`).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { BatchStatus } from '../../core/batch-types.ts';
import { errors } from '../../core/errors.ts';
import { defaultSpoolRoot, processSpoolDirectory } from '../../core/spooled-file.ts';
import type { BatchCreateInput, BatchesCapability, BatchOutputDescription, CallContext, ContentStream, ProviderBatch } from '../provider-adapter.ts';
import type { UpstreamClient } from '../shared/upstream-client.ts';
import type { GcsClient } from './gcs-client.ts';
import { GATEWAY_FOLDER, fileIdFor, objectNameFromFileId, type BucketLocation } from './gcs-object-names.ts';
import { uploadMultipart, uploadResumable } from './gcs-uploads.ts';
import { CustomIdSpool } from './custom-id-index.ts';
import { openAIBatchToVertex } from './vertex-batch-convert.ts';
import { VertexBatchOutput, type OutputReference } from './vertex-batch-output.ts';

type Json = Record<string, unknown>;

export interface VertexBatchesOptions {
  instance: string;
  /** Vertex API transport (base `…/v1`), Bearer auth and Google error parsing. */
  client: UpstreamClient;
  gcs: GcsClient;
  location: BucketLocation;
  project: string;
  region: string;
  /** The deployment's publisher model, e.g. gemini-2.5-flash. */
  model: string;
  /**
   * Where custom_ids are spooled while converting: this process's spool directory under
   * general_settings.spool_dir (ProviderSettings.spoolDirectory); default, for adapters built
   * outside a runtime, the same under the default spool root.
   */
  spoolDirectory?: string;
}

const STATE_MAP: Record<string, BatchStatus> = {
  JOB_STATE_PENDING: 'validating',
  JOB_STATE_QUEUED: 'validating',
  JOB_STATE_UNSPECIFIED: 'validating',
  JOB_STATE_RUNNING: 'in_progress',
  JOB_STATE_UPDATING: 'in_progress',
  JOB_STATE_PAUSED: 'in_progress',
  JOB_STATE_SUCCEEDED: 'completed',
  JOB_STATE_PARTIALLY_SUCCEEDED: 'completed',
  JOB_STATE_CANCELLING: 'cancelling',
  JOB_STATE_CANCELLED: 'cancelled',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_EXPIRED: 'expired',
};
const TERMINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_PARTIALLY_SUCCEEDED', 'JOB_STATE_CANCELLED', 'JOB_STATE_FAILED', 'JOB_STATE_EXPIRED']);
const JOB_NAME = /^projects\/[^/]+\/locations\/[^/]+\/batchPredictionJobs\/[A-Za-z0-9_-]+$/;
const CHAT_ENDPOINT = '/v1/chat/completions';
export const INPUT_NAME = 'input.jsonl';
export const IDS_NAME = 'custom-ids.jsonl';
/** The converted input `create` writes, `…/unifile/batches/{uuid}/input.jsonl`: only such a folder is ever cleaned up. */
const INTERMEDIATE_INPUT = new RegExp(`(^|/)${GATEWAY_FOLDER}/batches/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/${INPUT_NAME.replace('.', '\\.')}$`);

export class VertexBatches implements BatchesCapability {
  /** Lines are converted here; managed file ids come through BatchCreateInput.resolveFile. */
  readonly convertsLines = true;
  /** Gemini batch prediction answers generateContent requests: chat completions only. */
  readonly endpoints = [CHAT_ENDPOINT];
  private readonly output: VertexBatchOutput;
  private readonly spoolDirectory: string;

  constructor(private readonly options: VertexBatchesOptions) {
    this.spoolDirectory = options.spoolDirectory ?? processSpoolDirectory(defaultSpoolRoot());
    this.output = new VertexBatchOutput(options.gcs, options.location, this.spoolDirectory);
  }

  async create(input: BatchCreateInput, context: CallContext): Promise<ProviderBatch> {
    if (input.endpoint !== CHAT_ENDPOINT) throw errors.batchEndpointUnsupported('vertex_ai', this.endpoints, input.endpoint);
    const { location, gcs } = this.options;
    const sourceName = objectNameFromFileId(location, input.inputReference);
    if (sourceName === undefined) throw errors.fileNotFound(input.inputReference, { param: 'input_file_id' });
    const head = location.prefix === '' ? '' : `${location.prefix}/`;
    const folder = `${head}${GATEWAY_FOLDER}/batches/${randomUUID()}`;
    const spool = await CustomIdSpool.create(this.spoolDirectory);
    const instance = this.options.instance;
    const resolveFile = input.resolveFile;
    // The converter's strings go straight into the upload's chunk (no stream in between).
    const open = async function* (): AsyncGenerator<string> {
      await spool.restart();
      const source = await gcs.download(location.bucket, sourceName, context);
      yield* openAIBatchToVertex(source.body, { instance, onRow: (_row, id) => spool.append(id), ...(resolveFile ? { resolveFile } : {}) });
    };
    const written: string[] = [];
    try {
      await uploadResumable(gcs, { bucket: location.bucket, name: `${folder}/${INPUT_NAME}`, contentType: 'application/jsonl', metadata: { purpose: 'batch_input' }, body: { open } }, context);
      written.push(`${folder}/${INPUT_NAME}`);
      const requests = spool.count;
      if (requests === 0) throw errors.invalidValue('input_file_id', 'The batch input file has no requests.');
      const idsBytes = await spool.finish();
      await uploadMultipart(gcs, { bucket: location.bucket, name: `${folder}/${IDS_NAME}`, contentType: 'application/jsonl', metadata: { purpose: 'batch_custom_ids' }, body: { open: () => createReadStream(spool.path, { highWaterMark: 256 * 1024 }), bytes: idsBytes } }, context);
      written.push(`${folder}/${IDS_NAME}`);
      const body = {
        displayName: `unifile-${folder.slice(folder.lastIndexOf('/') + 1)}`,
        model: `publishers/google/models/${this.options.model}`,
        inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: [fileIdFor(location.bucket, `${folder}/${INPUT_NAME}`)] } },
        outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: fileIdFor(location.bucket, `${folder}/output`) } },
        // Only a count: custom_ids never go into labels (README "Batches").
        labels: { unifile_requests: String(requests) },
      };
      const job = await this.options.client.json<Json>(
        { operation: 'batches.create', method: 'POST', path: `/projects/${encodeURIComponent(this.options.project)}/locations/${encodeURIComponent(this.options.region)}/batchPredictionJobs`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
        context,
      );
      return this.normalize(job);
    } catch (error) {
      // Nothing half-made stays behind in the bucket.
      await Promise.all(written.map((name) => gcs.delete(location.bucket, name, context).catch(() => undefined)));
      throw error;
    } finally {
      await spool.remove();
    }
  }

  async retrieve(providerBatchId: string, context: CallContext): Promise<ProviderBatch> {
    return this.normalize(await this.get(providerBatchId, context));
  }

  async cancel(providerBatchId: string, context: CallContext): Promise<ProviderBatch> {
    const job = await this.get(providerBatchId, context);
    // Vertex refuses to cancel a finished job: answer its state instead (idempotent cancel).
    if (TERMINAL.has(String(job.state)) || job.state === 'JOB_STATE_CANCELLING') return this.normalize(job);
    const response = await this.options.client.send({ operation: 'batches.cancel', method: 'POST', idempotent: true, path: `/${this.jobPath(providerBatchId)}:cancel` }, context);
    await response.body.dump();
    return this.normalize(await this.get(providerBatchId, context));
  }

  describeOutput(reference: string, context: CallContext): Promise<BatchOutputDescription> {
    return this.output.describe(this.parseReference(reference), context);
  }

  async outputContent(reference: string, context: CallContext): Promise<ContentStream> {
    return { body: Readable.from(this.output.lines(this.parseReference(reference), context)), contentType: 'application/jsonl' };
  }

  deleteOutput(reference: string, context: CallContext): Promise<void> {
    return this.output.delete(this.parseReference(reference), context);
  }

  /**
   * The prediction shards of a job this adapter started (its input folder is ours: `intermediates`),
   * once its outputs are converted into the stored objects: nothing reads them afterwards.
   */
  async leftovers(batch: ProviderBatch, context: CallContext): Promise<string[]> {
    const reference = batch.outputReference ?? batch.errorReference;
    const input = batch.intermediates?.find((uri) => uri.endsWith(`/${INPUT_NAME}`));
    if (!reference || !input) return [];
    const parsed = this.parseReference(reference);
    const folder = input.slice(0, -INPUT_NAME.length);
    return parsed.dir.startsWith(`${folder}output/`) ? this.output.shardIds(parsed, context) : [];
  }

  private async get(providerBatchId: string, context: CallContext): Promise<Json> {
    return this.options.client.json<Json>({ operation: 'batches.retrieve', method: 'GET', path: `/${this.jobPath(providerBatchId)}` }, context);
  }

  private jobPath(providerBatchId: string): string {
    if (!JOB_NAME.test(providerBatchId)) throw errors.batchNotFound(providerBatchId);
    return providerBatchId;
  }

  private parseReference(reference: string): OutputReference {
    try {
      const value = JSON.parse(reference) as OutputReference;
      if (typeof value.dir === 'string' && typeof value.ids === 'string' && (value.keep === 'succeeded' || value.keep === 'failed')) return value;
    } catch {
      // fall through
    }
    throw errors.fileNotFound(reference);
  }

  private normalize(job: Json | undefined): ProviderBatch {
    if (!job || typeof job.name !== 'string' || typeof job.state !== 'string') throw this.options.client.malformed('answered a batch prediction job without a name or state');
    const status = STATE_MAP[job.state];
    if (!status) throw this.options.client.malformed(`answered an unknown job state '${job.state}'`);
    const stats = (job.completionStats ?? {}) as Json;
    const completed = Number(stats.successfulCount ?? 0) || 0;
    const failed = Number(stats.failedCount ?? 0) || 0;
    const incomplete = Number(stats.incompleteCount ?? 0) || 0;
    const labelled = Number((job.labels as Json | undefined)?.unifile_requests);
    const total = Number.isSafeInteger(labelled) && labelled > 0 ? labelled : completed + failed + incomplete;
    const time = (value: unknown): number | null => {
      const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      return Number.isFinite(parsed) ? Math.floor(parsed / 1000) : null;
    };
    const created = time(job.createTime) ?? Math.floor(Date.now() / 1000);
    const end = time(job.endTime);
    const directory = (job.outputInfo as Json | undefined)?.gcsOutputDirectory;
    const inputUri = (((job.inputConfig as Json | undefined)?.gcsSource as Json | undefined)?.uris as string[] | undefined)?.[0];
    const reference = (keep: 'succeeded' | 'failed'): string | null =>
      typeof directory === 'string' && typeof inputUri === 'string' && inputUri.endsWith(`/${INPUT_NAME}`)
        ? JSON.stringify({ dir: directory, ids: `${inputUri.slice(0, -INPUT_NAME.length)}${IDS_NAME}`, model: this.options.model, seed: job.name, keep })
        : null;
    const error = job.error as Json | undefined;
    // The converted input and custom_ids this adapter wrote (create): gone once the outputs are recorded.
    const inputName = typeof inputUri === 'string' ? objectNameFromFileId(this.options.location, inputUri) : undefined;
    const ours = inputName !== undefined && INTERMEDIATE_INPUT.test(inputName);
    const folder = ours ? inputUri!.slice(0, -INPUT_NAME.length) : undefined;
    return {
      ...(folder !== undefined ? { intermediates: [`${folder}${INPUT_NAME}`, `${folder}${IDS_NAME}`] } : {}),
      providerBatchId: job.name,
      status,
      outputReference: completed > 0 ? reference('succeeded') : null,
      errorReference: failed > 0 ? reference('failed') : null,
      requestCounts: { total, completed, failed },
      timestamps: {
        created_at: created,
        in_progress_at: time(job.startTime),
        expires_at: created + 24 * 3600,
        finalizing_at: null,
        completed_at: status === 'completed' ? end : null,
        failed_at: status === 'failed' ? end : null,
        expired_at: status === 'expired' ? end : null,
        cancelling_at: status === 'cancelling' || status === 'cancelled' ? (time(job.updateTime) ?? end) : null,
        cancelled_at: status === 'cancelled' ? end : null,
      },
      errors: status === 'failed' ? { object: 'list', data: [{ code: 'vertex_job_failed', message: typeof error?.message === 'string' ? error.message : 'The Vertex AI batch prediction job failed.', param: null, line: null }] } : null,
      model: this.options.model,
      usage: null,
    };
  }
}
