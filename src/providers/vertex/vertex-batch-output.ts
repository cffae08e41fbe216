/**
 * Reads a Vertex batch job's output for the batches capability: loads the custom_ids in row
 * order, lists the `predictions*.jsonl` shards under the job's output directory (GCS list, name
 * order) and converts them one after the other into OpenAI batch output lines while streaming.
 */
import type { CallContext } from '../../core/call-context.ts';
import { errors } from '../../core/errors.ts';
import type { BatchOutputDescription } from '../provider-adapter.ts';
import type { GcsClient } from './gcs-client.ts';
import { objectNameFromFileId, type BucketLocation } from './gcs-object-names.ts';
import { splitLines, vertexOutputToOpenAI } from './vertex-batch-convert.ts';

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
  constructor(
    private readonly gcs: GcsClient,
    private readonly location: BucketLocation,
  ) {}

  async describe(reference: OutputReference, context: CallContext): Promise<BatchOutputDescription> {
    // The exact byte length of the converted lines: count them once, without keeping them.
    let bytes = 0;
    for await (const chunk of this.lines(reference, context)) bytes += chunk.length;
    return { bytes, filename: reference.keep === 'succeeded' ? 'batch_output.jsonl' : 'batch_errors.jsonl' };
  }

  async *lines(reference: OutputReference, context: CallContext): AsyncGenerator<Buffer> {
    const customIds = await this.customIds(reference, context);
    for (const shard of await this.shards(reference, context)) {
      const response = await this.gcs.download(this.location.bucket, shard, context);
      yield* vertexOutputToOpenAI(response.body, { customIds, model: reference.model, seed: reference.seed, keep: reference.keep });
    }
  }

  async delete(reference: OutputReference, context: CallContext): Promise<void> {
    for (const shard of await this.shards(reference, context)) {
      await this.gcs.delete(this.location.bucket, shard, context).catch((error: unknown) => {
        if ((error as { status?: number }).status !== 404) throw error;
      });
    }
  }

  private name(uri: string): string {
    const name = objectNameFromFileId(this.location, uri);
    if (name === undefined) throw errors.fileNotFound(uri);
    return name;
  }

  private async customIds(reference: OutputReference, context: CallContext): Promise<string[]> {
    const response = await this.gcs.download(this.location.bucket, this.name(reference.ids), context);
    const ids: string[] = [];
    for await (const { line } of splitLines(response.body)) if (line !== '') ids.push(JSON.parse(line) as string);
    return ids;
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
