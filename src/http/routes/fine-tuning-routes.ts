/**
 * Fine-tuning job routes (README "Batches"; docs/wire-formats.md §1.11). Registered under "", "/v1" and
 * "/:provider/v1" (there: jobs of that provider only, new jobs placed on it).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.ts';
import type { FineTuningPageQuery } from '../../providers/provider-adapter.ts';
import type { Runtime } from '../../runtime.ts';
import { parseFineTuningCreate } from '../../services/fine-tuning-request.ts';
import { callContext } from '../call-context.ts';
import { singleQueryValue, type Query } from '../query-values.ts';

type JobRequest = FastifyRequest<{ Params: { provider?: string; jobId?: string }; Querystring: Query }>;

/** `?after=&limit=` (limit 1–100, default 20 unless given). */
function pageQuery(query: Query, defaultLimit = 20): { after?: string; limit: number } {
  const limitText = singleQueryValue(query, 'limit');
  let limit = defaultLimit;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) throw errors.invalidValue('limit', `Invalid limit '${limitText}': must be an integer between 1 and 100.`);
  }
  const after = singleQueryValue(query, 'after');
  return after ? { after, limit } : { limit };
}

export function registerFineTuningRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { fineTuning } = runtime;
  const provider = (request: JobRequest) => request.params.provider;
  const jobId = (request: JobRequest) => {
    const id = request.params.jobId ?? '';
    if (id === '') throw errors.missingField('fine_tuning_job_id');
    return id;
  };

  app.post('/fine_tuning/jobs', async (request: JobRequest, reply) => {
    const body = parseFineTuningCreate(request.body);
    return fineTuning.create(request.principal, body, provider(request), callContext(request, reply));
  });
  app.get('/fine_tuning/jobs', async (request: JobRequest) => fineTuning.list(request.principal, { ...pageQuery(request.query), ...(provider(request) ? { provider: provider(request) } : {}) }));
  app.get('/fine_tuning/jobs/:jobId', async (request: JobRequest, reply) => fineTuning.retrieve(request.principal, jobId(request), provider(request), callContext(request, reply)));
  app.post('/fine_tuning/jobs/:jobId/cancel', async (request: JobRequest, reply) => fineTuning.cancel(request.principal, jobId(request), provider(request), callContext(request, reply)));
  app.get('/fine_tuning/jobs/:jobId/events', async (request: JobRequest, reply) => {
    const query: FineTuningPageQuery = pageQuery(request.query);
    return fineTuning.events(request.principal, jobId(request), provider(request), query, callContext(request, reply));
  });
  // OpenAI's checkpoints page defaults to 10 items ("List fine-tuning checkpoints").
  app.get('/fine_tuning/jobs/:jobId/checkpoints', async (request: JobRequest, reply) =>
    fineTuning.checkpoints(request.principal, jobId(request), provider(request), pageQuery(request.query, 10), callContext(request, reply)),
  );
}
