/** GET /metrics in the Prometheus text format (no key needed: it carries no secrets). */
import type { FastifyInstance } from 'fastify';
import { metricsRegistry, recordRequest } from '../../core/metrics.ts';

export function registerMetrics(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    recordRequest({
      method: request.method,
      // The route pattern, not the URL: ids must not become label values.
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
    done();
  });
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
}
