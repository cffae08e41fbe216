/**
 * A small client for the GCS JSON API calls the Vertex files adapter needs (providers.md §3.2):
 * metadata, media download and delete here, object inserts in gcs-uploads.ts. Every call carries
 * a Bearer token from the service account, is logged as one 'upstream call' line and maps
 * failures to UpstreamError. Request URLs, tokens and resumable session URIs (which act as
 * credentials for the upload) are never logged.
 */
import { recordUpstreamCall } from '../../core/metrics.ts';
import { request, type Dispatcher } from 'undici';
import type { CallContext } from '../provider-adapter.ts';
import type { GoogleTokenProvider } from './google-auth.ts';
import { PROVIDER, describeErrorBody, googleErrorCode, httpFailure, readErrorText, transportFailure } from './vertex-upstream.ts';

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
  auth: GoogleTokenProvider;
  dispatcher: Dispatcher;
  /** Bytes per PUT when the upload length is unknown; a multiple of 256 KiB (GCS rule). */
  resumableChunkBytes: number;
}

/** One upstream request. `body` is a factory so a 401 retry can send the body again. */
export interface GcsCall {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: () => Dispatcher.DispatchOptions['body'];
  /** Statuses that count as success (anything else is an upstream failure). */
  expect: readonly number[];
}

export class GcsClient {
  readonly options: GcsClientOptions;

  constructor(options: GcsClientOptions) {
    this.options = { ...options, apiBase: options.apiBase.replace(/\/+$/, '') };
  }

  objectUrl(bucket: string, name: string, query = ''): string {
    // The whole object name is one path segment: '/' must travel as %2F (providers.md §3.2).
    return `${this.options.apiBase}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}${query}`;
  }

  uploadUrl(bucket: string, uploadType: 'multipart' | 'resumable'): string {
    return `${this.options.apiBase}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=${uploadType}`;
  }

  async getMetadata(bucket: string, name: string, context: CallContext): Promise<GcsObject> {
    const response = await this.send(
      { operation: 'files.retrieve', method: 'GET', url: this.objectUrl(bucket, name), expect: [200] },
      context,
    );
    return readObject(response, this, context);
  }

  async download(bucket: string, name: string, context: CallContext): Promise<Dispatcher.ResponseData> {
    return this.send(
      { operation: 'files.content', method: 'GET', url: this.objectUrl(bucket, name, '?alt=media'), expect: [200] },
      context,
    );
  }

  async delete(bucket: string, name: string, context: CallContext): Promise<void> {
    const response = await this.send(
      { operation: 'files.delete', method: 'DELETE', url: this.objectUrl(bucket, name), expect: [200, 204] },
      context,
    );
    await response.body.dump();
  }

  /**
   * Sends one call with a Bearer token. A 401 on a cached token means it was revoked or expired
   * early: the token is dropped and the call sent once more with a fresh one.
   */
  async send(call: GcsCall, context: CallContext): Promise<Dispatcher.ResponseData> {
    const auth = this.options.auth;
    for (let attempt = 1; ; attempt += 1) {
      const token = await auth.getAccessToken({ logger: context.logger, ...(context.signal ? { signal: context.signal } : {}) });
      const response = await this.sendOnce(call, token, context);
      if (response.statusCode === 401 && attempt === 1) {
        await response.body.dump();
        auth.invalidate(token);
        continue;
      }
      if (call.expect.includes(response.statusCode)) return response;
      throw await this.failure(response, context);
    }
  }

  private async sendOnce(call: GcsCall, token: string, context: CallContext): Promise<Dispatcher.ResponseData> {
    const clock = performance.now();
    const log = (status: number | string): void => {
      recordUpstreamCall(PROVIDER, call.operation, status);
      context.logger.info(
        { provider: PROVIDER, deployment: this.options.instance, operation: call.operation, status, durationMs: Math.round(performance.now() - clock) },
        'upstream call',
      );
    };
    try {
      const response = await request(call.url, {
        method: call.method,
        headers: { ...call.headers, authorization: `Bearer ${token}`, 'x-request-id': context.requestId },
        body: call.body?.() ?? null,
        dispatcher: this.options.dispatcher,
        ...(context.signal ? { signal: context.signal } : {}),
      });
      log(response.statusCode);
      return response;
    } catch (error) {
      log(context.signal?.aborted ? 'aborted' : 'network_error');
      throw transportFailure({
        deployment: this.options.instance,
        what: `Cloud Storage (${call.operation})`,
        error,
        ...(context.signal ? { signal: context.signal } : {}),
      });
    }
  }

  /** Builds the UpstreamError for a non-success answer, reading (a bounded part of) its body. */
  async failure(response: Dispatcher.ResponseData, context: CallContext): Promise<Error> {
    let text: string;
    try {
      text = await readErrorText(response.body);
    } catch (error) {
      return transportFailure({ deployment: this.options.instance, what: 'Cloud Storage', error, ...(context.signal ? { signal: context.signal } : {}) });
    }
    const retryAfter = response.headers['retry-after'];
    return httpFailure({
      deployment: this.options.instance,
      status: response.statusCode,
      message: `Cloud Storage: ${describeErrorBody(text, response.statusCode)}`,
      code: googleErrorCode(text),
      ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
    });
  }
}

/** Parses an object resource; a body that is not one is an upstream fault (502). */
export async function readObject(response: Dispatcher.ResponseData, client: GcsClient, context: CallContext): Promise<GcsObject> {
  let value: unknown;
  try {
    value = await response.body.json();
  } catch (error) {
    if (context.signal?.aborted) throw transportFailure({ deployment: client.options.instance, what: 'Cloud Storage', error, signal: context.signal });
    value = undefined; // not JSON: reported below as a malformed answer
  }
  const object = value as Partial<GcsObject> | null | undefined;
  if (!object || typeof object.name !== 'string' || (typeof object.size !== 'string' && typeof object.size !== 'number')) {
    throw httpFailure({ deployment: client.options.instance, status: 502, message: 'Cloud Storage answered without an object resource' });
  }
  return { ...object, size: String(object.size) } as GcsObject;
}
