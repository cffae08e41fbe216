/**
 * A response body from upstream that is an ordinary Readable for any consumer, and can also hand
 * its chunks straight to one consumer (`forwardChunks`), skipping the stream machinery between
 * the producer and that consumer: no `push` into a buffer, no 'data' event, no `read()` scheduled
 * per chunk (https://nodejs.org/api/stream.html#api-for-stream-implementers). A download's bytes
 * go from the provider's socket to the client's through it (http/download-body.ts); every other
 * consumer (batch inputs, copies, the CLI, the library face) reads it as a stream.
 *
 * The producer (providers/shared/buffered-request.ts: undici's dispatch handler) calls `deliver`
 * for each chunk and stops when it returns false, until its `resume` is called; `end` at the end;
 * `destroy(error)` on a failure. Destroying the body (a consumer that stops early, a client gone)
 * calls the producer's `abort`, which aborts the upstream request unless it already completed.
 */
import { Readable } from 'node:stream';

export interface BodyProducer {
  /** Delivery may go on (after `deliver` returned false). */
  resume(): void;
  /** The body was destroyed (by its consumer or a failure): stop producing unless already done (abort the request). */
  abort(error: Error | null): void;
}

/** What the one consumer of `forwardChunks` calls to hold the producer back and let it go on. */
export interface ForwardingControl {
  pause(): void;
  resume(): void;
}

/** Same as undici's response body and fs streams (https://nodejs.org/api/stream.html#buffering). */
const HIGH_WATER_MARK = 64 * 1024;

export class ForwardableBody extends Readable {
  private onChunk: ((chunk: Buffer) => void) | null = null;
  private held = false;

  constructor(private readonly producer: BodyProducer) {
    super({ highWaterMark: HIGH_WATER_MARK });
  }

  /** The producer's next chunk; false: deliver no more until `producer.resume()`. */
  deliver(chunk: Buffer): boolean {
    const onChunk = this.onChunk;
    if (onChunk === null) return this.push(chunk);
    onChunk(chunk);
    return !this.held;
  }

  /** The producer's end: after the chunks it delivered. */
  finish(): void {
    this.push(null);
  }

  /**
   * From now on every chunk goes to `onChunk` as it arrives, in order (those already buffered
   * first, at once); the body still ends with 'end' and fails with 'error', as a stream does.
   */
  forwardChunks(onChunk: (chunk: Buffer) => void): ForwardingControl {
    if (this.onChunk) throw new Error('ForwardableBody forwards to one consumer');
    this.onChunk = onChunk;
    for (let chunk = this.read() as Buffer | null; chunk !== null; chunk = this.read() as Buffer | null) onChunk(chunk);
    this.resume(); // flowing with nothing buffered: 'end' follows finish() at once
    this.producer.resume(); // in case a full buffer had held it
    return {
      pause: () => {
        this.held = true;
      },
      resume: () => {
        if (!this.held) return;
        this.held = false;
        this.producer.resume();
      },
    };
  }

  override _read(): void {
    if (this.onChunk === null) this.producer.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.onChunk = null;
    this.producer.abort(error);
    callback(error);
  }
}
