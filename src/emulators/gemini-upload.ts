/**
 * The Gemini Files API resumable upload (docs/wire-formats.md §4.2):
 *   POST /upload/v1beta/files  X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start,
 *        X-Goog-Upload-Header-Content-Length / -Content-Type, JSON {file:{displayName,…}}
 *        → 200, `x-goog-upload-url` (a session URL on this host), `x-goog-upload-status: active`
 *   POST <session url>  X-Goog-Upload-Command: upload | upload, finalize | finalize | query | cancel,
 *        X-Goog-Upload-Offset = bytes received so far → `active`, or `final` with {file: File}.
 * The session URL is itself the credential (as on Google's upload servers); a session that is
 * never finalised never becomes a file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatorExchange } from './emulator-exchange.ts';
import { FILE_ID, type GeminiFiles } from './gemini-files-store.ts';
import { geminiError } from './gemini-errors.ts';
import { HashingFile } from './google-gcs-store.ts';

interface Session {
  project: string;
  id: string;
  displayName: string | undefined;
  mimeType: string;
  declaredBytes: number | undefined;
  file: HashingFile;
  busy: boolean;
}

const header = (exchange: EmulatorExchange, name: string): string | undefined => {
  const value = exchange.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export class GeminiUploads {
  readonly #sessions = new Map<string, Session>();

  constructor(
    private readonly files: GeminiFiles,
    private readonly baseUrl: string,
  ) {}

  /** `POST /upload/v1beta/files` (start). `project` is the caller's API key. */
  async start(exchange: EmulatorExchange, project: string): Promise<void> {
    const protocol = header(exchange, 'x-goog-upload-protocol');
    const command = header(exchange, 'x-goog-upload-command');
    if (protocol !== 'resumable' || command !== 'start') {
      return exchange.sendJson(400, geminiError(400, 'The emulator supports the resumable upload protocol only: send X-Goog-Upload-Protocol: resumable and X-Goog-Upload-Command: start.'));
    }
    const text = await exchange.readText();
    let body: { file?: { displayName?: unknown; display_name?: unknown; mimeType?: unknown; name?: unknown } } = {};
    try {
      if (text.trim() !== '') body = JSON.parse(text) as typeof body;
      exchange.recordJson(body);
    } catch {
      return exchange.sendJson(400, geminiError(400, 'Invalid JSON payload received.'));
    }
    const declared = header(exchange, 'x-goog-upload-header-content-length');
    if (declared !== undefined && !/^\d+$/.test(declared)) {
      return exchange.sendJson(400, geminiError(400, 'X-Goog-Upload-Header-Content-Length must be a non-negative integer.'));
    }
    const file = body.file ?? {};
    const displayName = file.displayName ?? file.display_name;
    const mimeType = header(exchange, 'x-goog-upload-header-content-type') ?? (typeof file.mimeType === 'string' ? file.mimeType : undefined);
    if (!mimeType) return exchange.sendJson(400, geminiError(400, 'Unable to determine the file\'s MIME type: set X-Goog-Upload-Header-Content-Type.'));
    let id = this.files.newId();
    if (typeof file.name === 'string') {
      const wanted = file.name.replace(/^files\//, '');
      if (!FILE_ID.test(wanted)) return exchange.sendJson(400, geminiError(400, `Invalid file name "${file.name}".`));
      if (this.files.exists(wanted)) return exchange.sendJson(409, geminiError(409, `File files/${wanted} already exists.`));
      id = wanted;
    }
    const uploadId = randomBytes(24).toString('base64url');
    this.#sessions.set(uploadId, {
      project,
      id,
      displayName: typeof displayName === 'string' ? displayName : undefined,
      mimeType,
      declaredBytes: declared === undefined ? undefined : Number(declared),
      file: new HashingFile(join(exchange.tempDir, `gemini-upload-${randomUUID()}`)),
      busy: false,
    });
    await exchange.sendEmpty(200, {
      'x-goog-upload-url': `${this.baseUrl}/upload/v1beta/files?upload_id=${uploadId}&upload_protocol=resumable`,
      'x-goog-upload-status': 'active',
      'x-goog-upload-chunk-granularity': String(8 * 1024 * 1024),
      'x-guploader-uploadid': uploadId,
    });
  }

  /** A request to a session URL. */
  async command(exchange: EmulatorExchange, uploadId: string): Promise<void> {
    const session = this.#sessions.get(uploadId);
    if (!session) return exchange.sendJson(404, geminiError(404, 'Failed to find the upload session.'));
    if (session.busy) return exchange.sendJson(409, geminiError(409, 'Another request is using this upload session.'));
    const commands = (header(exchange, 'x-goog-upload-command') ?? '').split(',').map((part) => part.trim()).filter(Boolean);
    const status = (value: string) => ({ 'x-goog-upload-status': value, 'x-goog-upload-size-received': String(session.file.bytes) });
    if (commands.includes('cancel')) {
      await this.#end(uploadId, session);
      return exchange.sendEmpty(200, { 'x-goog-upload-status': 'cancelled' });
    }
    if (commands.length === 1 && commands[0] === 'query') return exchange.sendEmpty(200, status('active'));
    const uploading = commands.includes('upload');
    const finalizing = commands.includes('finalize');
    if (!uploading && !finalizing) {
      return exchange.sendJson(400, geminiError(400, `Unsupported X-Goog-Upload-Command "${commands.join(', ')}".`), status('active'));
    }
    session.busy = true;
    try {
      if (uploading) {
        const offset = header(exchange, 'x-goog-upload-offset');
        if (offset === undefined || Number(offset) !== session.file.bytes) {
          return await exchange.sendJson(
            400,
            geminiError(400, `X-Goog-Upload-Offset ${offset ?? '(missing)'} does not match the ${session.file.bytes} bytes received so far.`),
            status('active'),
          );
        }
        await session.file.open();
        try {
          for await (const chunk of exchange.body as AsyncIterable<Buffer>) await session.file.write(chunk);
          await session.file.close();
        } catch (error) {
          session.file.abandon();
          throw error;
        }
      }
      if (!finalizing) return await exchange.sendEmpty(200, status('active'));
      if (session.declaredBytes !== undefined && session.declaredBytes !== session.file.bytes) {
        await this.#end(uploadId, session);
        return await exchange.sendJson(
          400,
          geminiError(400, `The upload has ${session.file.bytes} bytes, but X-Goog-Upload-Header-Content-Length said ${session.declaredBytes}.`),
          { 'x-goog-upload-status': 'final' },
        );
      }
      this.#sessions.delete(uploadId);
      const hex = session.file.digests().sha256;
      const stored = this.files.add({
        id: session.id,
        project: session.project,
        displayName: session.displayName,
        mimeType: session.mimeType,
        bytes: session.file.bytes,
        sha256: hex,
        sha256Base64: Buffer.from(hex, 'hex').toString('base64'),
        path: session.file.path,
      });
      return await exchange.sendJson(200, { file: this.files.resource(stored, this.baseUrl) }, { 'x-goog-upload-status': 'final' });
    } finally {
      session.busy = false;
    }
  }

  async #end(uploadId: string, session: Session): Promise<void> {
    this.#sessions.delete(uploadId);
    await rm(session.file.path, { force: true });
  }

  clear(): void {
    for (const [uploadId, session] of this.#sessions) void this.#end(uploadId, session).catch(() => {});
  }
}
