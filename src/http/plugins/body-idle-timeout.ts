/**
 * README "Endpoints" (limits): a request body that sends no byte for `request_idle_timeout_seconds` is cut with 408.
 * Multipart uploads have their own clock in the form reader (it must also take back what the
 * upload started upstream); this hook covers every other body (JSON), which fastify reads
 * before any handler runs.
 */
import { finished, PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../core/errors.ts';

export function requestTimeoutError(idleTimeoutMs: number): GatewayError {
  return new GatewayError({
    status: 408,
    type: 'invalid_request_error',
    code: 'request_timeout',
    message: `The request body sent no data for ${Math.round(idleTimeoutMs / 100) / 10} seconds (general_settings.request_idle_timeout_seconds).`,
    headers: { connection: 'close' },
  });
}

const MULTIPART = /^multipart\//i;

function isMultipart(contentType: string | undefined): boolean {
  return contentType !== undefined && MULTIPART.test(contentType);
}

export function registerBodyIdleTimeout(app: FastifyInstance, idleTimeoutMs: number): void {
  /** The body passes through a watcher that fails it with 408 when no chunk arrived for the idle time. */
  const watch = (payload: Readable): PassThrough => {
    const watched = new PassThrough();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => watched.destroy(requestTimeoutError(idleTimeoutMs)), idleTimeoutMs);
      timer.unref();
    };
    payload.on('data', arm);
    watched.once('close', () => clearTimeout(timer));
    // pipe + finished rather than pipeline(): pipeline aborts an internal AbortController when it
    // settles, and the DOMException that creates showed as ~6 % of busy CPU in a chat profile.
    payload.pipe(watched);
    finished(payload, (error) => {
      clearTimeout(timer);
      if (error) watched.destroy(error);
    });
    arm();
    return watched;
  };
  // preParsing may hand fastify's body reader another stream (the watcher); the error handler
  // answers its 408 in the envelope and closes the connection.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const headers = request.raw.headers;
    const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
    if (!hasBody || request.raw.complete || isMultipart(headers['content-type'])) return done(null, payload);
    // Node's HTTP parser runs the request handler (and every promise it settles) as soon as the
    // headers are parsed, before it parses the body bytes that came in the same read: a small
    // JSON body is typically complete one event-loop phase later. `complete` then means the whole
    // body already arrived, so it cannot go idle and needs no watcher; otherwise it is watched
    // from there (the idle clock starts that much later, far below its one-second resolution).
    setImmediate(() => {
      if (request.raw.complete || request.raw.destroyed) done(null, payload);
      else done(null, watch(payload));
    });
  });
}
