/** Keys and users (README "Security"): admin-only creation, self-service info. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors } from '../../core/errors.ts';
import type { Runtime } from '../../runtime.ts';
import { singleQueryValue, type Query } from '../query-values.ts';

// Bounds keep hostile bodies from reaching the database as megabyte ids (README "Endpoints" (errors)).
const id = z.string().min(1).max(256);
const stringList = z.array(z.string().min(1).max(512)).max(1000);
const metadata = z
  .record(z.string(), z.unknown())
  .refine((value) => JSON.stringify(value).length <= 64 * 1024, 'metadata must serialise to at most 64 KiB');
const generateKeyBody = z.object({
  models: stringList.optional(),
  user_id: id.optional(),
  team_id: id.optional(),
  key_alias: id.optional(),
  duration: z.string().min(1).max(64).nullable().optional(),
  metadata: metadata.optional(),
});
const newUserBody = z.object({
  user_id: id.optional(),
  models: stringList.optional(),
  user_role: z.string().max(64).optional(),
  team_id: id.optional(),
  key_alias: id.optional(),
  duration: z.string().min(1).max(64).nullable().optional(),
});
const deleteKeysBody = z.object({ keys: stringList.min(1) });

/** Parses a JSON body with a zod schema; failures are 400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.join('.') || null;
  throw errors.invalidRequest(`Invalid request body${param ? ` at '${param}'` : ''}: ${issue.message}`, param);
}

function requireAdmin(request: FastifyRequest): void {
  if (!request.principal.isAdmin) throw errors.adminOnly();
}

function checkModels(runtime: Runtime, models: string[] | undefined): void {
  const known = new Set(runtime.registry.modelNames());
  // Names of skipped entries are still the config's names (a LiteLLM config's keys list them).
  const unknown = (models ?? []).filter((name) => !known.has(name) && !runtime.registry.unsupportedReason(name));
  if (unknown.length > 0) throw errors.unknownModels(unknown);
}

export function registerKeyRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { keys } = runtime;

  app.post('/key/generate', async (request) => {
    requireAdmin(request);
    const body = parseBody(generateKeyBody, request.body);
    checkModels(runtime, body.models);
    return keys.generateKey(body);
  });

  app.post('/user/new', async (request) => {
    requireAdmin(request);
    const body = parseBody(newUserBody, request.body);
    checkModels(runtime, body.models);
    return keys.newUser(body);
  });

  // The key asked about: `?key=` (LiteLLM's way), else the `x-key` header (stays out of URLs and
  // access logs), else the caller's own key.
  app.get('/key/info', async (request: FastifyRequest<{ Querystring: Query }>) => {
    const header = request.headers['x-key'];
    const asked = singleQueryValue(request.query, 'key') ?? (Array.isArray(header) ? header[0] : header);
    return keys.keyInfo(request.principal, asked || undefined, request.presentedKey);
  });

  app.post('/key/delete', async (request) => keys.deleteKeys(request.principal, parseBody(deleteKeysBody, request.body).keys));

  app.get('/user/info', async (request: FastifyRequest<{ Querystring: Query }>) =>
    keys.userInfo(request.principal, singleQueryValue(request.query, 'user_id') || undefined),
  );
}
