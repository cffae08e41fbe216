/**
 * The Cloud Storage JSON API calls the Vertex files adapter needs (cloud.google.com/storage/docs/
 * json_api): metadata, media download and delete here, object inserts in gcs-uploads.ts. Calls go
 * through the deployment's upstream transport (Bearer token from its token source, refreshed once
 * on 401, typed failures, one log line each). Request URLs, tokens and resumable session URIs
 * (which act as credentials for the upload) are never logged.
 */
import type { CallContext } from '../../core/call-context.ts';
import type { UpstreamCall, UpstreamClient, UpstreamResponse } from '../shared/upstream-client.ts';

/** The object resource fields the adapter reads (size and generation are int64 strings). */
export interface GcsObject {
  name: string;
  bucket: string;
  size: string;
  contentType?: string;
  timeCreated?: string;
  generation?: string;
  md5Hash?: string;
  metadata?: Record<string, string>;
}

export interface GcsClientOptions {
  instance: string;
  /** `https://storage.googleapis.com` or an emulator; no trailing slash. */
  apiBase: string;
  /** The transport, with the Bearer auth hook and `Cloud Storage` error parsing. */
  client: UpstreamClient;
  /** Bytes per PUT when the upload length is unknown; a multiple of 256 KiB (GCS rule). */
  resumableChunkBytes: number;
}

export type GcsCall = Omit<UpstreamCall, 'path'> & { url: string };

export class GcsClient {
  readonly options: GcsClientOptions;

  constructor(options: GcsClientOptions) {
    this.options = { ...options, apiBase: options.apiBase.replace(/\/+$/, '') };
  }

  objectUrl(bucket: string, name: string, query = ''): string {
    // The whole object name is one path segment: '/' must travel as %2F.
    return `${this.options.apiBase}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}${query}`;
  }

  uploadUrl(bucket: string, uploadType: 'multipart' | 'resumable'): string {
    return `${this.options.apiBase}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=${uploadType}`;
  }

  async getMetadata(bucket: string, name: string, context: CallContext): Promise<GcsObject> {
    const response = await this.send({ operation: 'files.retrieve', method: 'GET', url: this.objectUrl(bucket, name), expect: [200] }, context);
    return readObject(response, this, context);
  }

  async download(bucket: string, name: string, context: CallContext): Promise<UpstreamResponse> {
    // Object bytes pause while a slow client reads: no body-idle limit, its disconnect aborts instead.
    return this.send({ operation: 'files.content', method: 'GET', url: this.objectUrl(bucket, name, '?alt=media'), expect: [200], bodyTimeoutMs: 0 }, context);
  }

  async delete(bucket: string, name: string, context: CallContext): Promise<void> {
    const response = await this.send({ operation: 'files.delete', method: 'DELETE', url: this.objectUrl(bucket, name), expect: [200, 204] }, context);
    await response.body.dump();
  }

  /**
   * One page of objects under `prefix`, in name order, starting at `startOffset` (inclusive), as
   * the JSON API's objects.list does (cloud.google.com/storage/docs/json_api/v1/objects/list).
   */
  async list(
    input: { bucket: string; prefix: string; maxResults: number; startOffset?: string },
    context: CallContext,
  ): Promise<{ objects: GcsObject[]; more: boolean }> {
    const query = new URLSearchParams({ prefix: input.prefix, maxResults: String(input.maxResults) });
    if (input.startOffset !== undefined) query.set('startOffset', input.startOffset);
    const url = `${this.options.apiBase}/storage/v1/b/${encodeURIComponent(input.bucket)}/o?${query.toString()}`;
    const response = await this.send({ operation: 'files.list', method: 'GET', url, expect: [200] }, context);
    let value: unknown;
    try {
      value = await response.body.json();
    } catch (error) {
      if (context.signal?.aborted) throw this.options.client.streamFailure(error, context);
      value = undefined;
    }
    const page = value as { items?: unknown; nextPageToken?: unknown } | null | undefined;
    if (!page || typeof page !== 'object' || (page.items !== undefined && !Array.isArray(page.items))) {
      throw this.malformed('Cloud Storage answered without an object list');
    }
    const objects = ((page.items as Array<Partial<GcsObject>> | undefined) ?? []).flatMap((item) =>
      item && typeof item.name === 'string' && (typeof item.size === 'string' || typeof item.size === 'number') ? [{ ...item, size: String(item.size) } as GcsObject] : [],
    );
    return { objects, more: typeof page.nextPageToken === 'string' && page.nextPageToken !== '' };
  }

  send(call: GcsCall, context: CallContext): Promise<UpstreamResponse> {
    return this.options.client.send(call, context);
  }

  malformed(message: string): Error {
    return this.options.client.malformed(message);
  }
}

/** Parses an object resource; a body that is not one is an upstream fault (502). */
export async function readObject(response: UpstreamResponse, client: GcsClient, context: CallContext): Promise<GcsObject> {
  let value: unknown;
  try {
    value = await response.body.json();
  } catch (error) {
    if (context.signal?.aborted) throw client.options.client.streamFailure(error, context);
    value = undefined; // not JSON: reported below as a malformed answer
  }
  const object = value as Partial<GcsObject> | null | undefined;
  if (!object || typeof object.name !== 'string' || (typeof object.size !== 'string' && typeof object.size !== 'number')) {
    throw client.malformed('Cloud Storage answered without an object resource');
  }
  return { ...object, size: String(object.size) } as GcsObject;
}
