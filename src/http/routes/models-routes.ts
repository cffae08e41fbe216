/** GET /models: the model names this key may use. */
import type { FastifyInstance } from 'fastify';
import { isModelAllowed } from '../../core/access-policy.ts';
import type { Runtime } from '../../runtime.ts';

export function registerModelsRoutes(app: FastifyInstance, runtime: Runtime): void {
  const created = Math.floor(Date.now() / 1000);
  app.get('/models', async (request) => ({
    object: 'list',
    data: runtime.registry
      .modelNames()
      .filter((name) => isModelAllowed(request.principal, name))
      .map((id) => ({ id, object: 'model', created, owned_by: 'unifile' })),
  }));
}
