/**
 * Managed files without the HTTP server (README "Library use"): a Gateway opened from a config (file, YAML
 * text or object) on the embedded database or a Postgres URL, acting as the admin or as a user.
 */
import { buildConfig, loadConfig } from '../config/load-config.ts';
import type { ExpiresAfter, FileDeleted, FileList, FileObject } from '../core/openai-types.ts';
import { resolveMimeType } from '../core/mime-type.ts';
import { jsonValue } from '../core/raw-json.ts';
import { adminPrincipal, type Principal } from '../core/access-policy.ts';
import type { AdapterLogger, CallContext, ContentStream } from '../providers/provider-adapter.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { parseChatBody } from '../services/chat-service.ts';
import { SpooledFile } from '../core/spooled-file.ts';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';

export interface GatewayOpenOptions {
  /** Path to config.yaml, or the config as an object. */
  config: string | Record<string, unknown>;
  /** Environment for os.environ/ references (default: the process environment). */
  env?: Record<string, string | undefined>;
  logger?: AdapterLogger;
}

export interface ManagedCreateOptions {
  file: string | Buffer | Readable;
  purpose: string;
  targetModelNames: string[];
  filename?: string;
  mimeType?: string;
  expiresAfter?: ExpiresAfter;
}

const silent: AdapterLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A caller-scoped view: every call checks ownership exactly as the HTTP API does. */
export class GatewaySession {
  constructor(
    private readonly runtime: Runtime,
    private readonly principal: Principal,
    private readonly logger: AdapterLogger,
  ) {}

  private context(): CallContext {
    return { requestId: `sdk-${Date.now().toString(36)}`, logger: this.logger };
  }

  async createFile(options: ManagedCreateOptions): Promise<FileObject> {
    const source = typeof options.file === 'string' ? createReadStream(options.file) : Buffer.isBuffer(options.file) ? Readable.from([options.file]) : options.file;
    const spooled = await SpooledFile.from(source, { root: this.runtime.spoolDirectory });
    try {
      const filename = options.filename ?? (typeof options.file === 'string' ? basename(options.file) : 'unknown_file');
      return await this.runtime.managedFiles.create(
        this.principal,
        {
          body: { open: () => spooled.open(), bytes: spooled.bytes },
          filename,
          mimeType: options.mimeType ?? resolveMimeType({ filename, head: spooled.head }),
          purpose: options.purpose,
          expiresAfter: options.expiresAfter,
          targetModelNames: options.targetModelNames,
        },
        this.context(),
      );
    } finally {
      await spooled.remove();
    }
  }

  retrieveFile(id: string): Promise<FileObject> {
    return this.runtime.managedFiles.retrieve(this.principal, id);
  }

  listFiles(query: { limit?: number; order?: 'asc' | 'desc'; after?: string; purpose?: string; targetModelNames?: string[] } = {}): Promise<FileList> {
    return this.runtime.managedFiles.list(this.principal, { limit: query.limit ?? 10_000, order: query.order ?? 'desc', after: query.after, purpose: query.purpose, targetModelNames: query.targetModelNames ?? [] });
  }

  fileContent(id: string): Promise<ContentStream> {
    return this.runtime.managedFiles.content(this.principal, id, this.context());
  }

  deleteFile(id: string): Promise<FileDeleted> {
    return this.runtime.managedFiles.delete(this.principal, id, this.context());
  }

  /** A chat completion (non-streaming) with unified file ids rewritten per deployment. */
  async chatCompletion(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return jsonValue(await this.runtime.chat.complete(this.principal, parseChatBody({ ...body, stream: false }), this.context()));
  }
}

export class Gateway extends GatewaySession {
  private constructor(
    private readonly gatewayRuntime: Runtime,
    private readonly gatewayLogger: AdapterLogger,
  ) {
    super(gatewayRuntime, adminPrincipal(), gatewayLogger);
  }

  static async open(options: GatewayOpenOptions): Promise<Gateway> {
    const config = typeof options.config === 'string' ? loadConfig({ path: options.config }, options.env) : buildConfig(options.config, options.env);
    const runtime = await createRuntime(config);
    return new Gateway(runtime, options.logger ?? silent);
  }

  /** The same operations as a given user (and team): ownership rules apply. */
  as(user: { userId: string; teamId?: string; models?: string[] }): GatewaySession {
    const principal: Principal = { isAdmin: false, ownerId: user.userId, userId: user.userId, teamId: user.teamId ?? null, allowedModels: user.models ?? [], keyHash: null };
    return new GatewaySession(this.gatewayRuntime, principal, this.gatewayLogger);
  }

  /** Runs one pass of the expiry / retried-delete sweeper. */
  sweep() {
    return this.gatewayRuntime.deletion.sweepOnce({ requestId: 'sdk-sweep', logger: this.gatewayLogger });
  }

  close(): Promise<void> {
    return this.gatewayRuntime.close();
  }
}
