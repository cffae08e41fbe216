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
/** Line breaks the epilogue filler is cut from (a multipart epilogue is ignored, RFC 2046 §5.1.1). */
const FILLER = Buffer.from('\r\n'.repeat(32 * 1024));

export interface FramedBodyOptions {
  /**
   * The length the request declared, counting the file and tail at their largest: a body that
   * would grow past it fails; one that ends short is followed, after the tail, by as many filler
   * bytes (line breaks) as it fell short by, so the length sent is exactly this.
   */
  length?: number;
}

/**
 * `open` is called when the request starts sending (not before), `tail` once the file's bytes
 * have all been handed on; a tail that rejects fails the body before it completes, so the
 * receiver never sees a complete request.
 */
export function framedBody(head: Buffer, open: () => Readable, tail: () => Buffer | Promise<Buffer>, options: FramedBodyOptions = {}): Readable {
  let source: Readable | undefined;
  const declared = options.length;
  /** Filler bytes still to push once the tail is out (see `length`). */
  let filler = 0;
  let fillerStarted = false;
  const pushFiller = (body: Readable) => {
    while (filler > 0) {
      // An odd shortfall starts with a space, so the filler stays whole line breaks after it.
      const piece = filler % 2 === 1 ? Buffer.from(' ') : FILLER.subarray(0, Math.min(filler, FILLER.length));
      filler -= piece.length;
      if (!body.push(piece)) return;
    }
    body.push(null);
  };
  const start = (body: Readable) => {
    body.push(head);
    const file = open();
    source = file;
    let ended = false;
    let sent = head.length;
    const count = !isCounted(file); // e.g. a spool read; not the bytes a form pump or a shared read counted
    file.on('data', (chunk: Buffer | string) => {
      if (count) streamedBytes(chunk.length);
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (declared !== undefined) {
        sent += buffer.length;
        if (sent > declared) {
          body.destroy(new Error(`the body is longer than the ${declared} bytes its request declared`));
          return;
        }
      }
      if (!body.push(buffer)) file.pause();
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
          (last) => {
            if (body.destroyed) return;
            if (declared !== undefined && sent + last.length > declared) {
              body.destroy(new Error(`the body is longer than the ${declared} bytes its request declared`));
              return;
            }
            body.push(last);
            if (declared === undefined) {
              body.push(null);
              return;
            }
            filler = declared - sent - last.length;
            fillerStarted = true;
            pushFiller(body);
          },
          (error: Error) => body.destroy(error),
        );
    });
  };
  return new Readable({
    highWaterMark: BODY_BUFFER_BYTES,
    read() {
      if (fillerStarted) pushFiller(this);
      else if (source) source.resume();
      else start(this);
    },
    destroy(error, callback) {
      source?.destroy();
      callback(error);
    },
  });
}
