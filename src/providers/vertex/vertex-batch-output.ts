/**
 * A Vertex batch job's output for the batches capability (README "Batches"). When the gateway records the
 * output (describe), the `predictions*.jsonl` shards under the job's output directory (GCS list,
 * name order) are converted in one streaming pass into OpenAI batch output lines, matched back to
 * their custom_ids through a disk index (custom-id-index.ts), and stored as one object beside the
 * input (`openai-output.jsonl` / `openai-errors.jsonl`), written once (`ifGenerationMatch=0`:
 * of instances converting at once one stores it, the others read its size); its exact length
 * becomes the file's bytes. Reading the output streams that object. Memory stays at a line and
 * an upload chunk whatever the size of the output. Once both kinds are recorded the shards are
 * deleted (`shardIds`, via BatchesCapability.leftovers and batch-refresh.ts).
 */
import type { CallContext } from '../../core/call-context.ts';
import { errors, UpstreamError } from '../../core/errors.ts';
import type { BatchOutputDescription } from '../provider-adapter.ts';
import { CustomIdIndex } from './custom-id-index.ts';
import type { GcsClient } from './gcs-client.ts';
import { fileIdFor, objectNameFromFileId, type BucketLocation } from './gcs-object-names.ts';
import { uploadResumable } from './gcs-uploads.ts';
import { vertexOutputToOpenAI } from './vertex-batch-convert.ts';

export interface OutputReference {
  /** gs:// prediction directory (job.outputInfo.gcsOutputDirectory). */
  dir: string;
  /** gs:// object of the custom_ids, one JSON string per line, in row order. */
  ids: string;
  model: string;
  /** The job name: makes generated ids stable between reads. */
  seed: string;
  keep: 'succeeded' | 'failed';
}

export class VertexBatchOutput {
  /** Conversions in flight, by stored object: concurrent refreshes of one batch convert once per process. */
  private readonly converting = new Map<string, Promise<BatchOutputDescription>>();

  constructor(
    private readonly gcs: GcsClient,
    private readonly location: BucketLocation,
    /** Where the custom_id index's temp files go. */
    private readonly spoolDirectory: string,
  ) {}

  /** Converts the shards once into the stored OpenAI object; answers its exact length. */
  describe(reference: OutputReference, context: CallContext): Promise<BatchOutputDescription> {
    const name = this.convertedName(reference);
    let running = this.converting.get(name);
    if (!running) {
      running = this.store(reference, name, context).finally(() => this.converting.delete(name));
      this.converting.set(name, running);
    }
    return running;
  }

  private async store(reference: OutputReference, name: string, context: CallContext): Promise<BatchOutputDescription> {
    let bytes = 0;
    const converted = (): AsyncGenerator<string> => this.convert(reference, context);
    // The converter's strings (one per shard chunk) go straight into the upload's chunk.
    const open = async function* (): AsyncGenerator<string> {
      bytes = 0;
      for await (const lines of converted()) {
        bytes += Buffer.byteLength(lines);
        yield lines;
      }
    };
    let stored;
    try {
      // Written once: instances converting the same output at once race, one object wins (the
      // bytes are the same), and a read never sees the object replaced under it.
      stored = await uploadResumable(
        this.gcs,
        { bucket: this.location.bucket, name, contentType: 'application/jsonl', metadata: { purpose: 'batch_output' }, body: { open }, ifGenerationMatch: '0' },
        context,
      );
    } catch (error) {
      if (!(error instanceof UpstreamError && error.failure.upstreamStatus === 412)) throw error;
      stored = await this.gcs.getMetadata(this.location.bucket, name, context); // another instance stored it first
    }
    const size = Number(stored.size);
    return { bytes: Number.isSafeInteger(size) ? size : bytes, filename: reference.keep === 'succeeded' ? 'batch_output.jsonl' : 'batch_errors.jsonl' };
  }

  /**
   * The stored OpenAI lines; converted again from the shards if that object is gone (possible
   * only until the batch's intermediates — the custom_ids and the shards — are deleted:
   * batch-refresh.ts).
   */
  async *lines(reference: OutputReference, context: CallContext): AsyncGenerator<Buffer> {
    let response;
    try {
      response = await this.gcs.download(this.location.bucket, this.convertedName(reference), context);
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
      for await (const line of this.convert(reference, context)) yield Buffer.from(line);
      return;
    }
    for await (const chunk of response.body) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
  }

  async delete(reference: OutputReference, context: CallContext): Promise<void> {
    const names = [this.convertedName(reference), ...(await this.shards(reference, context))];
    for (const name of names) {
      await this.gcs.delete(this.location.bucket, name, context).catch((error: unknown) => {
        if ((error as { status?: number }).status !== 404) throw error;
      });
    }
  }

  /** gs:// ids of the prediction shards behind a reference, never one of the stored converted objects. */
  async shardIds(reference: OutputReference, context: CallContext): Promise<string[]> {
    const stored = new Set((['succeeded', 'failed'] as const).map((keep) => this.convertedName({ ...reference, keep })));
    return (await this.shards(reference, context)).filter((name) => !stored.has(name)).map((name) => fileIdFor(this.location.bucket, name));
  }

  /** The shards → OpenAI lines, in the shards' order; custom_ids looked up on disk. */
  private async *convert(reference: OutputReference, context: CallContext): AsyncGenerator<string> {
    const ids = await this.gcs.download(this.location.bucket, this.name(reference.ids), context);
    const index = await CustomIdIndex.load(ids.body, this.spoolDirectory);
    try {
      for (const shard of await this.shards(reference, context)) {
        const response = await this.gcs.download(this.location.bucket, shard, context);
        yield* vertexOutputToOpenAI(response.body, { customId: (row) => index.get(row), model: reference.model, seed: reference.seed, keep: reference.keep });
      }
    } finally {
      await index.close();
    }
  }

  private name(uri: string): string {
    const name = objectNameFromFileId(this.location, uri);
    if (name === undefined) throw errors.fileNotFound(uri);
    return name;
  }

  /** `openai-output.jsonl` / `openai-errors.jsonl` beside the job's input and custom_ids. */
  private convertedName(reference: OutputReference): string {
    const ids = this.name(reference.ids);
    return `${ids.slice(0, ids.lastIndexOf('/') + 1)}${reference.keep === 'succeeded' ? 'openai-output.jsonl' : 'openai-errors.jsonl'}`;
  }

  /** Object names of the prediction shards, in name order (all pages of the GCS list). */
  private async shards(reference: OutputReference, context: CallContext): Promise<string[]> {
    const prefix = `${this.name(`${reference.dir.replace(/\/+$/, '')}/x`).slice(0, -1)}`;
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const query = `?prefix=${encodeURIComponent(prefix)}${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
      const url = `${this.gcs.options.apiBase}/storage/v1/b/${encodeURIComponent(this.location.bucket)}/o${query}`;
      const response = await this.gcs.send({ operation: 'batches.output', method: 'GET', url, expect: [200] }, context);
      const page = (await response.body.json()) as { items?: Array<{ name?: string }>; nextPageToken?: string };
      for (const item of page.items ?? []) if (typeof item.name === 'string' && /\/predictions[^/]*\.jsonl$/.test(item.name)) names.push(item.name);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return names.sort();
  }
}
