/** OpenAI Files API (docs/wire-formats.md §1.4–1.6). Also serves Azure's v1 surface shape. */
import { UPLOAD_PURPOSES, type FileDeleted, type FileList, type FileObject } from '../../core/openai-types.ts';
import type { CallContext, ContentStream, FilesCapability, LateUploadFields, ListQuery, UploadBody, UploadInput, UploadShapingInput } from '../provider-adapter.ts';
import { rewriteBatchModel } from '../shared/batch-jsonl.ts';
import { buildMultipart } from '../shared/multipart-body.ts';
import { normalizeFileObject, pageLocally } from '../shared/normalize-file.ts';
import { headerValue, type UpstreamClient } from '../shared/upstream-client.ts';

type LateUploadInput = Parameters<NonNullable<FilesCapability['uploadFieldsLast']>>[0];

export function uploadFields(input: LateUploadFields): Array<[string, string]> {
  const fields: Array<[string, string]> = [['purpose', input.purpose]];
  if (input.expiresAfter) {
    fields.push(['expires_after[anchor]', input.expiresAfter.anchor], ['expires_after[seconds]', String(input.expiresAfter.seconds)]);
  }
  return fields;
}

/** Files over an OpenAI-shaped surface; `filesPath` is "/files" under the client's base URL. */
export class OpenAIShapedFiles implements FilesCapability {
  private readonly client: UpstreamClient;
  private readonly filesPath: string;
  private readonly purposeFor: (purpose: string) => string;
  private readonly model: string;

  constructor(options: {
    client: UpstreamClient;
    /** Default `/files`. */
    filesPath?: string;
    /** Maps an OpenAI purpose to one this provider accepts (Azure has no user_data/vision). */
    purposeFor?: (purpose: string) => string;
    /** The deployment's own model (or Azure deployment) name; empty for files_settings entries. */
    model?: string;
  }) {
    this.client = options.client;
    this.filesPath = options.filesPath ?? '/files';
    this.purposeFor = options.purposeFor ?? ((purpose) => purpose);
    this.model = options.model ?? '';
  }

  /**
   * Batch input lines must name this deployment's model (Azure requires its deployment name; for
   * OpenAI the public model_name is not a model it knows), so a managed batch file is stored with
   * `body.model` rewritten line by line (platform.openai.com/docs/guides/batch), and the managed
   * file ids its lines name replaced by this deployment's copies.
   */
  shapeUpload(input: UploadShapingInput): UploadBody | undefined {
    if (input.purpose !== 'batch' || this.model === '') return undefined;
    const { body, fileIds } = input;
    return { open: () => rewriteBatchModel(body.open(), this.model, fileIds), bytes: undefined };
  }

  async upload(input: UploadInput, context: CallContext): Promise<FileObject> {
    const multipart = buildMultipart(uploadFields({ ...input, purpose: this.purposeFor(input.purpose) }), {
      field: 'file',
      filename: input.filename,
      contentType: input.mimeType,
      body: input.body,
    });
    return this.send(multipart, context);
  }

  /** The file part first, then purpose and expiry once known: the order the OpenAI SDKs send. */
  async uploadFieldsLast(input: LateUploadInput, context: CallContext): Promise<FileObject> {
    const late = input.fields.then((fields) => uploadFields({ ...fields, purpose: this.purposeFor(fields.purpose) }));
    late.catch(() => undefined); // read by the body after the file's bytes; it fails the request there
    const file = { field: 'file', filename: input.filename, contentType: input.mimeType, body: input.body };
    return this.send(buildMultipart([], file, late, this.widestLateFields()), context);
  }

  /**
   * The late fields at their longest (the longest purpose this provider stores, an expiry of ten
   * digits — more than any valid one), so that a file-first upload can declare its length.
   */
  private widestLateFields(): Array<[string, string]> {
    const purpose = UPLOAD_PURPOSES.map(this.purposeFor).reduce((longest, value) => (value.length > longest.length ? value : longest), '');
    return uploadFields({ purpose, expiresAfter: { anchor: 'created_at', seconds: 9_999_999_999 } });
  }

  private async send(multipart: ReturnType<typeof buildMultipart>, context: CallContext): Promise<FileObject> {
    const headers: Record<string, string> = { 'content-type': multipart.contentType };
    if (multipart.length !== undefined) headers['content-length'] = String(multipart.length);
    const raw = await this.client.json<Record<string, unknown>>(
      { operation: 'files.upload', method: 'POST', path: this.filesPath, headers, body: multipart.body, pool: 'upload' },
      context,
    );
    return normalizeFileObject(raw);
  }

  async list(query: ListQuery, context: CallContext): Promise<FileList> {
    const raw = await this.client.json<{ data?: Record<string, unknown>[]; has_more?: boolean }>(
      {
        operation: 'files.list',
        method: 'GET',
        path: this.filesPath,
        query: { purpose: query.purpose, limit: query.limit, order: query.order, after: query.after },
      },
      context,
    );
    const data = (raw?.data ?? []).map(normalizeFileObject);
    if (raw && 'has_more' in raw) {
      return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: Boolean(raw.has_more) };
    }
    // No paging fields: the upstream returned everything (Azure classic, docs/wire-formats.md §2.2).
    return pageLocally(data, query);
  }

  async retrieve(fileId: string, context: CallContext): Promise<FileObject> {
    const raw = await this.client.json<Record<string, unknown>>(
      { operation: 'files.retrieve', method: 'GET', path: `${this.filesPath}/${encodeURIComponent(fileId)}` },
      context,
    );
    return normalizeFileObject(raw);
  }

  async delete(fileId: string, context: CallContext): Promise<FileDeleted> {
    // Some Azure versions answer the delete with an empty body; the id is what we asked for.
    await this.client.json<unknown>(
      { operation: 'files.delete', method: 'DELETE', path: `${this.filesPath}/${encodeURIComponent(fileId)}` },
      context,
    );
    return { id: fileId, object: 'file', deleted: true };
  }

  async content(fileId: string, context: CallContext): Promise<ContentStream> {
    // A ForwardableBody: a download hands its chunks straight to the client's response (http/download-body.ts).
    const response = await this.client.forwardable(
      {
        operation: 'files.content',
        bodyTimeoutMs: 0, // file bytes pause while a slow client reads; its disconnect aborts instead
        method: 'GET',
        path: `${this.filesPath}/${encodeURIComponent(fileId)}/content`,
        headers: { accept: 'application/binary' },
      },
      context,
    );
    const length = headerValue(response.headers['content-length']);
    return {
      body: response.body,
      contentType: headerValue(response.headers['content-type']) ?? 'application/octet-stream',
      contentLength: length === undefined ? undefined : Number(length),
    };
  }
}
