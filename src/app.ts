/** buildApp: the fastify instance with plugins and routes, not listening (tests use it). */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerBodyIdleTimeout } from './http/plugins/body-idle-timeout.ts';
import { registerAuth } from './http/plugins/auth.ts';
import { ChatFastPath } from './http/chat-fast-path.ts';
import { registerBatchesRoutes } from './http/routes/batches-routes.ts';
import { registerChatRoutes } from './http/routes/chat-routes.ts';
import { registerErrorHandler } from './http/plugins/error-handler.ts';
import { registerFilesRoutes } from './http/routes/files-routes.ts';
import { registerFineTuningRoutes } from './http/routes/fine-tuning-routes.ts';
import { errors } from './core/errors.ts';
import { clientErrorHandler, frameworkErrors, MAX_PARAM_LENGTH, registerEdgeGuards } from './http/plugins/framework-errors.ts';
import { serializeRequest } from './http/log-redaction.ts';
import { batchedStdout, lazyChildLoggers, OneLineLogController, RequestLines } from './http/request-logging.ts';
import { registerInputGuards } from './http/plugins/input-guards.ts';
import { registerJsonBodyParser } from './http/json-body.ts';
import { registerHealthRoutes } from './http/routes/health-routes.ts';
import { registerKeyRoutes } from './http/routes/key-routes.ts';
import { registerDocs } from './http/routes/docs-routes.ts';
import { registerMetrics } from './http/routes/metrics-routes.ts';
import { registerModelsRoutes } from './http/routes/models-routes.ts';
import { registerUiRoutes } from './http/routes/ui-routes.ts';
import type { Runtime } from './runtime.ts';

export interface AppOptions {
  /** pino level; "silent" in tests. */
  logLevel?: string;
  /** Where log lines go (default stdout); tests collect them to assert what is (not) logged. */
  logStream?: { write(line: string): void };
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["api-key"]',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  'req.headers["x-key"]',
  'headers.authorization',
  'headers["api-key"]',
];

/** fastify's `genReqId`: the caller's x-request-id when it is a sane token, else a fresh one. */
function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export async function buildApp(runtime: Runtime, options: AppOptions = {}): Promise<FastifyInstance> {
  const jsonBodyLimit = Math.floor(runtime.config.maxRequestBodyMb * 1024 * 1024);
  const logStream = options.logStream ?? batchedStdout();
  // pino's default `base`, given explicitly: the request lines written beside pino repeat it.
  // Fields named like a serializer (fastify's req, res, err) or a redaction path's head go through pino.
  const lines = new RequestLines(logStream, { pid: process.pid, hostname: hostname() }, new Set(['req', 'res', 'err', ...REDACTED_PATHS.map((path) => path.split(/[.[]/)[0]!)]));
  const logController = new OneLineLogController(lines);
  const childLogger = lazyChildLoggers(lines);
  const app = Fastify({
    logger: {
      level: options.logLevel ?? runtime.config.logLevel,
      base: lines.base,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { req: serializeRequest },
      stream: logStream,
    },
    // One line per request, and no child logger unless something is logged (request-logging.ts).
    logController,
    childLoggerFactory: childLogger,
    genReqId: requestId,
    bodyLimit: jsonBodyLimit,
    // Plain Vertex file ids are `gs://bucket/<object name>` (object names up to 1024 bytes),
    // sent percent-encoded in one path segment: fastify's default of 100 made them unreachable.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
  });
  lines.attach(app.log);
  // Synchronous hooks take fastify's callback form: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  registerErrorHandler(app);
  registerBodyIdleTimeout(app, runtime.config.requestIdleTimeoutSeconds * 1000);
  registerEdgeGuards(app);
  registerInputGuards(app);
  registerJsonBodyParser(app, jsonBodyLimit);
  registerAuth(app, runtime.keys);
  await app.register(multipart);

  registerHealthRoutes(app, runtime);
  registerMetrics(app);
  await registerDocs(app, runtime.registry.kinds());
  for (const prefix of ['', '/v1']) {
    await app.register(
      async (scope) => {
        registerFilesRoutes(scope, runtime);
        registerModelsRoutes(scope, runtime);
        registerChatRoutes(scope, runtime);
        registerFineTuningRoutes(scope, runtime);
        registerBatchesRoutes(scope, runtime);
      },
      { prefix },
    );
  }
  await app.register(
    async (scope) => {
      // Only a provider the gateway speaks is a prefix: anything else is an unknown route.
      scope.addHook('onRequest', async (request) => {
        const { provider } = request.params as { provider: string };
        if (!runtime.registry.kinds().includes(provider)) throw errors.routeNotFound(request.method, request.url.split('?')[0]!);
      });
      registerFilesRoutes(scope, runtime);
      registerFineTuningRoutes(scope, runtime);
      registerBatchesRoutes(scope, runtime);
    },
    { prefix: '/:provider/v1' },
  );
  registerKeyRoutes(app, runtime);
  registerUiRoutes(app);

  // Chat completions on the common road skip fastify's router and hooks (chat-fast-path.ts). Its
  // handler wraps the one fastify gave the server, so the server and its options stay fastify's.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true; // set as fastify starts answering 503 (the same synchronous step of close())
    done();
  });
  const fastPath = new ChatFastPath({ runtime, bodyLimit: jsonBodyLimit, requestId, log: app.log, childLogger, logController, closing: () => closing });
  const [fastifyHandler] = app.server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  app.server.removeListener('request', fastifyHandler!);
  app.server.on('request', fastPath.handler(fastifyHandler!));
  return app;
}
