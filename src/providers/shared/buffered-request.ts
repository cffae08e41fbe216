/**
 * An undici request whose success body is read whole into memory — what `request()` followed by
 * `body.text()` does, without the body stream in between (undici's `RequestHandler` and its
 * `Readable`: ~5 % of the gateway's CPU per chat completion in a profile). Used for answers the
 * caller reads whole anyway (UpstreamClient.text / json); a status the caller does not expect
 * still gets a stream body, which it reads up to a bound (readErrorText). With no status buffered,
 * every answer is such a stream: file bytes (UpstreamClient.forwardable), which a download
 * forwards to its client chunk by chunk (core/forwardable-body.ts).
 *
 * Written against undici's documented dispatch handler
 * (https://undici.nodejs.org/#/docs/api/Dispatcher?id=dispatcherdispatchoptions-handler) and kept
 * to the semantics of undici's own `request()` (lib/api/api-request.js): resolves at the response
 * headers, an aborted signal (or CallContext.whenAborted) aborts the call with `signal.reason` (before the headers: the
 * promise rejects; after: the body does), the text skips a UTF-8 BOM and decodes as UTF-8.
 */
import { errors as undiciErrors, util as undiciUtil, type Dispatcher } from 'undici';
import type { CallContext } from '../../core/call-context.ts';
import { ForwardableBody } from '../../core/forwardable-body.ts';

/** The body of an expected status, already on its way into memory. */
export interface BufferedBody {
  text(): Promise<string>;
}

export interface BufferedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** `BufferedBody` for a status `buffered(status)` accepted, else a stream (core/forwardable-body.ts). */
  body: BufferedBody | ForwardableBody;
}

type Abort = (reason?: Error) => void;

class BufferedHandler {
  private abort: Abort | null = null;
  private reason: Error | null = null;
  private removeAbortListener: (() => void) | null = null;
  private settled = false;
  private chunks: Buffer[] | null = null;
  private length = 0;
  private stream: ForwardableBody | null = null;
  private resolveText: ((text: string) => void) | null = null;
  private rejectText: ((error: Error) => void) | null = null;
  private textPromise: Promise<string> | null = null;
  /** The call ended (completed or failed): a stream destroyed from here on aborts nothing. */
  private finished = false;

  constructor(
    private readonly resolve: (response: BufferedResponse) => void,
    private readonly reject: (error: Error) => void,
    private readonly buffered: (status: number) => boolean,
    context: CallContext,
  ) {
    const onAbort = () => {
      this.reason = abortReason(context.signal);
      if (this.stream) this.stream.destroy(this.reason);
      else if (this.abort) this.abort(this.reason);
    };
    if (context.whenAborted) {
      // Called at once when the client already left: the call is then aborted on connect.
      this.removeAbortListener = context.whenAborted(onAbort);
      return;
    }
    const signal = context.signal;
    if (signal?.aborted) this.reason = abortReason(signal);
    else if (signal) {
      signal.addEventListener('abort', onAbort, { once: true });
      this.removeAbortListener = () => signal.removeEventListener('abort', onAbort);
    }
  }

  onConnect(abort: Abort): void {
    if (this.reason) {
      abort(this.reason);
      return;
    }
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the answer follows
    const headers = undiciUtil.parseHeaders(rawHeaders) as BufferedResponse['headers'];
    this.settled = true;
    if (this.buffered(statusCode)) {
      this.chunks = [];
      this.textPromise = new Promise<string>((resolve, reject) => {
        this.resolveText = resolve;
        this.rejectText = reject;
      });
      // Whoever reads the text handles its failure; until then it must not count as unhandled.
      this.textPromise.catch(() => {});
      const textPromise = this.textPromise;
      this.resolve({ statusCode, headers, body: { text: () => textPromise } });
      return true;
    }
    const abort = this.abort;
    this.stream = new ForwardableBody({
      resume,
      // A reader that stops early (readErrorText, a client gone) closes the connection, as undici's body does.
      abort: (error) => {
        if (!this.finished) abort?.(error ?? new undiciErrors.RequestAbortedError());
      },
    });
    this.stream.once('close', () => this.cleanUp());
    this.resolve({ statusCode, headers, body: this.stream });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.stream) return this.stream.deliver(chunk);
    this.chunks!.push(chunk);
    this.length += chunk.length;
    return true;
  }

  onComplete(): void {
    this.finished = true;
    if (this.stream) {
      this.stream.finish();
      return;
    }
    this.cleanUp();
    this.resolveText?.(decodeUtf8(this.chunks!, this.length));
    this.chunks = null;
  }

  onError(error: Error): void {
    this.finished = true;
    this.cleanUp();
    if (!this.settled) {
      this.settled = true;
      this.reject(error);
      return;
    }
    if (this.stream) {
      const stream = this.stream;
      queueMicrotask(() => stream.destroy(error));
      return;
    }
    this.chunks = null;
    this.rejectText?.(error);
  }

  private cleanUp(): void {
    this.removeAbortListener?.();
    this.removeAbortListener = null;
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  return (signal?.reason as Error | undefined) ?? new undiciErrors.RequestAbortedError();
}

/** undici's body.text(): a leading UTF-8 BOM skipped, the rest decoded as UTF-8. */
function decodeUtf8(chunks: Buffer[], length: number): string {
  if (chunks.length === 0 || length === 0) return '';
  const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString('utf8', start);
}

/** Dispatches the request; resolves at the response headers like undici's `request()`. */
export function bufferedRequest(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  context: CallContext,
  buffered: (status: number) => boolean,
): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    const handler = new BufferedHandler(resolve, reject, buffered, context);
    dispatcher.dispatch(options, handler as unknown as Dispatcher.DispatchHandler);
  });
}
