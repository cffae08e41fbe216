/**
 * A request body made of a head, a file's bytes and a tail (multipart/form-data for OpenAI and
 * Azure, multipart/related for Cloud Storage), as one Readable that hands the file's chunks on by
 * reference: no generator or async iteration per chunk, and undici sends a Readable body through
 * its stream path (a write per chunk, pausing the source while the socket is full).
 */
import { Readable } from 'node:stream';
import { isCounted, streamedBytes } from '../../core/stream-memory.ts';

/** Bytes the body holds ahead of the socket. */
const BODY_BUFFER_BYTES = 256 * 1024;

/**
 * `open` is called when the request starts sending (not before), `tail` once the file's bytes
 * have all been handed on; a tail that rejects fails the body before it completes, so the
 * receiver never sees a complete request.
 */
export function framedBody(head: Buffer, open: () => Readable, tail: () => Buffer | Promise<Buffer>): Readable {
  let source: Readable | undefined;
  const start = (body: Readable) => {
    body.push(head);
    const file = open();
    source = file;
    let ended = false;
    const count = !isCounted(file); // e.g. a spool read; not the bytes a form pump or a shared read counted
    file.on('data', (chunk: Buffer | string) => {
      if (count) streamedBytes(chunk.length);
      if (!body.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) file.pause();
    });
    file.on('error', (error) => body.destroy(error));
    // Failed before the request started sending (e.g. the client's upload was cut): its events are gone.
    if (file.destroyed) {
      body.destroy(file.errored ?? new Error('the file stream closed before its end'));
      return;
    }
    file.once('close', () => {
      if (!ended) body.destroy(new Error('the file stream closed before its end'));
    });
    file.once('end', () => {
      ended = true;
      Promise.resolve()
        .then(tail)
        .then(
          (buffer) => {
            body.push(buffer);
            body.push(null);
          },
          (error: Error) => body.destroy(error),
        );
    });
  };
  return new Readable({
    highWaterMark: BODY_BUFFER_BYTES,
    read() {
      if (source) source.resume();
      else start(this);
    },
    destroy(error, callback) {
      source?.destroy();
      callback(error);
    },
  });
}
