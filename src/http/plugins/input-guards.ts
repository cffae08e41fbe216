/**
 * Query values and path parameters are checked once, before any route reads them (README "Endpoints" (errors)):
 * a NUL or a lone surrogate (`?purpose=%00`, `/files/%00`, `%ED%A0%80`) is a 400 naming the
 * parameter, so it never reaches a provider or the database. A multipart body sent to a JSON
 * route is a 415, not an empty body.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../core/errors.ts';
import { assertSafeText } from '../../core/text-safety.ts';
import { failLater } from '../hook-errors.ts';

/** Route parameter names as the API documents them. */
const PARAM_NAMES: Record<string, string> = { fileId: 'file_id', jobId: 'fine_tuning_job_id' };

/** Only the upload route reads a multipart body; anywhere else it must not pass for "no body". */
function acceptsMultipart(method: string, url: string | undefined): boolean {
  return method === 'POST' && url !== undefined && url.endsWith('/files');
}

export function registerInputGuards(app: FastifyInstance): void {
  // Callback-form hooks (no promise per request), failures passed on as hook-errors.ts says.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.isMultipart() && !acceptsMultipart(request.method, request.routeOptions.url)) {
      return failLater(done, new GatewayError({
        status: 415,
        type: 'invalid_request_error',
        code: 'unsupported_media_type',
        message: 'Unsupported Content-Type: this route takes application/json (multipart/form-data is for uploads to /files).',
      }));
    }
    done();
  });
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
        assertSafeText(name, 'query parameter name');
        for (const item of [value].flat()) if (typeof item === 'string') assertSafeText(item, name);
      }
      for (const [name, value] of Object.entries((request.params ?? {}) as Record<string, unknown>)) {
        if (typeof value === 'string') assertSafeText(value, PARAM_NAMES[name] ?? name);
      }
    } catch (error) {
      return failLater(done, error);
    }
    done();
  });
}
