/** The OpenAPI description of every route, served at /openapi.json and behind the Swagger UI at /docs. */
import { fineTuningPaths } from './fine-tuning-openapi.ts';

const error = { $ref: '#/components/schemas/Error' };
const fileObject = { $ref: '#/components/schemas/FileObject' };
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const errors = { default: json(error, 'OpenAI-shaped error (400, 401, 403, 404, 413, 429, 502, 503, 504)') };
const idParameter = { name: 'file_id', in: 'path', required: true, schema: { type: 'string' } };
const providerHeader = { name: 'custom-llm-provider', in: 'header', required: false, schema: { type: 'string', enum: [] as string[] } };

const filesPaths = {
  '/v1/files': {
    post: {
      summary: 'Upload a file; with target_model_names, a managed file stored on every deployment of those models',
      parameters: [providerHeader],
      requestBody: {
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              required: ['file', 'purpose'],
              properties: {
                file: { type: 'string', format: 'binary' },
                purpose: { type: 'string', enum: ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] },
                'expires_after[anchor]': { type: 'string', enum: ['created_at'] },
                'expires_after[seconds]': { type: 'integer', minimum: 3600, maximum: 2592000 },
                target_model_names: { type: 'string', description: 'Comma-separated model names (or repeated target_model_names[])' },
                custom_llm_provider: { type: 'string' },
              },
            },
          },
        },
      },
      responses: { 200: json(fileObject), ...errors },
    },
    get: {
      summary: "List: the caller's managed files, or a provider's files when a provider is given",
      parameters: [
        providerHeader,
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 10000 } },
        { name: 'after', in: 'query', schema: { type: 'string' } },
        { name: 'order', in: 'query', schema: { type: 'string', enum: ['asc', 'desc'], default: 'desc' } },
        { name: 'purpose', in: 'query', schema: { type: 'string' } },
        { name: 'target_model_names', in: 'query', schema: { type: 'string' } },
      ],
      responses: { 200: json({ $ref: '#/components/schemas/FileList' }), ...errors },
    },
  },
  '/v1/files/{file_id}': {
    get: { summary: 'Retrieve a file', parameters: [idParameter, providerHeader], responses: { 200: json(fileObject), ...errors } },
    delete: { summary: 'Delete a file (every provider copy of a managed file)', parameters: [idParameter, providerHeader], responses: { 200: json({ $ref: '#/components/schemas/FileDeleted' }), ...errors } },
  },
  '/v1/files/{file_id}/delete': {
    post: { summary: 'Delete a file (POST form)', parameters: [idParameter, providerHeader], responses: { 200: json({ $ref: '#/components/schemas/FileDeleted' }), ...errors } },
  },
  '/v1/files/{file_id}/content': {
    get: {
      summary: "The file's bytes, streamed",
      parameters: [idParameter, providerHeader],
      responses: { 200: { description: 'The bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errors },
    },
  },
};

const batch = { type: 'object', description: 'OpenAI Batch object; id is a unified batch_uf_… id (README "Batches")' };
const batchId = { name: 'batch_id', in: 'path', required: true, schema: { type: 'string' } };

const batchesPaths = {
  '/v1/batches': {
    post: {
      summary: "Create a batch from the caller's managed purpose=batch file (or a raw provider file recorded as theirs)",
      parameters: [providerHeader, { name: 'x-litellm-model', in: 'header', required: false, schema: { type: 'string' } }],
      requestBody: {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['input_file_id', 'endpoint', 'completion_window'],
              properties: {
                input_file_id: { type: 'string' },
                endpoint: { type: 'string', enum: ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos'] },
                completion_window: { type: 'string', enum: ['24h'] },
                metadata: { type: 'object', additionalProperties: { type: 'string' } },
              },
            },
          },
        },
      },
      responses: { 200: json(batch), ...errors },
    },
    get: {
      summary: "The caller's batches, newest first",
      parameters: [
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
        { name: 'after', in: 'query', schema: { type: 'string' } },
      ],
      responses: { 200: json({ type: 'object', properties: { object: { type: 'string' }, data: { type: 'array', items: batch }, first_id: { type: 'string', nullable: true }, last_id: { type: 'string', nullable: true }, has_more: { type: 'boolean' } } }), ...errors },
    },
  },
  '/v1/batches/{batch_id}': {
    get: { summary: 'Retrieve a batch (refreshed from its provider until terminal)', parameters: [batchId], responses: { 200: json(batch), ...errors } },
  },
  '/v1/batches/{batch_id}/cancel': {
    post: { summary: 'Cancel a batch (idempotent; partial output stays readable)', parameters: [batchId], responses: { 200: json(batch), ...errors } },
  },
};

const adminBody = (properties: Record<string, unknown>) => ({ content: { 'application/json': { schema: { type: 'object', properties } } } });
const strings = { type: 'array', items: { type: 'string' } };

export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'Unifile',
    version: '0.1.0',
    description: 'OpenAI-compatible gateway for files across providers. Every route also answers without /v1, and the files routes under /{provider}/v1.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        properties: { error: { type: 'object', properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: 'string', nullable: true }, code: { type: 'string', nullable: true } } } },
      },
      FileObject: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          object: { type: 'string', enum: ['file'] },
          bytes: { type: 'integer' },
          created_at: { type: 'integer' },
          filename: { type: 'string' },
          purpose: { type: 'string' },
          status: { type: 'string', enum: ['uploaded', 'processed', 'error'] },
          expires_at: { type: 'integer', nullable: true },
          status_details: { type: 'string', nullable: true },
          target_model_names: { type: 'array', items: { type: 'string' }, description: 'Managed files only: the model names the file was uploaded for' },
        },
      },
      FileList: {
        type: 'object',
        properties: { object: { type: 'string' }, data: { type: 'array', items: fileObject }, first_id: { type: 'string', nullable: true }, last_id: { type: 'string', nullable: true }, has_more: { type: 'boolean' } },
      },
      FileDeleted: { type: 'object', properties: { id: { type: 'string' }, object: { type: 'string' }, deleted: { type: 'boolean' } } },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    ...filesPaths,
    ...fineTuningPaths,
    ...batchesPaths,
    '/v1/chat/completions': {
      post: {
        summary: 'Chat completion on OpenAI, Azure or Vertex Gemini; file parts may carry unified file ids; stream:true gives SSE',
        requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['model', 'messages'], properties: { model: { type: 'string' }, messages: { type: 'array', items: { type: 'object' } }, stream: { type: 'boolean' } } } } } },
        responses: { 200: json({ type: 'object' }), ...errors },
      },
    },
    '/v1/models': { get: { summary: 'Model names this key may use', responses: { 200: json({ type: 'object' }), ...errors } } },
    '/key/generate': {
      post: { summary: 'Admin: create a virtual key (shown once)', requestBody: adminBody({ models: strings, user_id: { type: 'string' }, team_id: { type: 'string' }, key_alias: { type: 'string' }, duration: { type: 'string', example: '30d' }, metadata: { type: 'object' } }), responses: { 200: json({ type: 'object' }), ...errors } },
    },
    '/user/new': {
      post: { summary: 'Admin: create a user and a key for it', requestBody: adminBody({ user_id: { type: 'string' }, models: strings, user_role: { type: 'string', enum: ['proxy_admin', 'internal_user'] }, team_id: { type: 'string' } }), responses: { 200: json({ type: 'object' }), ...errors } },
    },
    '/key/info': { get: { summary: "A key's info", parameters: [{ name: 'key', in: 'query', schema: { type: 'string' } }, { name: 'x-key', in: 'header', required: false, schema: { type: 'string' }, description: 'The key to describe, kept out of the URL' }], responses: { 200: json({ type: 'object' }), ...errors } } },
    '/key/delete': { post: { summary: 'Delete keys', requestBody: adminBody({ keys: strings }), responses: { 200: json({ type: 'object' }), ...errors } } },
    '/user/info': { get: { summary: 'A user and their keys', parameters: [{ name: 'user_id', in: 'query', schema: { type: 'string' } }], responses: { 200: json({ type: 'object' }), ...errors } } },
    '/health/liveliness': { get: { summary: 'The process answers', security: [], responses: { 200: json({ type: 'object' }) } } },
    '/health/readiness': { get: { summary: 'The database answers', security: [], responses: { 200: json({ type: 'object' }), 503: json(error) } } },
    '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { 200: { description: 'text/plain exposition format' } } } },
  },
} as const;

/** The document for a gateway speaking these provider kinds (the provider enums list them). */
export function openApiDocumentFor(kinds: readonly string[]): unknown {
  const document = structuredClone(openApiDocument) as unknown;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.name === 'custom-llm-provider' && record.in === 'header') (record.schema as { enum: string[] }).enum = [...kinds];
    Object.values(record).forEach(visit);
  };
  visit(document);
  return document;
}
