/**
 * /files routes (SPEC §3): parse, pick the provider, call the files service, reply.
 * Registered under "", "/v1" and "/:provider/v1".
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.ts';
import { resolveMimeType } from '../../core/mime-type.ts';
import type { ListQuery, ProviderKind } from '../../providers/provider-adapter.ts';
import type { Runtime } from '../../runtime.ts';
import { parseProvider } from '../../services/files-service.ts';
import { parseUploadRequest } from '../../services/upload-request.ts';
import { callContext } from '../call-context.ts';
import { readUploadForm } from '../upload-form.ts';

type FilesRequest = FastifyRequest<{ Params: { provider?: string; fileId?: string }; Querystring: Record<string, string | string[] | undefined> }>;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Path prefix, else header `custom-llm-provider`, else query, else form/body field (reference-system.md §2.2). */
function providerOf(request: FilesRequest, formValue?: string): ProviderKind | undefined {
  const explicit =
    request.params.provider ?? single(request.headers['custom-llm-provider']) ?? single(request.query.custom_llm_provider) ?? formValue;
  return explicit === undefined || explicit === '' ? undefined : parseProvider(explicit);
}

export function parseListQuery(query: Record<string, string | string[] | undefined>): ListQuery {
  const limitText = single(query.limit);
  let limit: number | undefined;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 10_000) {
      throw errors.invalidValue('limit', `Invalid limit '${limitText}': must be an integer between 1 and 10000.`);
    }
  }
  const order = single(query.order);
  if (order !== undefined && order !== 'asc' && order !== 'desc') {
    throw errors.invalidValue('order', `Invalid order '${order}': must be 'asc' or 'desc'.`);
  }
  return { purpose: single(query.purpose) || undefined, limit, order, after: single(query.after) || undefined };
}

export function registerFilesRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { files } = runtime;

  app.post('/files', async (request: FilesRequest, reply) => {
    const context = callContext(request, reply);
    const form = await readUploadForm(request, { maxUploadSizeMb: runtime.config.maxUploadSizeMb, signal: context.signal! });
    try {
      if (!form.file) throw errors.missingField('file');
      const upload = parseUploadRequest(form.fields);
      const provider = providerOf(request, upload.customLlmProvider) ?? 'openai';
      if (upload.targetModelNames.length > 0) {
        throw errors.invalidRequest('Managed files (target_model_names) are not available yet.', 'target_model_names');
      }
      const { spooled, filename, partType } = form.file;
      return await files.upload(
        request.principal,
        provider,
        {
          body: { open: () => spooled.open(), bytes: spooled.bytes },
          filename,
          mimeType: resolveMimeType({ partType, filename, head: spooled.head }),
          purpose: upload.purpose,
          expiresAfter: upload.expiresAfter,
        },
        context,
      );
    } finally {
      await form.file?.spooled.remove();
    }
  });

  app.get('/files', async (request: FilesRequest, reply) => {
    const query = parseListQuery(request.query);
    const provider = providerOf(request) ?? 'openai';
    return files.list(request.principal, provider, query, callContext(request, reply));
  });

  app.get('/files/:fileId', async (request: FilesRequest, reply) => {
    return files.retrieve(request.principal, providerOf(request) ?? 'openai', request.params.fileId!, callContext(request, reply));
  });

  const remove = async (request: FilesRequest, reply: FastifyReply) =>
    files.delete(request.principal, providerOf(request) ?? 'openai', request.params.fileId!, callContext(request, reply));
  app.delete('/files/:fileId', remove);
  app.post('/files/:fileId/delete', remove);

  app.get('/files/:fileId/content', async (request: FilesRequest, reply) => {
    const content = await files.content(request.principal, providerOf(request) ?? 'openai', request.params.fileId!, callContext(request, reply));
    reply.header('content-type', content.contentType);
    if (content.contentLength !== undefined) reply.header('content-length', String(content.contentLength));
    return reply.send(content.body);
  });
}
