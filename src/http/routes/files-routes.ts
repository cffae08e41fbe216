/**
 * /files routes (README "Endpoints"): parse, pick the provider, call the files service, reply.
 * Registered under "", "/v1" and "/:provider/v1".
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.ts';
import { isUnifiedId } from '../../core/ids.ts';
import { resolveMimeType } from '../../core/mime-type.ts';
import type { FileObject } from '../../core/openai-types.ts';
import { oneShotBody } from '../../core/spooled-file.ts';
import { streamedBytes } from '../../core/stream-memory.ts';
import type { Runtime } from '../../runtime.ts';
import type { FilesService, LateUploadFields, ListQuery } from '../../services/files-service.ts';
import { parseModelNames, parseUploadRequest, type UploadRequest } from '../../services/upload-request.ts';
import { callContext } from '../call-context.ts';
import { setDownloadHeaders } from '../content-headers.ts';
import { readJsonBodyOfGet } from '../json-body.ts';
import { singleQueryValue } from '../query-values.ts';
import { readUploadForm, type DirectConsumer, type DirectRoute } from '../upload-form.ts';

type FilesRequest = FastifyRequest<{ Params: { provider?: string; fileId?: string }; Querystring: Record<string, string | string[] | undefined> }>;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const one = singleQueryValue;

/** Path prefix, else header `custom-llm-provider`, else query, else form/body field (LiteLLM's files endpoints, docs.litellm.ai/docs/proxy/files_endpoints). */
function providerOf(files: FilesService, request: FilesRequest, formValue?: string): string | undefined {
  const explicit =
    request.params.provider ?? single(request.headers['custom-llm-provider']) ?? one(request.query, 'custom_llm_provider') ?? formValue;
  return explicit === undefined || explicit === '' ? undefined : files.parseProvider(explicit);
}

/** LiteLLM model-based routing: header `x-litellm-model`, else query `model`, else the form field. */
function routedModel(request: FilesRequest, formValue?: string): string | undefined {
  const header = single(request.headers['x-litellm-model']);
  const value = header ?? one(request.query, 'model') ?? formValue;
  return value === undefined || value === '' ? undefined : value;
}

/** The provider of a raw id: named by the caller, else where a model-routed upload of it went, else openai. */
async function idProviderOf(files: FilesService, request: FilesRequest, fileId: string): Promise<string> {
  const model = routedModel(request);
  if (model) return files.routeModel(request.principal, model).provider;
  return providerOf(files, request) ?? (await files.routedProviderOf(fileId)) ?? 'openai';
}

export function parseListQuery(query: Record<string, string | string[] | undefined>): ListQuery {
  const limitText = one(query, 'limit');
  let limit: number | undefined;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 10_000) {
      throw errors.invalidValue('limit', `Invalid limit '${limitText}': must be an integer between 1 and 10000.`);
    }
  }
  const order = one(query, 'order');
  if (order !== undefined && order !== 'asc' && order !== 'desc') {
    throw errors.invalidValue('order', `Invalid order '${order}': must be 'asc' or 'desc'.`);
  }
  return { purpose: one(query, 'purpose') || undefined, limit, order, after: one(query, 'after') || undefined };
}

/** target_model_names from the query (`a,b` or repeated `target_model_names[]`) or a JSON body. */
function listTargetNames(request: FilesRequest, jsonBody: unknown): string[] {
  const fromQuery = [request.query.target_model_names, request.query['target_model_names[]']].flat().filter((value): value is string => typeof value === 'string');
  const body = jsonBody as { target_model_names?: unknown } | undefined;
  const fromBody = body && typeof body === 'object' ? [body.target_model_names].flat().filter((value): value is string => typeof value === 'string') : [];
  return parseModelNames([...fromQuery, ...fromBody]);
}

export function registerFilesRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { files, managedFiles } = runtime;

  app.post('/files', async (request: FilesRequest, reply) => {
    const release = runtime.uploadSlots.acquire(request.principal);
    try {
      return await upload(request, reply);
    } finally {
      release();
    }
  });

  const upload = async (request: FilesRequest, reply: FastifyReply) => {
    const context = callContext(request, reply);
    const principal = request.principal;
    // A streamed upload is never aborted half-way through by a signal: its body failing aborts
    // it, and once the body is complete its answer is awaited so that it can be taken back.
    const upstream = { ...context, signal: undefined };
    type Direct = { file: FileObject; provider: string; upload: UploadRequest | undefined };
    // Fields-first forms (curl order) that route to one provider stream straight through.
    const direct: DirectRoute<Direct> = (fields) => {
      if (fields.size === 0) return fileFirst();
      if (!fields.has('purpose')) return undefined;
      const upload = parseUploadRequest(fields);
      if (upload.targetModelNames.length > 0) return undefined;
      const model = routedModel(request, upload.model);
      const routed = model ? files.routeModel(principal, model) : undefined;
      const provider = routed?.provider ?? providerOf(files, request, upload.customLlmProvider) ?? 'openai';
      return {
        run: async ({ stream, filename, partType, bytesAtMost, boundary }) => {
          const mimeType = resolveMimeType({ partType, filename, head: Buffer.alloc(0) });
          const input = { body: oneShotBody(stream, bytesAtMost, boundary), filename, mimeType, purpose: upload.purpose, expiresAfter: upload.expiresAfter };
          return { file: await files.upload(principal, provider, input, upstream, routed?.deploymentId), provider, upload };
        },
        undo: (result) => files.takeBack(provider, result.file.id, upstream, routed?.deploymentId),
      };
    };
    // File-first forms (the SDKs' order) whose destination the request itself names (path, header
    // or query) start uploading at the file part and send purpose/expiry after it; upload-form.ts
    // spools meanwhile and abandons this upload if the complete form routes elsewhere.
    const fileFirst = (): DirectConsumer<Direct> | undefined => {
      const model = routedModel(request);
      const routed = model ? files.routeModel(principal, model) : undefined;
      const provider = routed?.provider ?? providerOf(files, request);
      if (provider === undefined || !files.canUploadFieldsLast(provider, routed?.deploymentId)) return undefined;
      return {
        provisional: (fields) => {
          const upload = parseUploadRequest(fields);
          if (upload.targetModelNames.length > 0) return undefined;
          const lateModel = routedModel(request, upload.model);
          const lateRouted = lateModel ? files.routeModel(principal, lateModel) : undefined;
          const lateProvider = lateRouted?.provider ?? providerOf(files, request, upload.customLlmProvider) ?? 'openai';
          if (lateProvider !== provider || lateRouted?.deploymentId !== routed?.deploymentId) return undefined;
          return { purpose: upload.purpose, expiresAfter: upload.expiresAfter } satisfies LateUploadFields;
        },
        run: async ({ stream, filename, partType, head, late, bytesAtMost }) => {
          const mimeType = resolveMimeType({ partType, filename, head });
          const input = { body: oneShotBody(stream, bytesAtMost), filename, mimeType, fields: late as Promise<LateUploadFields> };
          return { file: await files.uploadFieldsLast(principal, provider, input, upstream, routed?.deploymentId), provider, upload: undefined };
        },
        undo: (result) => files.takeBack(provider, result.file.id, upstream, routed?.deploymentId),
      };
    };
    const form = await readUploadForm(request, {
      maxUploadSizeMb: runtime.config.maxUploadSizeMb,
      idleTimeoutMs: runtime.config.requestIdleTimeoutSeconds * 1000,
      spoolDirectory: runtime.spoolDirectory,
      direct,
    });
    if (form.direct) {
      try {
        const { file, upload } = form.direct.result;
        if (upload && JSON.stringify(parseUploadRequest(form.fields)) !== JSON.stringify(upload)) {
          throw errors.invalidRequest(
            'Send purpose, expires_after, target_model_names and custom_llm_provider either all before the file part or all after it.',
            'file',
          );
        }
        return file;
      } catch (error) {
        // A field after the file changed or broke the request: the streamed copy is taken back.
        await form.direct.undo();
        throw error;
      }
    }
    try {
      if (!form.file) throw errors.missingField('file');
      const upload = parseUploadRequest(form.fields);
      const { spooled, filename, partType } = form.file;
      const common = {
        body: { open: () => spooled.open(), bytes: spooled.bytes },
        filename,
        mimeType: resolveMimeType({ partType, filename, head: spooled.head }),
        purpose: upload.purpose,
        expiresAfter: upload.expiresAfter,
      };
      if (upload.targetModelNames.length > 0) {
        return await managedFiles.create(request.principal, { ...common, targetModelNames: upload.targetModelNames }, context);
      }
      const model = routedModel(request, upload.model);
      const routed = model ? files.routeModel(request.principal, model) : undefined;
      const provider = routed?.provider ?? providerOf(files, request, upload.customLlmProvider) ?? 'openai';
      return await files.upload(request.principal, provider, common, upstream, routed?.deploymentId);
    } finally {
      await form.file?.spooled.remove();
    }
  };

  // With an explicit provider: that provider's list; otherwise the caller's managed files.
  app.get('/files', async (request: FilesRequest, reply) => {
    const query = parseListQuery(request.query);
    const provider = providerOf(files, request);
    if (provider) return files.list(request.principal, provider, query, callContext(request, reply));
    return managedFiles.list(request.principal, {
      limit: query.limit ?? 10_000,
      order: query.order ?? 'desc',
      after: query.after,
      purpose: query.purpose,
      targetModelNames: listTargetNames(request, await readJsonBodyOfGet(request)),
    });
  });

  // Unified ids are recognised by their marker and served from the mapping, whatever the provider.
  app.get('/files/:fileId', async (request: FilesRequest, reply) => {
    const id = request.params.fileId!;
    if (isUnifiedId('file', id)) return managedFiles.retrieve(request.principal, id);
    return files.retrieve(request.principal, await idProviderOf(files, request, id), id, callContext(request, reply));
  });

  const remove = async (request: FilesRequest, reply: FastifyReply) => {
    const id = request.params.fileId!;
    const context = callContext(request, reply);
    if (isUnifiedId('file', id)) return managedFiles.delete(request.principal, id, context);
    return files.delete(request.principal, await idProviderOf(files, request, id), id, context);
  };
  app.delete('/files/:fileId', remove);
  app.post('/files/:fileId/delete', remove);

  app.get('/files/:fileId/content', async (request: FilesRequest, reply) => {
    const id = request.params.fileId!;
    const context = callContext(request, reply);
    const content = isUnifiedId('file', id)
      ? await managedFiles.content(request.principal, id, context)
      : await files.content(request.principal, await idProviderOf(files, request, id), id, context);
    // A provider that answers octet-stream still gets the type its filename says.
    const contentType = resolveMimeType({ partType: content.contentType, filename: content.filename, head: Buffer.alloc(0) });
    setDownloadHeaders(reply, { ...content, contentType });
    // Counted alongside the pipe to the client (core/stream-memory.ts); paused until that pipe resumes it.
    content.body.on('data', (chunk: Buffer) => streamedBytes(chunk.length)).pause();
    return reply.send(content.body);
  });
}
