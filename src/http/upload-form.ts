/**
 * Reads a multipart upload with busboy directly, so every way a form can end — complete, cut,
 * malformed, over a limit, stalled, abandoned — settles exactly once and is answered.
 *
 * When the fields came first (curl order) and the caller can route on them, the file streams
 * straight through. The OpenAI SDKs send the file before `purpose`: where the request itself names
 * the destination (path, header, query), the caller may start the upload at the file part anyway
 * and supply the late fields after it (a provisional consumer); the file is then spooled at the
 * same time, and if the complete form routes elsewhere (a late `target_model_names`, `model`, …)
 * that upload is abandoned before it completes — so the provider keeps nothing — and the spool
 * is used. Otherwise the file is spooled (to a temp file, never to memory) and routed once the form
 * is complete. Chunks go from busboy to their destinations by reference (file-pump.ts).
 *
 * README "Endpoints" (limits) limits are busboy limits, so nothing over them is ever held: at most 20 non-file
 * fields of at most 64 KiB each and one file part. If the form fails after a streamed file was
 * accepted upstream (a late bad field, a second file part, too many fields, a cut), that upload
 * is taken back before the error is answered (README "Endpoints" (errors): never an orphaned provider file).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import type { FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../core/errors.ts';
import { recordBytesUploaded } from '../core/metrics.ts';
import { SpooledFile, type SpoolWriter } from '../core/spooled-file.ts';
import { checkFormText, checkPartType } from '../services/upload-request.ts';
import { FilePump } from './file-pump.ts';
import { formErrors, MAX_FORM_FIELDS, MAX_FIELD_BYTES } from './upload-form-errors.ts';

export { MAX_FORM_FIELDS, MAX_FIELD_BYTES } from './upload-form-errors.ts';

export interface ReceivedFile {
  filename: string;
  partType: string;
}

type Fields = ReadonlyMap<string, readonly string[]>;

/** Streams the file straight to a provider; `undo` takes the result back if the form fails later. */
export interface DirectConsumer<T> {
  /**
   * `head`: the first 512 bytes for sniffing the type (provisional consumers only; they are in
   * `stream` too). `late`: for a provisional consumer, what `provisional` made of the complete
   * form; it rejects when the upload must be abandoned (its body must then fail before it completes).
   * `bytesAtMost` (fields-first forms with a Content-Length): the file has at most this many bytes,
   * what remains of the request from the file's first byte on (UploadBody.bytesAtMost); `boundary`
   * (with it, when reusable): the client's boundary, whose closing delimiter ends those bytes
   * (UploadBody.boundary) — the file is then cut (answered as such) should it go past that.
   */
  run(
    file: ReceivedFile & { stream: Readable; head: Buffer; late: Promise<unknown>; bytesAtMost?: number | undefined; boundary?: string | undefined },
  ): Promise<T>;
  undo(result: T): Promise<void>;
  /**
   * Set when the consumer was chosen before the form's fields arrived (the file part came first):
   * the file is spooled as well, and once the form is complete this says what the running upload
   * still needs (it resolves `late`), or undefined when the complete form does not route to this
   * upload — it is then abandoned and the form answers with the spooled file instead.
   */
  provisional?: (fields: Fields) => unknown;
}

/** Given the fields seen before the file, a direct consumer — or undefined to spool. */
export type DirectRoute<T> = (fields: Fields) => DirectConsumer<T> | undefined;

/** A provisional upload in flight, decided once the form is complete. */
interface Pending<T> {
  consumer: DirectConsumer<T>;
  /** Undefined until the file's head passed (or when the file failed before it). */
  run: Promise<T> | undefined;
  accept(late: unknown): void;
  abandon(reason: Error): void;
}

export interface UploadForm<T> {
  /** Text fields by name, in arrival order (repeated names keep every value). */
  fields: Map<string, string[]>;
  /** The spooled file, when it was not streamed directly. */
  file: (ReceivedFile & { spooled: SpooledFile }) | undefined;
  /** What the direct consumer returned, when the file was streamed through; `undo` takes it back. */
  direct: { result: T; undo: () => Promise<void> } | undefined;
}

export interface UploadFormOptions<T> {
  maxUploadSizeMb: number;
  /** Cut the form with 408 when the client sends no byte for this long (README "Endpoints" (limits)). */
  idleTimeoutMs: number;
  /** Where spooled files go (a directory the gateway owns, cleaned at startup). */
  spoolDirectory: string;
  direct?: DirectRoute<T>;
}

type FileStream = Readable & { truncated?: boolean };

/** Client body chunks remembered while the file part's first byte is being located (fileStart). */
const RECENT_RAW_CHUNKS = 16;
/** What may follow a file part: every other field at its limit with its headers, and the closing boundary. */
const AFTER_FILE_ALLOWANCE = MAX_FORM_FIELDS * (MAX_FIELD_BYTES + 16 * 1024) + 64 * 1024;

export function readUploadForm<T>(request: FastifyRequest, options: UploadFormOptions<T>): Promise<UploadForm<T>> {
  const raw = request.raw;
  const contentType = raw.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(contentType)) {
    return Promise.reject(errors.invalidRequest('Uploads must be sent as multipart/form-data with a "file" part.', 'file'));
  }
  const maxBytes = Math.floor(options.maxUploadSizeMb * 1024 * 1024);
  let parser: BusboyInstance;
  try {
    parser = new Busboy({
      headers: raw.headers as BusboyHeaders,
      limits: { fields: MAX_FORM_FIELDS, fieldSize: MAX_FIELD_BYTES, files: 1, parts: MAX_FORM_FIELDS + 1, fileSize: maxBytes, headerSize: 16 * 1024, headerPairs: 16 },
    });
  } catch (error) {
    return Promise.reject(formErrors.malformed((error as Error).message));
  }
  return new FormReader<T>(raw, parser, options, reusableBoundary(contentType)).done;
}

/**
 * The form's boundary when an upstream form may reuse it as is: characters that need no quoting in
 * a header parameter (RFC 9110 §5.6.2 tokens that are also RFC 2046 §5.1.1 boundary characters).
 */
function reusableBoundary(contentType: string): string | undefined {
  const boundary = /;\s*boundary=(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  const value = boundary?.[1] ?? boundary?.[2];
  return value !== undefined && /^[0-9A-Za-z'+_.-]{1,70}$/.test(value) ? value : undefined;
}

class FormReader<T> {
  readonly done: Promise<UploadForm<T>>;
  private resolve!: (form: UploadForm<T>) => void;
  private reject!: (error: unknown) => void;
  private readonly form: UploadForm<T> = { fields: new Map(), file: undefined, direct: undefined };
  private failure: GatewayError | undefined;
  private parsed = false;
  private settled = false;
  private fileTask: Promise<void> | undefined;
  private fileStream: FileStream | undefined;
  private sourceFailure: GatewayError | undefined;
  private pending: Pending<T> | undefined;
  private spoolWriter: SpoolWriter | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** performance.now() at the client's latest body chunk (touch). */
  private lastByteAt = 0;
  private fileTaskDone = false;
  /** Body bytes read from the client so far. */
  private rawBytes = 0;
  /**
   * The client's latest body chunks and where each starts in the body, kept until the file part's
   * first byte is located in one of them (fileStart); then dropped, never held while a file streams.
   */
  private recentRaw: Array<{ chunk: Buffer; offset: number }> | undefined = [];

  constructor(
    private readonly raw: IncomingMessage,
    private readonly parser: BusboyInstance,
    private readonly options: UploadFormOptions<T>,
    private readonly boundary: string | undefined,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    parser.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => this.onField(name, value, valueTruncated));
    parser.on('file', (name: string, stream: FileStream, filename: string | undefined, _encoding: string, mimeType: string) =>
      this.onFile(name, stream, filename, mimeType),
    );
    parser.on('filesLimit', () => this.fail(formErrors.secondFile()));
    parser.on('fieldsLimit', () => this.fail(formErrors.tooManyFields()));
    parser.on('partsLimit', () => this.fail(formErrors.tooManyFields()));
    parser.on('error', (error: Error) => this.fail(formErrors.malformed(error.message)));
    parser.on('finish', () => {
      this.parsed = true;
      this.settle();
    });
    raw.on('data', (chunk: Buffer) => {
      this.touch();
      if (this.recentRaw) {
        this.recentRaw.push({ chunk, offset: this.rawBytes });
        if (this.recentRaw.length > RECENT_RAW_CHUNKS) this.recentRaw.shift();
      }
      this.rawBytes += chunk.length;
    });
    raw.on('aborted', () => this.fail(errors.clientClosed()));
    raw.on('close', () => {
      if (!raw.readableEnded) this.fail(errors.clientClosed());
    });
    raw.on('error', () => this.fail(errors.clientClosed()));
    this.touch();
    raw.pipe(parser);
  }

  /**
   * Restarts the idle clock: any byte from the client counts as progress. A chunk only notes the
   * time; the one timer checks it when it fires and waits out the rest (a timer re-armed per
   * 64 KiB chunk was ~1 % of the gateway's CPU in a 1 GiB upload's profile).
   */
  private touch(): void {
    if (this.failure || this.parsed) return;
    this.lastByteAt = performance.now();
    if (this.idleTimer === undefined) this.armIdle(this.options.idleTimeoutMs);
  }

  private armIdle(delayMs: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.failure || this.parsed) return;
      const quietMs = performance.now() - this.lastByteAt;
      if (quietMs >= this.options.idleTimeoutMs) this.fail(formErrors.idle(this.options.idleTimeoutMs));
      else this.armIdle(this.options.idleTimeoutMs - quietMs);
    }, delayMs);
    this.idleTimer.unref();
  }

  private onField(name: string, value: string, valueTruncated: boolean): void {
    if (this.failure) return;
    if (valueTruncated) return this.fail(formErrors.fieldTooLarge(name));
    try {
      checkFormText(name, 'field name');
      checkFormText(value, name);
    } catch (error) {
      return this.fail(error as GatewayError);
    }
    const values = this.form.fields.get(name) ?? [];
    values.push(value);
    this.form.fields.set(name, values);
  }

  private onFile(name: string, stream: FileStream, filename: string | undefined, mimeType: string): void {
    stream.on('error', () => undefined); // errors are read through iteration; never unhandled
    if (this.failure) {
      stream.resume();
      return;
    }
    if (name !== 'file') {
      stream.resume();
      return this.fail(errors.invalidRequest(`Unexpected file part '${name}': the file must be sent as the "file" field.`, name));
    }
    try {
      if (filename !== undefined) checkFormText(filename, 'filename');
      checkPartType(mimeType);
    } catch (error) {
      stream.resume();
      return this.fail(error as GatewayError);
    }
    this.fileStream = stream;
    // Over the size limit: answer 413 now instead of reading the rest of the body.
    stream.on('limit', () => this.fail(errors.fileTooLarge(this.options.maxUploadSizeMb)));
    const received: ReceivedFile = { filename: filename || 'unknown_file', partType: mimeType };
    let consumer: DirectConsumer<T> | undefined;
    try {
      consumer = this.options.direct?.(this.form.fields);
    } catch (error) {
      stream.resume();
      return this.fail(toGatewayError(error)); // e.g. an invalid purpose before the file
    }
    // Only a direct upload locates the file's first byte (fileStart).
    if (!consumer) this.recentRaw = undefined;
    const task = consumer?.provisional
      ? this.runProvisional(consumer, received, stream)
      : consumer
        ? this.runDirect(consumer, received, stream)
        : this.spool(received, stream);
    this.fileTask = task.catch((error: unknown) => {
      // A failure that started on the client side (cut, stall, limit) is the real reason, not
      // the upstream call it broke ("could not reach openai").
      this.fail(toGatewayError(this.failure ?? this.sourceFailure ?? error));
    });
    void this.fileTask.finally(() => this.settle());
  }

  private async runDirect(consumer: DirectConsumer<T>, received: ReceivedFile, stream: FileStream): Promise<void> {
    // Listens to the file's chunks, so only together with the pump (nothing may flow past it).
    const start = this.fileStart(stream);
    const pump = this.pump(stream, { output: true });
    const { bytesAtMost, boundary } = await start;
    // The client's closing delimiter ends what remains: a file that runs into it is a cut form.
    if (boundary !== undefined) pump.maxBytes = bytesAtMost! - `\r\n--${boundary}--`.length;
    const result = await consumer.run({ ...received, stream: pump.output!, head: Buffer.alloc(0), late: Promise.resolve(undefined), bytesAtMost, boundary });
    this.form.direct = { result, undo: () => consumer.undo(result) };
    await pump.done;
  }

  private async spool(received: ReceivedFile, stream: FileStream): Promise<void> {
    this.spoolWriter = await SpooledFile.writer({ root: this.options.spoolDirectory });
    await this.pump(stream, { spool: this.spoolWriter }).done;
    this.form.file = { ...received, spooled: await this.spoolWriter.close() };
  }

  /** Spools the file and streams it to the provisional consumer at the same time. */
  private async runProvisional(consumer: DirectConsumer<T>, received: ReceivedFile, stream: FileStream): Promise<void> {
    this.spoolWriter = await SpooledFile.writer({ root: this.options.spoolDirectory });
    // Listens to the file's chunks, so only together with the pump (nothing may flow past it).
    const start = this.fileStart(stream);
    const pump = this.pump(stream, { spool: this.spoolWriter, output: true });
    let accept!: (late: unknown) => void;
    let abandon!: (reason: Error) => void;
    const late = new Promise<unknown>((resolve, reject) => {
      accept = resolve;
      abandon = reject;
    });
    late.catch(() => undefined); // read by the consumer's body; never unhandled
    const pending: Pending<T> = { consumer, run: undefined, accept, abandon };
    this.pending = pending;
    void Promise.all([pump.head, start]).then(([head, { bytesAtMost }]) => {
      if (this.failure) return; // the form already failed: start nothing
      pending.run = consumer.run({ ...received, stream: pump.output!, head, late, bytesAtMost });
      pending.run.catch(() => undefined); // its outcome is read when the form is complete
    });
    await pump.done;
    this.form.file = { ...received, spooled: await this.spoolWriter.close() };
  }

  /**
   * With the request's Content-Length known: at most how many bytes the file part has — the body
   * from the file's first byte to its end — so that the upstream request can declare its length
   * (multipart-body.ts) instead of going out chunked. busboy hands the file's bytes on as views of
   * the client's body chunks, so the first one's place in its chunk says where the file starts.
   * Undefined (chunked, as before) when that place cannot be told: the first bytes were copied
   * (a boundary split across reads), the request is chunked, the file is empty or failed first,
   * or what follows the file is larger than any form's fields can be. With it, the form's boundary
   * when it can be reused (reusableBoundary).
   */
  private fileStart(stream: FileStream): Promise<{ bytesAtMost?: number | undefined; boundary?: string | undefined }> {
    const headers = this.raw.headers;
    const declared = headers['transfer-encoding'] === undefined && /^\d+$/.test(headers['content-length'] ?? '') ? Number(headers['content-length']) : undefined;
    return new Promise((resolve) => {
      const done = (bytesAtMost: number | undefined, first?: Buffer) => {
        stream.off('data', onData).off('end', onEnd).off('close', onEnd);
        this.recentRaw = undefined;
        // (A part whose bytes began with `--boundary` would have ended right there: busboy, like
        // other receivers, reads the CRLF that ends the part's headers as the delimiter's.)
        const closing = this.boundary === undefined ? 0 : `\r\n--${this.boundary}--`.length;
        const reusable = this.boundary !== undefined && bytesAtMost !== undefined && first !== undefined && bytesAtMost >= first.length + closing;
        resolve({ bytesAtMost, boundary: reusable ? this.boundary : undefined });
      };
      const onEnd = () => done(undefined);
      const onData = (chunk: Buffer) => {
        if (chunk.length === 0) return;
        if (declared === undefined) return done(undefined);
        const source = this.recentRaw?.find(
          ({ chunk: raw }) => raw.buffer === chunk.buffer && chunk.byteOffset >= raw.byteOffset && chunk.byteOffset + chunk.length <= raw.byteOffset + raw.length,
        );
        if (!source) return done(undefined);
        const atMost = declared - (source.offset + chunk.byteOffset - source.chunk.byteOffset);
        const maxBytes = Math.floor(this.options.maxUploadSizeMb * 1024 * 1024);
        done(atMost >= chunk.length && atMost <= maxBytes + AFTER_FILE_ALLOWANCE ? atMost : undefined, chunk);
      };
      stream.on('data', onData).once('end', onEnd).once('close', onEnd);
    });
  }

  /** The file part, counted, to a spool and/or an output stream; failing (never ending early) when cut. */
  private pump(file: FileStream, destinations: { spool?: SpoolWriter; output?: boolean }): FilePump {
    return new FilePump(file, {
      ...destinations,
      counted: recordBytesUploaded,
      overflow: () => this.fail(formErrors.cut()),
      failureOf: () => (this.sourceFailure ??= this.failure ?? formErrors.cut()),
      endFailure: () => {
        if (file.truncated) return (this.sourceFailure = errors.fileTooLarge(this.options.maxUploadSizeMb));
        return this.failure;
      },
    });
  }

  private fail(error: GatewayError): void {
    if (this.failure || this.settled) return;
    this.failure = error;
    this.recentRaw = undefined;
    clearTimeout(this.idleTimer);
    // The body was not read to its end: the answer must close the connection.
    if (!this.raw.readableEnded) error.headers.connection = 'close';
    // Stop reading: whatever the client still sends is not wanted. The answer closes the connection.
    this.raw.unpipe(this.parser);
    this.raw.resume();
    if (this.fileStream && !this.fileStream.readableEnded) this.fileStream.destroy(error);
    this.settle();
  }

  /** Settles once parsing is over (finished or failed) and the file task, if any, has settled. */
  private settle(): void {
    if (this.settled || (!this.parsed && !this.failure)) return;
    if (this.fileTask && !this.fileTaskDone) {
      void this.fileTask.then(() => {
        this.fileTaskDone = true;
        this.settle();
      });
      return;
    }
    this.settled = true;
    clearTimeout(this.idleTimer);
    this.finish().then(this.resolve, this.reject);
  }

  private async finish(): Promise<UploadForm<T>> {
    const pending = this.pending;
    if (!this.failure) {
      if (!pending) return this.form;
      let late: unknown;
      try {
        late = pending.consumer.provisional!(this.form.fields);
      } catch {
        late = undefined; // the caller refuses the form as it would refuse a spooled one
      }
      if (late === undefined) {
        // The complete form goes elsewhere: abandon the upload (the provider keeps nothing), use the spool.
        await this.settleRun(pending, errors.invalidRequest('The upload was routed elsewhere once the form was complete.'));
        return this.form;
      }
      pending.accept(late);
      try {
        const result = await pending.run!;
        this.form.direct = { result, undo: () => pending.consumer.undo(result) };
        return this.form;
      } catch (error) {
        throw toGatewayError(error); // the provider's answer, as a spooled upload would have got it
      } finally {
        await this.form.file?.spooled.remove();
        this.form.file = undefined;
      }
    }
    const failure = this.failure;
    if (pending) await this.settleRun(pending, failure);
    await this.spoolWriter?.discard();
    await this.form.file?.spooled.remove();
    await this.form.direct?.undo();
    throw failure;
  }

  /** Abandons a provisional upload and waits until it has settled (so nothing is still in flight). */
  private async settleRun(pending: Pending<T>, reason: Error): Promise<void> {
    pending.abandon(reason);
    const result = await pending.run?.catch(() => undefined);
    // A run cannot complete without its late fields; should a provider answer success anyway, take it back.
    if (result !== undefined) await pending.consumer.undo(result);
  }
}

function toGatewayError(error: unknown): GatewayError {
  return error instanceof GatewayError ? error : formErrors.malformed((error as Error)?.message ?? String(error));
}
