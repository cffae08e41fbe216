/**
 * Reads a multipart upload. The OpenAI SDKs send the file before `purpose`, so routing can
 * only be decided once the form is complete: then the file is spooled to a temp file (never to
 * memory). When the fields came first (curl order) and the caller can route on them, the file
 * streams straight through instead. Size is enforced while streaming either way.
 */
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../core/errors.ts';
import { recordBytesUploaded } from '../core/metrics.ts';
import { SpooledFile } from '../core/spooled-file.ts';

export interface ReceivedFile {
  filename: string;
  partType: string;
}

/** Given the fields seen before the file, a consumer that takes the file stream directly — or undefined to spool. */
export type DirectRoute<T> = (fields: ReadonlyMap<string, readonly string[]>) => ((file: ReceivedFile & { stream: Readable }) => Promise<T>) | undefined;

export interface UploadForm<T> {
  /** Text fields by name, in arrival order (repeated names keep every value). */
  fields: Map<string, string[]>;
  /** The spooled file, when it was not streamed directly. */
  file: (ReceivedFile & { spooled: SpooledFile }) | undefined;
  /** What the direct consumer returned, when the file was streamed through. */
  direct: { result: T; fieldsBefore: number } | undefined;
}

export interface UploadFormOptions<T> {
  maxUploadSizeMb: number;
  signal: AbortSignal;
  direct?: DirectRoute<T>;
}

const MAX_FIELDS = 100;

/**
 * The file part as it passes through: counted, and failing (instead of ending early) when it
 * was cut at the size limit, so an upstream never receives a silently truncated file.
 */
function guarded(file: Readable & { truncated?: boolean }, maxUploadSizeMb: number): Readable {
  return Readable.from(
    (async function* () {
      for await (const chunk of file) {
        recordBytesUploaded((chunk as Buffer).length);
        yield chunk as Buffer;
      }
      if (file.truncated) throw errors.fileTooLarge(maxUploadSizeMb);
    })(),
    { objectMode: false },
  );
}

export async function readUploadForm<T>(request: FastifyRequest, options: UploadFormOptions<T>): Promise<UploadForm<T>> {
  if (!request.isMultipart()) {
    throw errors.invalidRequest('Uploads must be sent as multipart/form-data with a "file" part.', 'file');
  }
  const maxBytes = Math.floor(options.maxUploadSizeMb * 1024 * 1024);
  const form: UploadForm<T> = { fields: new Map(), file: undefined, direct: undefined };
  try {
    const parts = request.parts({ limits: { fileSize: maxBytes, files: 1, fields: MAX_FIELDS, fieldSize: 1024 * 1024 } });
    for await (const part of parts) {
      if (part.type !== 'file') {
        const values = form.fields.get(part.fieldname) ?? [];
        values.push(String(part.value));
        form.fields.set(part.fieldname, values);
        continue;
      }
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw errors.invalidRequest(`Unexpected file part '${part.fieldname}': the file must be sent as the "file" field.`, part.fieldname);
      }
      const received = { filename: part.filename || 'unknown_file', partType: part.mimetype };
      const consumer = options.direct?.(form.fields);
      if (consumer) {
        const fieldsBefore = [...form.fields.values()].reduce((sum, values) => sum + values.length, 0);
        try {
          form.direct = { result: await consumer({ ...received, stream: guarded(part.file, options.maxUploadSizeMb) }), fieldsBefore };
        } finally {
          // Whatever the consumer did not read must still be drained for the form to go on.
          part.file.resume();
        }
      } else {
        const spooled = await SpooledFile.from(guarded(part.file, options.maxUploadSizeMb), options.signal);
        form.file = { ...received, spooled };
      }
    }
  } catch (error) {
    await form.file?.spooled.remove();
    throw translateMultipartError(error, options.maxUploadSizeMb);
  }
  return form;
}

function translateMultipartError(error: unknown, maxUploadSizeMb: number): Error {
  const cause = error instanceof GatewayError && error.code === 'upstream_unreachable' && error.cause ? error.cause : error;
  const code = (cause as { code?: string }).code;
  // A file over the limit fails the stream; when it was going straight upstream, the upstream
  // call fails with it, and the size is the real reason.
  if (code === 'FST_REQ_FILE_TOO_LARGE') return errors.fileTooLarge(maxUploadSizeMb);
  if (error instanceof GatewayError) return error;
  if (code === 'FST_FILES_LIMIT') return errors.invalidRequest('Only one file part is accepted per upload.', 'file');
  if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') return errors.invalidRequest('Too many form fields.');
  if (code === 'ABORT_ERR' || (error as Error).name === 'AbortError') return errors.clientClosed();
  return errors.invalidRequest(`Malformed multipart body: ${(error as Error).message}`);
}
