/**
 * OpenAI message content → Gemini parts (docs/wire-formats.md §3.4 "Content parts"): text, images and
 * files by URL or inline, and files named by a unified id, which become this deployment's
 * `fileData {mimeType, fileUri: gs://…}` (README "Endpoints" (chat)). Pure: no I/O.
 */
import { errors } from '../../core/errors.ts';
import { resolveMimeType } from '../../core/mime-type.ts';
import type { FileReferenceTargets } from '../provider-adapter.ts';
import { lookupFileReference } from '../shared/file-references.ts';
import type { GeminiPart } from './gemini-types.ts';

export interface PartsContext {
  fileReferences: Record<string, FileReferenceTargets>;
  /** This deployment's id: picks its entry in `fileReferences`. */
  instance: string;
  /** Where the content sits, for error params, e.g. `messages[2].content`. */
  param: string;
}

/** A message's `content` (string, null or array of parts) as Gemini parts. */
export function contentToParts(content: unknown, context: PartsContext): GeminiPart[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) {
    throw errors.invalidValue(context.param, `Invalid type for '${context.param}': expected a string or an array of content parts.`);
  }
  const parts: GeminiPart[] = [];
  content.forEach((part: unknown, index) => {
    const converted = partToGemini(part, { ...context, param: `${context.param}[${index}]` });
    if (converted) parts.push(converted);
  });
  return parts;
}

function partToGemini(part: unknown, context: PartsContext): GeminiPart | undefined {
  if (!isRecord(part)) throw errors.invalidValue(context.param, `Invalid '${context.param}': expected an object.`);
  switch (part.type) {
    case 'text':
      if (typeof part.text !== 'string') throw errors.missingField(`${context.param}.text`);
      return part.text === '' ? undefined : { text: part.text };
    case 'refusal':
      return undefined; // an assistant's refusal is not something to send back as model output
    case 'image_url':
      return imagePart(part.image_url, context);
    case 'input_audio':
      return audioPart(part.input_audio, context);
    case 'file':
      return filePart(part.file, context);
    default:
      throw errors.invalidValue(
        `${context.param}.type`,
        `Content part type '${String(part.type)}' is not supported by Vertex AI Gemini. Supported: text, image_url, input_audio, file.`,
      );
  }
}

function imagePart(imageUrl: unknown, context: PartsContext): GeminiPart {
  const url = typeof imageUrl === 'string' ? imageUrl : isRecord(imageUrl) ? imageUrl.url : undefined;
  if (typeof url !== 'string' || url === '') throw errors.missingField(`${context.param}.image_url.url`);
  if (url.startsWith('data:')) return { inlineData: parseDataUrl(url, `${context.param}.image_url.url`) };
  // Vertex needs a mimeType with every fileUri (docs/wire-formats.md §3.4): guess from the extension; an
  // image_url part is an image, so an unknown extension falls back to JPEG.
  const guessed = mimeFromName(url);
  return { fileData: { mimeType: guessed === GENERIC ? 'image/jpeg' : guessed, fileUri: url } };
}

function audioPart(audio: unknown, context: PartsContext): GeminiPart {
  if (!isRecord(audio) || typeof audio.data !== 'string') throw errors.missingField(`${context.param}.input_audio.data`);
  const format = typeof audio.format === 'string' ? audio.format : 'wav';
  return { inlineData: { mimeType: format === 'mp3' ? 'audio/mpeg' : `audio/${format}`, data: audio.data } };
}

function filePart(file: unknown, context: PartsContext): GeminiPart {
  const param = `${context.param}.file`;
  if (!isRecord(file)) throw errors.missingField(param);
  const format = typeof file.format === 'string' && file.format !== '' ? file.format : undefined;
  if (typeof file.file_id === 'string' && file.file_id !== '') {
    const fileId = file.file_id;
    const target = lookupFileReference({ fileReferences: context.fileReferences, fileId, instance: context.instance, param: `${param}.file_id` });
    if (target) return { fileData: { mimeType: target.mimeType, fileUri: target.providerFileId } };
    // A gs:// URI the client names itself is usable as is (LiteLLM does the same, LiteLLM's managed files in chat, docs.litellm.ai/docs/proxy/litellm_managed_files).
    if (fileId.startsWith('gs://')) {
      const mimeType = format ?? mimeFromName(fileId);
      if (mimeType === GENERIC) {
        throw errors.invalidValue(`${param}.format`, `Cannot tell the MIME type of ${fileId}; set it in ${param}.format.`);
      }
      return { fileData: { mimeType, fileUri: fileId } };
    }
    throw errors.invalidValue(`${param}.file_id`, `File ${fileId} cannot be used with Vertex AI: send a managed file id, a gs:// URI or file_data.`);
  }
  if (typeof file.file_data === 'string' && file.file_data !== '') {
    if (file.file_data.startsWith('data:')) return { inlineData: parseDataUrl(file.file_data, `${param}.file_data`) };
    // OpenAI's spec calls file_data plain base64 (docs/wire-formats.md §1.9): type from format, name or bytes.
    const filename = typeof file.filename === 'string' ? file.filename : '';
    const head = Buffer.from(file.file_data.slice(0, 96), 'base64');
    return { inlineData: { mimeType: format ?? resolveMimeType({ filename, head }), data: file.file_data } };
  }
  throw errors.invalidValue(param, `Invalid '${param}': expected file_id or file_data.`);
}

const GENERIC = 'application/octet-stream';

/** MIME type from a URL's or name's extension; `application/octet-stream` when unknown. */
export function mimeFromName(nameOrUrl: string): string {
  let path = nameOrUrl;
  try {
    path = new URL(nameOrUrl).pathname;
  } catch {
    // a bare name, not a URL
  }
  return resolveMimeType({ filename: path, head: Buffer.alloc(0) });
}

/** `data:<mime>[;params][;base64],<data>` → Gemini inlineData (base64 always). */
export function parseDataUrl(url: string, param: string): { mimeType: string; data: string } {
  const match = /^data:([^,]*?),(.*)$/s.exec(url);
  if (!match) throw errors.invalidValue(param, `Invalid '${param}': not a valid data: URL.`);
  const [mediaType, ...flags] = match[1]!.split(';');
  const isBase64 = flags.some((flag) => flag.trim().toLowerCase() === 'base64');
  const payload = match[2]!;
  let data: string;
  try {
    data = isBase64 ? payload : Buffer.from(decodeURIComponent(payload), 'utf8').toString('base64');
  } catch {
    throw errors.invalidValue(param, `Invalid '${param}': the data: URL is not properly percent-encoded.`);
  }
  // RFC 2397: an empty media type means text/plain.
  return { mimeType: mediaType!.trim() === '' ? 'text/plain' : mediaType!.trim().toLowerCase(), data };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
