/** The errors and limits of multipart upload forms (README "Endpoints" (limits)), in the OpenAI envelope. */
import { errors } from '../core/errors.ts';
import { requestTimeoutError } from './plugins/body-idle-timeout.ts';

/** README "Endpoints" (limits): at most 20 non-file fields of at most 64 KiB each, one file part. */
export const MAX_FORM_FIELDS = 20;
export const MAX_FIELD_BYTES = 64 * 1024;

export const formErrors = {
  tooManyFields: () =>
    errors.invalidRequest(`Too many form fields: an upload accepts at most ${MAX_FORM_FIELDS} fields besides the one "file" part.`),
  fieldTooLarge: (name: string) =>
    errors.invalidValue(name, `Form field '${name}' is larger than ${MAX_FIELD_BYTES / 1024} KiB.`),
  secondFile: () => errors.invalidRequest('Only one file part is accepted per upload.', 'file'),
  cut: () => errors.invalidRequest('The multipart body ended before the upload was complete.', 'file'),
  /** Busboy's own messages are about the wire format, safe to repeat. */
  malformed: (message: string) =>
    /unexpected end|terminated early/i.test(message) ? formErrors.cut() : errors.invalidRequest(`Malformed multipart body: ${message}`),
  idle: (idleTimeoutMs: number) => requestTimeoutError(idleTimeoutMs),
};
