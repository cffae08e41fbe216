/** Resolves the caller's key to a Principal on every route not marked public. */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../../core/access-policy.ts';
import type { KeyService } from '../../services/key-service.ts';
import { failLater } from '../hook-errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** The key as presented, for /key/info without arguments. */
    presentedKey: string | undefined;
  }
  interface FastifyContextConfig {
    /** Reachable without a key (health, docs). */
    public?: boolean;
  }
}

/** Key from `Authorization: Bearer`, `api-key` (Azure clients) or `x-api-key`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  return presentedKeyIn(request.headers);
}

/** presentedKey() from the request's headers. */
export function presentedKeyIn(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match ? match[1]!.trim() : authorization.trim();
  }
  const apiKey = headers['api-key'] ?? headers['x-api-key'];
  return Array.isArray(apiKey) ? apiKey[0] : apiKey;
}

export function registerAuth(app: FastifyInstance, keys: KeyService): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('presentedKey', undefined);
  // Callback form: a key that needs no database lookup (master, cached) is settled without a
  // promise; a refusal is passed on as hook-errors.ts says.
  app.addHook('onRequest', (request, _reply, done) => {
    // The Swagger UI's own routes (registered by its plugin) are public like /openapi.json.
    if (request.routeOptions.config.public || request.routeOptions.url?.startsWith('/docs')) return done();
    request.presentedKey = presentedKey(request);
    let principal: Principal | Promise<Principal>;
    try {
      principal = keys.authenticateNow(request.presentedKey);
    } catch (error) {
      return failLater(done, error);
    }
    if (!(principal instanceof Promise)) {
      request.principal = principal;
      return done();
    }
    principal.then((found) => {
      request.principal = found;
      done();
    }, done);
  });
}
