/**
 * Reads a multipart upload: collects the text fields and spools the one file part to a temp
 * file (the OpenAI SDKs send the file before `purpose`, so routing can only be decided once the
 * form is complete). Size is enforced while streaming.
 */
import type { FastifyRequest } from 'fastify';
import { errors, GatewayError } from '../core/errors.ts';
import { recordBytesUploaded } from '../core/metrics.ts';
import { SpooledFile } from '../core/spooled-file.ts';

export interface UploadForm {
  /** Text fields by name, in arrival order (repeated names keep every value). */
  fields: Map<string, string[]>;
  file: { filename: string; partType: string; spooled: SpooledFile } | undefined;
}

export interface UploadFormOptions {
  maxUploadSizeMb: number;
  signal: AbortSignal;
}

const MAX_FIELDS = 100;

export async function readUploadForm(request: FastifyRequest, options: UploadFormOptions): Promise<UploadForm> {
  if (!request.isMultipart()) {
    throw errors.invalidRequest('Uploads must be sent as multipart/form-data with a "file" part.', 'file');
  }
  const maxBytes = Math.floor(options.maxUploadSizeMb * 1024 * 1024);
  const form: UploadForm = { fields: new Map(), file: undefined };
  try {
    const parts = request.parts({ limits: { fileSize: maxBytes, files: 1, fields: MAX_FIELDS, fieldSize: 1024 * 1024 } });
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') {
          part.file.resume();
          throw errors.invalidRequest(`Unexpected file part '${part.fieldname}': the file must be sent as the "file" field.`, part.fieldname);
        }
        const spooled = await SpooledFile.from(part.file, options.signal);
        recordBytesUploaded(spooled.bytes);
        form.file = { filename: part.filename || 'unknown_file', partType: part.mimetype, spooled };
        if (part.file.truncated) throw errors.fileTooLarge(options.maxUploadSizeMb);
      } else {
        const values = form.fields.get(part.fieldname) ?? [];
        values.push(String(part.value));
        form.fields.set(part.fieldname, values);
      }
    }
  } catch (error) {
    await form.file?.spooled.remove();
    throw translateMultipartError(error, options.maxUploadSizeMb);
  }
  return form;
}

function translateMultipartError(error: unknown, maxUploadSizeMb: number): Error {
  if (error instanceof GatewayError) return error;
  const code = (error as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return errors.fileTooLarge(maxUploadSizeMb);
  if (code === 'FST_FILES_LIMIT') return errors.invalidRequest('Only one file part is accepted per upload.', 'file');
  if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') return errors.invalidRequest('Too many form fields.');
  if (code === 'ABORT_ERR' || (error as Error).name === 'AbortError') return errors.clientClosed();
  return errors.invalidRequest(`Malformed multipart body: ${(error as Error).message}`);
}

/** The first value of a field. */
export function field(form: UploadForm, name: string): string | undefined {
  return form.fields.get(name)?.[0];
}
