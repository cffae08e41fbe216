/**
 * A file download's body as fastify sends it: `reply.send(new DownloadBody(upstreamBody))`.
 *
 * fastify sends a stream payload with `payload.pipe(res)` (and watches both ends with
 * `stream.finished`). Piped straight into the response, every chunk read from the provider's
 * socket (64 KiB at most) became one write syscall of its own, and each one paused and resumed the
 * provider's body: node:http corks the socket for each `res.write()` until the next tick, so the
 * write is buffered, returns false (more than the socket's 16 KiB high-water mark is pending), and
 * `pipe` pauses the source until the 'drain' that follows the uncork
 * (https://nodejs.org/api/stream.html#writablecork, https://nodejs.org/api/stream.html#event-drain).
 *
 * Here `pipe` is overridden: the chunks that arrive within one turn of the event loop are queued
 * and written together at its end (`setImmediate`), corked, so the kernel gets them in one
 * `writev`. Backpressure is kept: the source is paused while more than MAX_QUEUED_BYTES wait in
 * the queue, and, when the response refused a write and the socket still holds bytes the kernel
 * did not take, until 'drain'. The
 * bytes, their order and the response's headers are what `pipe` gave. A source that is a
 * ForwardableBody (core/forwardable-body.ts: OpenAI and Azure file content) hands its chunks
 * straight to the queue, without its stream machinery, and is held back through its own control
 * instead of `pause()`. This object carries no data
 * itself: it ends when the source has ended (so fastify's `finished` sees the end), fails with the
 * source's error, and destroying it (fastify does when the client goes away) destroys the source,
 * which aborts the upstream request.
 */
import { finished, Readable, type Writable } from 'node:stream';
import { ForwardableBody, type ForwardingControl } from '../core/forwardable-body.ts';
import { streamedBytes } from '../core/stream-memory.ts';

/** Queued chunks above this pause the source (a few socket reads' worth: the memory stays bounded). */
const MAX_QUEUED_BYTES = 512 * 1024;

export class DownloadBody extends Readable {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private sourcePaused = false;
  private waitingDrain = false;
  private destination: Writable | undefined;
  /** What holds the source back and lets it go on: the source itself, or its forwarding control. */
  private flow: ForwardingControl;
  private endDestination = true;
  private draining = false;
  private readonly flushSoon = () => this.flush();
  private readonly onDrain = () => {
    this.waitingDrain = false;
    this.sourcePaused = false;
    this.flow.resume();
    if (this.queue.length > 0) this.scheduleFlush();
  };

  constructor(private readonly source: Readable) {
    super();
    this.flow = source;
    // An error or a close before the end fails this stream (fastify then cuts the response or, before the first byte, answers the error).
    finished(source, (error) => {
      if (error) this.destroy(error);
    });
  }

  /**
   * Called only when this stream is consumed without `pipe`: fastify's HEAD route resumes the
   * payload and sends no body. The source is then read to its end and dropped, as before.
   */
  override _read(): void {
    if (this.destination || this.draining) return;
    this.draining = true;
    this.source.on('data', (chunk: Buffer) => streamedBytes(chunk.length));
    this.source.once('end', () => this.push(null));
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (this.destination || this.draining) throw new Error('DownloadBody is consumed once');
    this.destination = destination as unknown as Writable;
    this.endDestination = options?.end !== false;
    this.source.once('end', () => this.finish());
    if (this.source instanceof ForwardableBody) this.flow = this.source.forwardChunks((chunk) => this.enqueue(chunk));
    else this.source.on('data', (chunk: Buffer) => this.enqueue(chunk));
    return destination;
  }

  private enqueue(chunk: Buffer): void {
    streamedBytes(chunk.length); // core/stream-memory.ts: frees the dead chunks every few MiB
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= MAX_QUEUED_BYTES && !this.sourcePaused) {
      this.sourcePaused = true;
      this.flow.pause();
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushSoon);
  }

  /** Writes the queued chunks corked (one writev), then resumes the source unless the socket holds bytes back. */
  private flush(): void {
    this.flushScheduled = false;
    const destination = this.destination!;
    if (this.destroyed || destination.destroyed || this.waitingDrain) return;
    this.writeQueued(destination);
    if (destination.writableNeedDrain && destination.writableLength > 0) {
      // A write was refused and the kernel did not take it all: wait for 'drain', as pipe would (the source stays or gets paused).
      if (!this.sourcePaused) {
        this.sourcePaused = true;
        this.flow.pause();
      }
      this.waitingDrain = true;
      destination.once('drain', this.onDrain);
    } else if (this.sourcePaused) {
      this.onDrain();
    }
  }

  private writeQueued(destination: Writable): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    this.queuedBytes = 0;
    destination.cork();
    for (const chunk of queue) destination.write(chunk);
    destination.uncork();
  }

  private finish(): void {
    const destination = this.destination!;
    if (this.destroyed || destination.destroyed) return;
    this.writeQueued(destination);
    // As pipe does: the response ends on this stream's 'end', after fastify's own 'end' listener has run.
    if (this.endDestination) this.once('end', () => destination.destroyed || destination.end());
    this.push(null);
    this.resume(); // no data of its own: flowing, it emits 'end' at once
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.destination?.removeListener('drain', this.onDrain);
    if (!this.source.destroyed && !this.source.readableEnded) this.source.destroy(error ?? undefined);
    callback(error);
  }
}
