/**
 * A faithful local Google: the OAuth2 token endpoint (`POST /token`, docs/wire-formats.md §3.1), the
 * Cloud Storage JSON API (docs/wire-formats.md §3.2) and Vertex AI Gemini generateContent (§3.3, chat-gemini.ts) on
 * one loopback server built on the emulator kit.
 *
 * - Service accounts: `createServiceAccount()` mints an RSA key registered with the token
 *   endpoint and returns a complete key file whose `token_uri` is this emulator's `/token`.
 * - api bases: `gcs_api_base` = `emulator.gcsBaseUrl` (= url); `token_uri` = `emulator.tokenUrl`;
 *   Vertex `api_base` = `emulator.vertexApiBase` (= url; paths start with /v1 or /v1beta1).
 * - Application Default Credentials: the metadata server's token and project-id routes
 *   (google-metadata.ts), so `GCE_METADATA_HOST` may name this emulator's host:port.
 * - `reset()` clears calls, faults, objects and upload sessions; service accounts and issued
 *   tokens survive it (they are configuration a running gateway already holds).
 */
import { readFile } from 'node:fs/promises';
import { startEmulatorServer, type EmulatorServer } from './emulator-kit.ts';
import type { EmulatorExchange } from './emulator-exchange.ts';
import type { ServiceAccountJson } from '../providers/google/service-account.ts';
import { handleVertexChat } from './chat-gemini.ts';
import { handleBatchJobs, type EmulatedJob } from './google-batch-jobs.ts';
import { handleGcs, type GcsRouteContext } from './google-gcs.ts';
import { ResumableSessions } from './google-gcs-resumable.ts';
import { GcsObjects, gcsError } from './google-gcs-store.ts';
import { handleMetadata } from './google-metadata.ts';
import { GoogleOAuth } from './google-oauth.ts';

/** A stored object as tests see it. */
export interface StoredGcsObject {
  bucket: string;
  name: string;
  size: number;
  contentType: string;
  /** base64, as in the object resource's md5Hash. */
  md5: string;
  /** hex SHA-256 of the stored bytes. */
  sha256: string;
  metadata: Record<string, string>;
  generation: string;
}

export interface GoogleEmulator extends EmulatorServer {
  /** `url + '/token'`: the token_uri of every service account created here. */
  tokenUrl: string;
  /** Base of the GCS JSON API (`gcs_api_base`); the same as `url`. */
  gcsBaseUrl: string;
  /** Vertex AI `api_base` (generateContent lives under /v1/projects/…); the same as `url`. */
  vertexApiBase: string;
  /** A fresh service account known to the token endpoint. */
  createServiceAccount(options?: { projectId?: string }): ServiceAccountJson;
  /** Stored objects in name order, of one bucket or all. */
  objects(bucket?: string): StoredGcsObject[];
  /** The exact stored bytes of an object (for small test objects), undefined when absent. */
  readObject(bucket: string, name: string): Promise<Buffer | undefined>;
  /** Invalidates every access token issued so far (revocation/expiry without waiting). */
  revokeTokens(): void;
  /** Changes the time between batch prediction job states (tests hold a job in flight, then let it go). */
  setBatchStepMs(ms: number): void;
  /** The batch prediction job resources, oldest first. */
  batchJobs(): Array<Record<string, unknown>>;
  /** While set, batch prediction jobs that would succeed end FAILED with this message (undefined: off). */
  setBatchFailure(message: string | undefined): void;
}

export interface GoogleEmulatorOptions {
  port?: number;
  /** Only these buckets exist; default: any bucket springs into existence on first write. */
  buckets?: readonly string[];
  /** `expires_in` of issued tokens (default 3599, as Google answers). */
  tokenLifetimeSeconds?: number;
  /** Pause between streamed generateContent chunks in milliseconds; default 0. */
  chatChunkDelayMs?: number;
  /** Publisher models that exist (others get 404 NOT_FOUND); default: any name. */
  models?: readonly string[];
  /** Milliseconds between batch prediction job states (PENDING → QUEUED → RUNNING → SUCCEEDED); default 200. */
  batchStepMs?: number;
}

type RouteContext = GcsRouteContext & { chatChunkDelayMs: number; models: readonly string[] | undefined; tempDir: string; batchStepMs: number; jobs: Map<string, EmulatedJob>; batchFailure: string | undefined };

export async function startGoogleEmulator(options: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
  let context: RouteContext | undefined;
  const server = await startEmulatorServer({
    name: 'google',
    ...(options.port !== undefined ? { port: options.port } : {}),
    internalErrorBody: (error) => gcsError(500, `Internal error: ${String(error)}`, 'backendError'),
    onReset: () => {
      context?.objects.clear();
      context?.sessions.clear();
      context?.jobs.clear();
      if (context) context.batchFailure = undefined;
    },
    handler: (exchange) => route(exchange, context!),
  });
  const oauth = new GoogleOAuth({
    tokenUrl: `${server.url}/token`,
    ...(options.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
  });
  const objects = new GcsObjects(server.tempDir, options.buckets);
  context = {
    baseUrl: server.url,
    oauth,
    objects,
    sessions: new ResumableSessions(objects, server.url),
    chatChunkDelayMs: options.chatChunkDelayMs ?? 0,
    models: options.models,
    tempDir: server.tempDir,
    batchStepMs: options.batchStepMs ?? 200,
    jobs: new Map(),
    batchFailure: undefined,
  };

  return Object.assign(server, {
    tokenUrl: oauth.tokenUrl,
    gcsBaseUrl: server.url,
    vertexApiBase: server.url,
    createServiceAccount: (accountOptions?: { projectId?: string }) => oauth.createServiceAccount(accountOptions),
    objects: (bucket?: string): StoredGcsObject[] =>
      objects.list(bucket).map((blob) => ({
        bucket: blob.meta.bucket,
        name: blob.meta.name,
        size: blob.bytes,
        contentType: blob.meta.contentType,
        md5: blob.meta.md5Hash,
        sha256: blob.sha256,
        metadata: { ...blob.meta.metadata },
        generation: blob.meta.generation,
      })),
    readObject: async (bucket: string, name: string) => {
      const blob = objects.get(bucket, name);
      return blob ? readFile(blob.path) : undefined;
    },
    revokeTokens: () => oauth.revokeTokens(),
    setBatchStepMs: (ms: number) => {
      context!.batchStepMs = ms;
    },
    batchJobs: () => [...context!.jobs.values()].map((job) => job.resource),
    setBatchFailure: (message: string | undefined) => {
      context!.batchFailure = message;
    },
  });
}

async function route(exchange: EmulatorExchange, context: RouteContext): Promise<void> {
  if (exchange.path === '/token') return context.oauth.handleToken(exchange);
  if (await handleMetadata(exchange, context.oauth)) return;
  const chat = {
    oauth: context.oauth,
    lookupObject: (bucket: string, name: string) => {
      const blob = context.objects.get(bucket, name);
      return blob ? { contentType: blob.meta.contentType, bytes: blob.bytes } : undefined;
    },
    chunkDelayMs: context.chatChunkDelayMs,
    ...(context.models ? { models: context.models } : {}),
  };
  if (await handleVertexChat(exchange, chat)) return;
  const jobs = { oauth: context.oauth, objects: context.objects, lookupObject: chat.lookupObject, tempDir: context.tempDir, stepMs: context.batchStepMs, jobs: context.jobs, failure: context.batchFailure };
  if (await handleBatchJobs(exchange, jobs)) return;
  if (await handleGcs(exchange, context)) return;
  await exchange.sendJson(404, gcsError(404, `Not Found: ${exchange.method} ${exchange.path}`, 'notFound'));
}
