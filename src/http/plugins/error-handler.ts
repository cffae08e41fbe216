/** The one place that shapes and logs errors: anything thrown becomes an OpenAI error envelope. */
import { STATUS_CODES } from 'node:http';
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import { errors, GatewayError, upstreamLogFields } from '../../core/errors.ts';

const frameworkError = (status: number, code: string, message: string) => new GatewayError({ status, type: 'invalid_request_error', code, message });

/** fastify's own errors (FST_ERR_*, parser failures) in the envelope, keeping their 4xx status. */
function fromFramework(error: FastifyError): GatewayError | undefined {
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
    return errors.invalidRequest('The request body is not valid JSON.');
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return frameworkError(413, 'body_too_large', 'The request body is too large.');
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return frameworkError(415, 'unsupported_media_type', 'Unsupported Content-Type: send application/json (or multipart/form-data for uploads).');
  }
  if (error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return frameworkError(400, 'invalid_content_length', 'The body length does not match Content-Length.');
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return errors.invalidRequest('The JSON body is empty.');
  if (error.validation) return errors.invalidRequest(error.message);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    const code = error.code ? error.code.replace(/^FST_(ERR_)?/, '').toLowerCase() : 'invalid_request';
    return frameworkError(error.statusCode, code, error.message || STATUS_CODES[error.statusCode] || 'Invalid request.');
  }
  return undefined;
}

/** Any error as the GatewayError the client gets. */
export function shapeError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return (error == null ? undefined : fromFramework(error as FastifyError)) ?? errors.internal(error);
}

/** The error's log line: the provider's own message is logged here, with the request id, and never sent (README "Endpoints" (errors)). */
export function logShapedError(log: FastifyBaseLogger, error: unknown, shaped: GatewayError): void {
  const upstream = upstreamLogFields(error);
  if (shaped.status >= 500) {
    log.error({ err: error, code: shaped.code, ...upstream }, shaped.message);
  } else {
    log.info({ code: shaped.code, status: shaped.status, ...upstream }, shaped.message);
  }
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const shaped = shapeError(error);
    logShapedError(request.log, error, shaped);
    if (reply.sent || reply.raw.headersSent || shaped.code === 'client_closed_request') {
      // Mid-stream failure (the status is gone) or a client that left: end the connection
      // instead of answering, so a half-closed socket cannot hold a graceful shutdown.
      reply.raw.destroy();
      request.raw.destroy();
      return;
    }
    void reply.status(shaped.status).headers(shaped.headers).send(shaped.toJSON());
  });
}
