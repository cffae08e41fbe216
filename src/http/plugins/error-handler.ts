/** The one place that shapes and logs errors: anything thrown becomes an OpenAI error envelope. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { errors, GatewayError, upstreamLogFields } from '../../core/errors.ts';

function fromFramework(error: FastifyError): GatewayError | undefined {
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
    return errors.invalidRequest('The request body is not valid JSON.');
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new GatewayError({ status: 413, type: 'invalid_request_error', code: 'body_too_large', message: 'The request body is too large.' });
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return errors.invalidRequest(`Unsupported Content-Type: ${error.message}`);
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return errors.invalidRequest('The JSON body is empty.');
  if (error.validation) return errors.invalidRequest(error.message);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return errors.invalidRequest(error.message);
  }
  return undefined;
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const shaped = error instanceof GatewayError ? error : (fromFramework(error) ?? errors.internal(error));
    // The provider's own message is logged here, with the request id, and never sent (SPEC §7).
    const upstream = upstreamLogFields(error);
    if (shaped.status >= 500) {
      request.log.error({ err: error, code: shaped.code, ...upstream }, shaped.message);
    } else {
      request.log.info({ code: shaped.code, status: shaped.status, ...upstream }, shaped.message);
    }
    if (reply.sent || reply.raw.headersSent || shaped.code === 'client_closed_request') {
      // Mid-stream failure (the status is gone) or a client that left: end the connection
      // instead of answering, so a half-closed socket cannot hold a graceful shutdown.
      reply.raw.destroy();
      request.raw.destroy();
      return;
    }
    void reply.status(shaped.status).headers(shaped.headers).send(shaped.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = errors.routeNotFound(request.method, request.url.split('?')[0]!);
    void reply.status(404).send(error.toJSON());
  });
}
