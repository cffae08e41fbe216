/** /openapi.json and a Swagger UI at /docs to try every route (no key needed to read them). */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { openApiDocumentFor } from '../openapi-document.ts';

/** `providerKinds`: the kinds of the configured provider list, for the provider enums. */
export async function registerDocs(app: FastifyInstance, providerKinds: readonly string[]): Promise<void> {
  await app.register(swagger, { mode: 'static', specification: { document: openApiDocumentFor(providerKinds) as never } });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { tryItOutEnabled: true }, uiHooks: {}, staticCSP: false });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
