/**
 * Files on the Gemini API (docs/wire-formats.md §4): resumable upload (start → upload, finalize),
 * get, list, delete. The Files API keeps no purpose and offers no download of uploaded files,
 * so content is a 400 "not supported". Files expire on their own after 48 hours; FileObject
 * `expires_at` says when, and `status` is `uploaded` while Gemini is still PROCESSING.
 */
import { errors } from '../../core/errors.ts';
import type { FileDeleted, FileList, FileObject } from '../../core/openai-types.ts';
import type { CallContext, ContentStream, FilesCapability, ListQuery, UploadInput } from '../provider-adapter.ts';
import { pageLocally } from '../shared/normalize-file.ts';
import type { UpstreamClient } from '../shared/upstream-client.ts';
import { uploadResumable } from './gemini-upload.ts';
import { PROVIDER, reclassify, resourceId, toFileObject, type GeminiFileResource } from './gemini-wire.ts';

/** ai.google.dev/api/files: pageSize at most 100. */
const PAGE_SIZE = 100;
/** A project holds at most 20 GB; this bounds a listing at 10,000 files. */
const MAX_PAGES = 100;

export class GeminiFiles implements FilesCapability {
  constructor(private readonly client: UpstreamClient) {}

  async upload(input: UploadInput, context: CallContext): Promise<FileObject> {
    try {
      return toFileObject(await uploadResumable(this.client, input, context));
    } catch (error) {
      throw reclassify(error);
    }
  }

  /** Gemini pages by token; OpenAI by `after` id: read every page, then page locally. */
  async list(query: ListQuery, context: CallContext): Promise<FileList> {
    const files: FileObject[] = [];
    let pageToken: string | undefined;
    try {
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const body = await this.client.json<{ files?: GeminiFileResource[]; nextPageToken?: string }>(
          { operation: 'files.list', method: 'GET', path: '/v1beta/files', query: { pageSize: PAGE_SIZE, pageToken } },
          context,
        );
        files.push(...(body?.files ?? []).map(toFileObject));
        pageToken = body?.nextPageToken;
        if (!pageToken) break;
      }
    } catch (error) {
      throw reclassify(error);
    }
    return pageLocally(query.purpose ? files.filter((file) => file.purpose === query.purpose) : files, query);
  }

  async retrieve(fileId: string, context: CallContext): Promise<FileObject> {
    return toFileObject(await this.resource(fileId, context));
  }

  /** The File resource itself (chat needs its uri and MIME type). */
  async resource(fileId: string, context: CallContext): Promise<GeminiFileResource & { uri: string; mimeType: string }> {
    const id = resourceId(fileId);
    let resource: GeminiFileResource | undefined;
    try {
      resource = await this.client.json<GeminiFileResource>({ operation: 'files.retrieve', method: 'GET', path: `/v1beta/files/${id}` }, context);
    } catch (error) {
      throw reclassify(error, fileId);
    }
    if (!resource || typeof resource.name !== 'string' || typeof resource.uri !== 'string' || typeof resource.mimeType !== 'string') {
      throw this.client.malformed('answered with something that is not a File');
    }
    return resource as GeminiFileResource & { uri: string; mimeType: string };
  }

  async delete(fileId: string, context: CallContext): Promise<FileDeleted> {
    const id = resourceId(fileId);
    try {
      await this.client.json<unknown>({ operation: 'files.delete', method: 'DELETE', path: `/v1beta/files/${id}` }, context);
    } catch (error) {
      throw reclassify(error, fileId);
    }
    return { id: fileId, object: 'file', deleted: true };
  }

  /** Uploaded files cannot be downloaded from the Gemini API (docs/wire-formats.md §4.4). */
  async content(_fileId: string, _context: CallContext): Promise<ContentStream> {
    throw errors.unsupportedOperation(PROVIDER, 'download file content (the Gemini Files API has no download of uploaded files)');
  }
}
