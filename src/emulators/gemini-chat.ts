/**
 * Gemini API generateContent on the Gemini emulator (docs/wire-formats.md §4.5, §3.3):
 *   POST /v1beta/models/{model}:generateContent
 *   POST /v1beta/models/{model}:streamGenerateContent?alt=sse  (SSE, no [DONE]; without alt=sse a JSON array)
 * The body is checked like Vertex's (chat-gemini-validate.ts) minus Vertex-only fields, and every
 * `fileData.fileUri` naming a Files API file must be a live file of the caller's project, ACTIVE,
 * with the same mimeType. Answered by the echo model, in GenerateContentResponse shape.
 */
import { randomBytes } from 'node:crypto';
import { echoAnswer } from './chat-echo.ts';
import { sendGeminiAnswer } from './chat-gemini.ts';
import { fieldOf, isRecord } from './chat-gemini-fields.ts';
import { parseGeminiRequest } from './chat-gemini-validate.ts';
import { enforcesThoughtSignatures, thoughtSignatureProblem } from './gemini-thought-signatures.ts';
import { EmulatorBodyError, type EmulatorExchange } from './emulator-exchange.ts';
import { geminiError, noSuchFile } from './gemini-errors.ts';
import type { GeminiFiles } from './gemini-files-store.ts';

const PATH = /^\/(v1beta|v1)\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
const FILE_URI = /^https?:\/\/[^/]+\/v1beta\/files\/([a-z0-9-]+)$/;

export interface GeminiChatRoute {
  files: GeminiFiles;
  project: string;
  chunkDelayMs: number;
  /** Models that exist; undefined = any name. */
  models?: readonly string[];
}

type Problem = { status: number; body: Record<string, unknown> };

/** Answers the call when it is a generateContent route; false otherwise. */
export async function handleGeminiChat(exchange: EmulatorExchange, route: GeminiChatRoute): Promise<boolean> {
  const match = PATH.exec(exchange.path);
  if (!match || exchange.method !== 'POST') return false;
  const [, version, model, method] = match;
  let body: unknown;
  try {
    body = await exchange.readJson();
  } catch (error) {
    if (!(error instanceof EmulatorBodyError)) throw error;
    await exchange.sendJson(error.status, geminiError(error.status, `Invalid JSON payload received. ${error.message}`));
    return true;
  }
  if (route.models && !route.models.includes(model!)) {
    await exchange.sendJson(404, geminiError(404, `models/${model} is not found for API version ${version}, or is not supported for generateContent.`));
    return true;
  }
  // `labels` is a Vertex AI field; the Gemini API's proto has no such name.
  if (isRecord(body) && body.labels !== undefined) {
    await exchange.sendJson(400, geminiError(400, 'Invalid JSON payload received. Unknown name "labels": Cannot find field.'));
    return true;
  }
  const problem = checkFiles(body, route);
  if (problem) {
    await exchange.sendJson(problem.status, problem.body);
    return true;
  }
  const parsed = parseGeminiRequest(body, () => undefined);
  if (!parsed.ok) {
    await exchange.sendJson(400, geminiError(400, parsed.message));
    return true;
  }
  const unsigned = enforcesThoughtSignatures(model!) ? thoughtSignatureProblem(body) : undefined;
  if (unsigned) {
    await exchange.sendJson(400, geminiError(400, unsigned));
    return true;
  }
  const meta = { modelVersion: model!, responseId: randomBytes(15).toString('base64url') };
  await sendGeminiAnswer(exchange, { stream: method !== 'generateContent', model: model!, answer: echoAnswer({ ...parsed.echo, label: `gemini:${model}` }), meta, chunkDelayMs: route.chunkDelayMs });
  return true;
}

/** Every fileData part that names a Files API file must be usable now (docs/wire-formats.md §4.5). */
function checkFiles(body: unknown, route: GeminiChatRoute): Problem | undefined {
  const contents = isRecord(body) ? fieldOf(body, 'contents') : undefined;
  if (!Array.isArray(contents)) return undefined;
  for (const content of contents) {
    const parts = isRecord(content) ? fieldOf(content, 'parts') : undefined;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) {
      const fileData = isRecord(part) ? fieldOf(part, 'fileData') : undefined;
      if (!isRecord(fileData)) continue;
      const uri = fieldOf(fileData, 'fileUri');
      const mimeType = fieldOf(fileData, 'mimeType');
      if (typeof uri !== 'string') continue;
      if (uri.startsWith('gs://')) {
        return { status: 400, body: geminiError(400, `Unsupported file uri: ${uri}. Register Cloud Storage files first or use the Files API.`) };
      }
      const id = FILE_URI.exec(uri)?.[1];
      if (id === undefined) continue; // a public https URL: the API fetches those itself
      const file = route.files.get(id, route.project);
      if (!file) return { status: 403, body: noSuchFile(id) };
      const state = route.files.state(file);
      if (state !== 'ACTIVE') {
        return { status: 400, body: geminiError(400, `The File ${id} is not in an ACTIVE state and usage is not allowed.`, 'FAILED_PRECONDITION') };
      }
      if (typeof mimeType === 'string' && mimeType !== file.mimeType) {
        return { status: 400, body: geminiError(400, `The mime_type ${mimeType} given for files/${id} does not match the file's ${file.mimeType}.`) };
      }
    }
  }
  return undefined;
}
