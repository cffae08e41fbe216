/**
 * One request/response pair as an emulator handler sees it. The request body is counted and
 * hashed on its way through (`body`), so every recorded call carries bodyBytes/bodySha256
 * without the emulator ever holding a whole body in memory. Every answer goes through the
 * send helpers here: they read the rest of the request body first (so a client still writing
 * a large upload sees the status instead of a reset) and record the call just before the
 * response ends (so a test that awaited the response always finds the call recorded).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { pipeline as pipelinePromise } from 'node:stream/promises';
import type { RecordedCall } from './emulator-kit.ts';

/** A request body the emulator refuses (bad JSON, too large); handlers map it to their envelope. */
export class EmulatorBodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Passes the body through unchanged while counting bytes and hashing them. */
class BodyTap extends Transform {
  bytes = 0;
  readonly #hash: Hash = createHash('sha256');
  #digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digest = this.#hash.digest('hex');
    callback();
  }

  /** The digest of what has gone through so far (final once the body ended). */
  digest(): string {
    return this.#digest ?? this.#hash.copy().digest('hex');
  }
}

export interface ExchangeInit {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  sequence: number;
  tempDir: string;
  responseHeaders: Record<string, string>;
  record: (call: RecordedCall) => void;
}

export class EmulatorExchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly method: string;
  /** Raw (still percent-encoded) pathname; handlers decode the segments they need. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-cased request headers, as Node gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The request body stream (counted and hashed); read it at most once. */
  readonly body: Readable;
  /** Per-emulator temporary directory, removed on close: put uploaded bytes here. */
  readonly tempDir: string;
  /** Headers added to every answer of this exchange (request ids); handlers may read or extend them. */
  readonly responseHeaders: Record<string, string>;
  #tap: BodyTap;
  #init: ExchangeInit;
  #recorded = false;
  #json: unknown;
  #form: RecordedCall['form'];

  constructor(init: ExchangeInit) {
    this.#init = init;
    this.request = init.request;
    this.response = init.response;
    this.method = (init.request.method ?? 'GET').toUpperCase();
    this.path = init.url.pathname;
    this.query = init.url.searchParams;
    this.headers = init.request.headers;
    this.tempDir = init.tempDir;
    this.responseHeaders = init.responseHeaders;
    this.#tap = new BodyTap();
    this.body = this.#tap;
    // pipeline destroys the tap with an error when the client aborts, so readers never hang.
    pipeline(init.request, this.#tap, () => {});
    // A response closed before we recorded it means the connection went away: status 0.
    init.response.once('close', () => this.#record(0));
  }

  get responded(): boolean {
    return this.#recorded || this.response.headersSent || this.response.destroyed;
  }

  /** Attach the parsed JSON body to the recorded call. */
  recordJson(value: unknown): void {
    this.#json = value;
  }

  /** Attach the parsed form (fields and file summaries) to the recorded call. */
  recordForm(form: NonNullable<RecordedCall['form']>): void {
    this.#form = form;
  }

  /** Reads the whole body as UTF-8 text; bodies over `limit` bytes are refused with 413. */
  async readText(limit = 16 * 1024 * 1024): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Past the limit keep reading without keeping, so the client still gets the 413.
      if (size <= limit) chunks.push(chunk);
    }
    if (size > limit) throw new EmulatorBodyError(413, `request body larger than ${limit} bytes`);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Reads and parses a JSON body (recorded on the call); bad JSON → EmulatorBodyError 400. */
  async readJson(): Promise<unknown> {
    const text = await this.readText();
    try {
      const value: unknown = JSON.parse(text);
      this.recordJson(value);
      return value;
    } catch {
      throw new EmulatorBodyError(400, 'request body is not valid JSON');
    }
  }

  /** Consumes and discards whatever of the body is left; resolves also when the client went away. */
  async drainBody(): Promise<void> {
    const tap = this.#tap;
    if (tap.readableEnded || tap.destroyed) return;
    await new Promise<void>((resolve) => {
      tap.once('end', resolve).once('close', resolve).once('error', resolve);
      tap.resume();
    });
  }

  /** Resolves once the first body chunk arrived or the body ended (used by the drop fault). */
  async waitForSomeBody(): Promise<void> {
    const tap = this.#tap;
    if (tap.readableEnded || tap.destroyed) return;
    await new Promise<void>((resolve) => {
      tap.once('data', () => resolve()).once('end', resolve).once('close', resolve).once('error', resolve);
    });
  }

  async sendJson(status: number, value: unknown, headers: Record<string, string> = {}): Promise<void> {
    const body = Buffer.from(JSON.stringify(value));
    await this.sendBuffer(status, body, { 'content-type': 'application/json', ...headers });
  }

  async sendText(status: number, text: string, headers: Record<string, string> = {}): Promise<void> {
    await this.sendBuffer(status, Buffer.from(text), { 'content-type': 'text/plain; charset=utf-8', ...headers });
  }

  async sendEmpty(status: number, headers: Record<string, string> = {}): Promise<void> {
    await this.sendBuffer(status, Buffer.alloc(0), headers);
  }

  async sendBuffer(status: number, body: Buffer, headers: Record<string, string>): Promise<void> {
    await this.drainBody();
    if (this.responded) return;
    this.response.writeHead(status, { ...this.responseHeaders, ...headers, 'content-length': String(body.length) });
    this.#record(status);
    this.response.end(body);
  }

  /** Streams a file from disk with a Content-Length, never loading it into memory. */
  async sendFile(status: number, filePath: string, bytes: number, headers: Record<string, string>): Promise<void> {
    await this.drainBody();
    if (this.responded) return;
    this.response.writeHead(status, { ...this.responseHeaders, ...headers, 'content-length': String(bytes) });
    try {
      await pipelinePromise(createReadStream(filePath), this.response, { end: false });
    } catch {
      this.response.destroy(); // client went away or file vanished: the close listener records 0
      return;
    }
    this.#record(status);
    this.response.end();
  }

  /**
   * A streamed answer (SSE): headers go out at once, then whatever `produce` writes, each write
   * flushed on its own. Recorded with `status` when `produce` finishes, or with 0 when the
   * client went away first (`write` then resolves false and `produce` should stop).
   */
  async sendStream(
    status: number,
    headers: Record<string, string>,
    produce: (write: (chunk: string) => Promise<boolean>) => Promise<void>,
  ): Promise<void> {
    await this.drainBody();
    if (this.responded) return;
    const response = this.response;
    response.writeHead(status, { ...this.responseHeaders, ...headers });
    response.flushHeaders();
    const gone = (): boolean => response.destroyed || response.writableEnded;
    await produce(async (chunk) => {
      if (gone()) return false;
      if (!response.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            response.off('drain', done).off('close', done);
            resolve();
          };
          response.on('drain', done).on('close', done);
        });
      }
      return !gone();
    });
    if (gone()) return;
    this.#record(status);
    response.end();
  }

  /** Destroys the connection without an answer (recorded with status 0). */
  drop(): void {
    this.#record(0);
    this.request.socket.destroy();
  }

  #record(status: number): void {
    if (this.#recorded) return;
    this.#recorded = true;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const call: RecordedCall = {
      seq: this.#init.sequence,
      method: this.method,
      path: this.path,
      query: Object.fromEntries(this.query),
      headers,
      bodyBytes: this.#tap.bytes,
      bodySha256: this.#tap.digest(),
      status,
    };
    if (this.#json !== undefined) call.json = this.#json;
    if (this.#form !== undefined) call.form = this.#form;
    this.#init.record(call);
  }
}
