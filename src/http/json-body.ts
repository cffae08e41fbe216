/**
 * The JSON body parser (replaces fastify's): an empty body is no body — the official Python
 * client sends `Content-Type: application/json` with nothing on GET, DELETE and bodiless POSTs
 * (README "Endpoints") — and a body is refused with 400 when it nests deeper than 64 levels (README "Endpoints" (limits)),
 * carries `__proto__`/`constructor.prototype` keys (prototype poisoning, as fastify refuses), or
 * holds a NUL or lone surrogate in any string (README "Endpoints" (errors)). Size is fastify's `bodyLimit` (413).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../core/errors.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../core/json-depth.ts';
import { assertSafeJson } from '../core/text-safety.ts';

/** Keys that could rewrite a prototype if the object were later merged with assignment. */
function assertNoPoisoning(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current === null || typeof current !== 'object') continue;
    if (Array.isArray(current)) {
      for (const item of current) stack.push(item);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(current, '__proto__')) throw errors.invalidRequest('The JSON body must not contain a "__proto__" key.');
    const constructorValue = (current as Record<string, unknown>).constructor;
    if (Object.prototype.hasOwnProperty.call(current, 'constructor') && constructorValue && typeof constructorValue === 'object' && 'prototype' in constructorValue) {
      throw errors.invalidRequest('The JSON body must not contain a "constructor.prototype" key.');
    }
    for (const item of Object.values(current)) stack.push(item);
  }
}

const SUSPECT_ESCAPE = /\\u(0000|d[89a-f])/i;

/** Parses JSON request text under the gateway's rules; `undefined` for an empty body. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw errors.invalidRequest(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw errors.invalidRequest('The request body is not valid JSON.');
  }
  if (text.includes('__proto__') || text.includes('constructor')) assertNoPoisoning(value);
  // NUL and lone surrogates can only arrive as \u0000 / \uD800–\uDFFF escapes (raw control
  // characters are invalid JSON, invalid UTF-8 decodes to U+FFFD).
  if (SUSPECT_ESCAPE.test(text)) assertSafeJson(value);
  return value;
}

export function registerJsonBodyParser(app: FastifyInstance, bodyLimitBytes: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: bodyLimitBytes }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** The largest JSON body read on a GET (a few filter fields). */
const MAX_GET_BODY_BYTES = 64 * 1024;

/**
 * The JSON body of a GET, which fastify leaves unread: the official Python client sends
 * `files.list(extra_body={...})` as a GET with a JSON body (README "Endpoints" (managed files): list filters may come from a
 * JSON body). Undefined without one; 413 beyond 64 KiB; the same rules as every JSON body.
 */
export async function readJsonBodyOfGet(request: FastifyRequest): Promise<unknown> {
  const type = request.headers['content-type'] ?? '';
  const length = request.headers['content-length'];
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if (!/^application\/json\b/i.test(type) || (!chunked && (length === undefined || length === '0'))) return undefined;
  const tooLarge = () =>
    new GatewayError({ status: 413, type: 'invalid_request_error', code: 'body_too_large', message: 'The request body is too large.' });
  if (Number(length) > MAX_GET_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of request.raw) {
    received += (chunk as Buffer).length;
    if (received > MAX_GET_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return parseJsonBody(Buffer.concat(chunks).toString('utf8'));
}
