/**
 * Errors raised by the HTTP layer itself, before any route runs (README "Endpoints" (errors)): malformed requests
 * the socket parser refuses (400, 408, 414, 431), bad percent-encoding and over-long path
 * parameters from the router, URLs that are too long (414) and methods a path does not take
 * (405). Each answers in the OpenAI envelope with its own status.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../../core/errors.ts';
import { failLater } from '../hook-errors.ts';

/** The longest request target served (bytes); longer → 414, as common servers do at 8 KiB. */
export const MAX_URL_LENGTH = 8192;
/**
 * The longest path parameter routed. Plain Vertex file ids are URL-encoded `gs://` object
 * names (GCS names go up to 1,024 UTF-8 bytes, i.e. ~3 KiB encoded), so ids of several KiB route.
 */
export const MAX_PARAM_LENGTH = 6144;

const request = (status: number, code: string, message: string, param: string | null = null) =>
  new GatewayError({ status, type: 'invalid_request_error', code, message, param });

export const edgeErrors = {
  urlTooLong: () => request(414, 'uri_too_long', `The request URL is longer than ${MAX_URL_LENGTH} bytes.`),
  headersTooLarge: () => request(431, 'request_header_fields_too_large', 'The request headers are too large.'),
  badUrl: () => request(400, 'invalid_url', 'The request URL is not valid: a percent-encoded sequence is malformed.'),
  paramTooLong: () => request(400, 'invalid_value', `A path parameter (file id) is longer than ${MAX_PARAM_LENGTH} characters.`, 'file_id'),
  methodNotAllowed: (method: string, allowed: string[]) =>
    new GatewayError({
      status: 405,
      type: 'invalid_request_error',
      code: 'method_not_allowed',
      message: `Method ${method} is not allowed here. Allowed: ${allowed.join(', ')}.`,
      headers: { allow: allowed.join(', ') },
    }),
  timeout: () => request(408, 'request_timeout', 'The request was not received in time.'),
  expectationFailed: () => request(417, 'expectation_failed', 'Only "Expect: 100-continue" is supported.'),
  malformed: () => request(400, 'malformed_request', 'The request is not valid HTTP.'),
};

/** fastify's `frameworkErrors` option: router failures answered through a normal reply. */
export function frameworkErrors(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const shaped =
    req.raw.url && req.raw.url.length > MAX_URL_LENGTH
      ? edgeErrors.urlTooLong()
      : error.code === 'FST_ERR_BAD_URL'
        ? edgeErrors.badUrl()
        : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? edgeErrors.paramTooLong()
          : errors.invalidRequest('The request could not be routed.');
  req.log.info({ code: shaped.code, status: shaped.status }, shaped.message);
  void reply.status(shaped.status).header('x-request-id', req.id).headers(shaped.headers).send(shaped.toJSON());
}

/** fastify's `clientErrorHandler`: the socket parser refused the request, so answer on the raw socket. */
export function clientErrorHandler(connectionError: ConnectionError, socket: Socket): void {
  // Node hands over the bytes it had read as a Buffer (typed by fastify as its JSON form).
  const error = connectionError as unknown as Error & { code?: string; rawPacket?: Buffer };
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let shaped: GatewayError;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') shaped = edgeErrors.timeout();
  else if (error.code === 'HPE_HEADER_OVERFLOW') {
    const lineEnd = error.rawPacket?.indexOf('\r\n') ?? -1;
    shaped = lineEnd === -1 || lineEnd > MAX_URL_LENGTH ? edgeErrors.urlTooLong() : edgeErrors.headersTooLarge();
  } else shaped = edgeErrors.malformed();
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(shaped.toJSON());
  socket.end(
    `HTTP/1.1 ${shaped.status} ${STATUS_CODES[shaped.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Route patterns by method, to tell 405 (the path exists with other methods) from 404. */
function routeMatcher(app: FastifyInstance): (path: string) => string[] {
  const routes: Array<{ methods: string[]; pattern: RegExp }> = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    routes.push({ methods: [route.method].flat().map(String), pattern: new RegExp(`^${source}/?$`) });
  });
  return (path) => [...new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods))];
}

/** The URL-length check, the 404/405 handler, unknown `Expect` values. Call before any route is registered. */
export function registerEdgeGuards(app: FastifyInstance): void {
  const methodsFor = routeMatcher(app);
  // Node answers an Expect other than 100-continue itself (417, empty body) unless this is handled
  // (https://nodejs.org/api/http.html#event-checkexpectation).
  app.server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(edgeErrors.expectationFailed().toJSON());
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.raw.url && req.raw.url.length > MAX_URL_LENGTH) return failLater(done, edgeErrors.urlTooLong());
    done();
  });
  app.setNotFoundHandler(async (req) => {
    const path = (req.raw.url ?? '/').split('?')[0]!;
    const allowed = methodsFor(path).filter((method) => method !== req.method);
    if (allowed.length > 0) throw edgeErrors.methodNotAllowed(req.method, allowed);
    throw errors.routeNotFound(req.method, path.length > 200 ? `${path.slice(0, 200)}…` : path);
  });
}
