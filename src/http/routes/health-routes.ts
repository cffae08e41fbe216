/** Liveness (process up) and readiness (database answers). */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../core/errors.ts';
import type { Runtime } from '../../runtime.ts';

export function registerHealthRoutes(app: FastifyInstance, runtime: Runtime): void {
  app.get('/health/liveliness', { config: { public: true } }, async () => ({ status: 'healthy' }));
  app.get('/health/readiness', { config: { public: true } }, async () => {
    try {
      await runtime.database.ping();
    } catch (error) {
      throw errors.databaseUnavailable(error);
    }
    return { status: 'healthy', database: runtime.database.kind };
  });
}
