/**
 * What the request log line says about a request: fastify's default fields, with the values
 * of query parameters that carry keys (`/key/info?key=sk-…`) replaced, so no log line ever
 * holds a key (README "Running it"). Any value that looks like a virtual key is replaced whatever its name.
 */
import type { FastifyRequest } from 'fastify';

const SECRET_NAMES = /^(key|keys|api[-_]?key|x[-_]key|token|access[-_]token|master[-_]key|secret|password)(\[\])?$/i;
const KEY_LIKE = /^sk-/i;
const REDACTED = '[redacted]';

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The URL with secret-bearing query values replaced (the path and other parameters kept). */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const query = url
    .slice(mark + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      const name = pair.slice(0, equals);
      return SECRET_NAMES.test(decoded(name)) || KEY_LIKE.test(decoded(pair.slice(equals + 1)).trim()) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, mark)}?${query}`;
}

/** pino serializer for `req` (fastify logs it on "incoming request"). */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
