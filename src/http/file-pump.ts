/**
 * Moves the file part of an upload form from busboy to where it goes — a spool file, a stream
 * for a provider upload, or both at once — handing each chunk busboy emits on by reference (no
 * wrapper stream or generator per chunk). The source is paused while a destination is full, so
 * memory stays at a few buffers whatever the file's size.
 *
 * A file that is cut, stalls or goes over the size limit never ends normally: the output stream
 * fails with the form's error (an upload that consumes it is abandoned before it completes) and
 * `done` rejects.
 */
import { Readable } from 'node:stream';
import type { SpoolWriter } from '../core/spooled-file.ts';
import { markCounted, streamedBytes } from '../core/stream-memory.ts';

const HEAD_BYTES = 512;
/** Bytes the output holds for a consumer that is slower than the client (or not started yet). */
const OUTPUT_BUFFER_BYTES = 1024 * 1024;

export interface FilePumpOptions {
  /** Written with every byte of the file. */
  spool?: SpoolWriter | undefined;
  /** Make `output`, a stream of the file's bytes for one consumer. */
  output?: boolean;
  /** The error the file fails with when busboy's stream errors or closes early (a cut, a stall). */
  failureOf(error: unknown): Error;
  /** At the end of the part: an error when it must not count as complete (truncated at the limit, a form failure). */
  endFailure(): Error | undefined;
  /** Called with the size of every chunk as it passes (metrics). */
  counted(bytes: number): void;
  /** Called (instead of passing the chunk on) when the file grows past `maxBytes`; it fails the form. */
  overflow(): void;
}

export class FilePump {
  readonly output: Readable | undefined;
  /** Settles once the part ended (the caller closes the spool); rejects when the file failed. */
  readonly done: Promise<void>;
  /** The first 512 bytes (fewer if the file is shorter), as soon as they passed; pending if the file fails first. */
  readonly head: Promise<Buffer>;
  /** At most this many bytes may pass, once known: the chunk that would go past it goes nowhere (`overflow`). */
  maxBytes: number | undefined;
  private passed = 0;
  private readonly spool: SpoolWriter | undefined;
  private outputGone = false;
  /**
   * The output asked for more (its read() ran) and was not refilled past its mark since. Readable
   * calls read() once and then waits for a push, so this is remembered, not recomputed.
   */
  private outputWants = true;
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  private headReady!: (head: Buffer) => void;
  private ended = false;
  private failed = false;

  constructor(
    private readonly source: Readable & { truncated?: boolean },
    private readonly options: FilePumpOptions,
  ) {
    this.spool = options.spool;
    this.head = new Promise((resolve) => (this.headReady = resolve));
    if (options.output) {
      this.output = markCounted(new Readable({
        highWaterMark: OUTPUT_BUFFER_BYTES,
        read: () => {
          this.outputWants = true;
          this.resume();
        },
      }));
      this.output.on('error', () => undefined); // the consumer reads the error through iteration; never uncaught
      // The consumer gave up (e.g. the provider answered an error early): keep draining the source.
      this.output.once('close', () => {
        this.outputGone = true;
        this.resume();
      });
    }
    this.spool?.onDrain(() => this.resume());
    this.done = new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        if (this.failed) return;
        this.failed = true;
        this.output?.destroy(error);
        reject(error);
      };
      source.on('data', (chunk: Buffer) => this.onChunk(chunk));
      source.once('error', (error) => fail(options.failureOf(error)));
      source.once('close', () => {
        if (!this.ended) fail(options.failureOf(undefined));
      });
      // Failed while the caller was still preparing (e.g. creating the spool): its events are gone.
      if (source.destroyed) return fail(options.failureOf(source.errored));
      source.once('end', () => {
        this.ended = true;
        const failure = options.endFailure();
        if (failure) return fail(failure);
        this.headReady(Buffer.concat(this.headChunks));
        if (!this.outputGone) this.output?.push(null);
        resolve();
      });
    });
    this.done.catch(() => undefined); // read by the caller; never unhandled
  }

  private onChunk(chunk: Buffer): void {
    this.passed += chunk.length;
    if (this.maxBytes !== undefined && this.passed > this.maxBytes) return this.options.overflow();
    this.options.counted(chunk.length);
    streamedBytes(chunk.length);
    if (this.headLength < HEAD_BYTES) {
      this.headChunks.push(chunk.subarray(0, HEAD_BYTES - this.headLength));
      this.headLength += Math.min(chunk.length, HEAD_BYTES - this.headLength);
      if (this.headLength >= HEAD_BYTES) this.headReady(Buffer.concat(this.headChunks));
    }
    const spoolFull = this.spool ? !this.spool.write(chunk) : false;
    if (this.output && !this.outputGone && !this.output.push(chunk)) this.outputWants = false;
    if (spoolFull || !this.outputWants) this.source.pause();
  }

  private resume(): void {
    if (this.ended || this.failed || this.spool?.needsDrain) return;
    if (this.output && !this.outputGone && !this.outputWants) return;
    this.source.resume();
  }
}
