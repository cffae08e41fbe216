/** OpenAPI paths of the fine-tuning routes (README "Batches"; docs/wire-formats.md §1.11), spread into openapi-document.ts. */
const job = { type: 'object', properties: { id: { type: 'string', example: 'ftjob-uf_…' }, object: { type: 'string' }, model: { type: 'string' }, status: { type: 'string', enum: ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] }, fine_tuned_model: { type: 'string', nullable: true }, training_file: { type: 'string' }, validation_file: { type: 'string', nullable: true }, result_files: { type: 'array', items: { type: 'string' } } } };
const ok = (schema: unknown) => ({ description: 'OK', content: { 'application/json': { schema } } });
const failure = { description: 'Error envelope {error:{message,type,param,code}}' };
const errors = { 400: failure, 401: failure, 403: failure, 404: failure };
const idParam = { name: 'fine_tuning_job_id', in: 'path', required: true, schema: { type: 'string' } };
const paging = [
  { name: 'after', in: 'query', required: false, schema: { type: 'string' } },
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
];
const page = (items: unknown) => ({ type: 'object', properties: { object: { type: 'string' }, data: { type: 'array', items }, has_more: { type: 'boolean' } } });

export const fineTuningPaths = {
  '/v1/fine_tuning/jobs': {
    post: {
      summary: 'Create a fine-tuning job from managed files (unified ids) or raw provider ids recorded as yours (OpenAI, Azure)',
      requestBody: {
        content: {
          'application/json': {
            schema: { type: 'object', required: ['model', 'training_file'], properties: { model: { type: 'string' }, training_file: { type: 'string' }, validation_file: { type: 'string' }, suffix: { type: 'string', maxLength: 64 }, hyperparameters: { type: 'object' }, seed: { type: 'integer' }, method: { type: 'object' }, metadata: { type: 'object' } } },
          },
        },
      },
      responses: { 200: ok(job), ...errors },
    },
    get: { summary: "The caller's fine-tuning jobs, newest first", parameters: paging, responses: { 200: ok(page(job)), ...errors } },
  },
  '/v1/fine_tuning/jobs/{fine_tuning_job_id}': { get: { summary: 'A fine-tuning job, refreshed until terminal', parameters: [idParam], responses: { 200: ok(job), ...errors } } },
  '/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel': { post: { summary: 'Cancel a fine-tuning job', parameters: [idParam], responses: { 200: ok(job), ...errors } } },
  '/v1/fine_tuning/jobs/{fine_tuning_job_id}/events': { get: { summary: "The job's events, newest first", parameters: [idParam, ...paging], responses: { 200: ok(page({ type: 'object' })), ...errors } } },
  '/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints': { get: { summary: "The job's model checkpoints, newest first", parameters: [idParam, ...paging], responses: { 200: ok(page({ type: 'object' })), ...errors } } },
} as const;
