/**
 * Streaming converters between OpenAI batch JSONL (docs/wire-formats.md §1.10) and Vertex batch
 * prediction JSONL (docs/wire-formats.md §3.5), one line at a time: memory is bounded by one line (the custom_ids go
 * to and come from disk, custom-id-index.ts).
 *
 * custom_ids are arbitrary strings and GCP labels are not (lowercase, ≤ 63 characters), so a
 * custom_id never goes into a label: each Vertex request carries only its input row number in
 * `labels.unifile_row`, which Vertex echoes back in every predictions line, and the custom_ids
 * are kept in row order beside the input (README "Batches"). Output comes back out of order and is
 * matched through that row number.
 */
import { hash } from 'node:crypto';
import { errors } from '../../core/errors.ts';
import { isUnifiedId } from '../../core/ids.ts';
import { jsonlLines, JsonlSplitter, type JsonlLine, type JsonlLineOptions } from '../../core/jsonl-lines.ts';
import { convertGeminiResponse } from '../google/convert-gemini-to-openai.ts';
import { convertOpenAIToGemini } from '../google/convert-openai-to-gemini.ts';
import type { GeminiResponse } from '../google/gemini-types.ts';

type Json = Record<string, unknown>;

export const ROW_LABEL = 'unifile_row';
const MAX_LINE_BYTES = 64 * 1024 * 1024;

const LINE_OPTIONS: JsonlLineOptions = {
  maxLineBytes: MAX_LINE_BYTES,
  tooLong: (number) => errors.invalidValue('input_file_id', `Line ${number} of the batch file is longer than 64 MB.`),
};

/** Splits a byte stream into UTF-8 lines (without the newline); numbers start at 1. */
export function splitLines(source: AsyncIterable<Buffer | string>): AsyncGenerator<JsonlLine> {
  return jsonlLines(source, LINE_OPTIONS);
}

/**
 * The converted lines of each source chunk joined into one string: the output converter yields
 * once per chunk (~64 KiB), not once per line, so no promise chain per line runs through the
 * generators and the upload loop (BENCHMARKS.md, "Vertex AI batch through the gateway"). The
 * input converter stays per line: resolving a managed file a line names is asynchronous.
 */
async function* convertByChunk(
  source: AsyncIterable<Buffer | string>,
  convert: (line: string, number: number) => string | undefined,
): AsyncGenerator<string> {
  const splitter = new JsonlSplitter(LINE_OPTIONS);
  let out = '';
  const take = (line: string, number: number): void => {
    const converted = convert(line, number);
    if (converted !== undefined) out += converted;
  };
  for await (const chunk of source) {
    splitter.push(chunk, take);
    if (out !== '') {
      const ready = out;
      out = '';
      yield ready;
    }
  }
  splitter.end(take);
  if (out !== '') yield out;
}

function badLine(number: number, problem: string): Error {
  return errors.invalidValue('input_file_id', `Line ${number} of the batch input ${problem}.`);
}

/**
 * OpenAI batch lines → `{"request": <generateContent body>}` lines. `onRow(row, custom_id)` is
 * called for each request in order (rows count from 0, blank lines skipped).
 */
export async function* openAIBatchToVertex(
  source: AsyncIterable<Buffer | string>,
  options: {
    instance: string;
    onRow: (row: number, customId: string) => void;
    /** This deployment's copy of a managed file a line names (checked as the caller's); throws naming the line otherwise. */
    resolveFile?: (fileId: string, line: number) => Promise<{ providerFileId: string; mimeType: string }>;
  },
): AsyncGenerator<string> {
  let row = 0;
  for await (const { line, number } of splitLines(source)) {
    if (line.trim() === '') continue;
    let request: Json;
    try {
      request = JSON.parse(line) as Json;
    } catch {
      throw badLine(number, 'is not valid JSON');
    }
    if (!request || typeof request !== 'object' || Array.isArray(request)) throw badLine(number, 'is not a JSON object');
    if (typeof request.custom_id !== 'string') throw badLine(number, 'has no string "custom_id"');
    const body = request.body as Json | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.messages)) throw badLine(number, 'has no chat completion "body" with "messages"');
    // Managed file ids become this deployment's gs:// copies, as in chat (README "Endpoints" (chat)).
    const fileReferences: Record<string, Record<string, { providerFileId: string; mimeType: string }>> = {};
    const ours = new Set<string>();
    for (const fileId of managedFileIds(body.messages)) {
      if (Object.hasOwn(fileReferences, fileId)) continue;
      if (!options.resolveFile) throw badLine(number, `refers to the managed file ${fileId}, which this batch cannot resolve`);
      const target = await options.resolveFile(fileId, number);
      fileReferences[fileId] = { [options.instance]: target };
      ours.add(target.providerFileId);
    }
    let gemini: Json;
    try {
      gemini = convertOpenAIToGemini({ body: body as Json & { messages: unknown[] }, fileReferences, instance: options.instance }) as unknown as Json;
    } catch (error) {
      throw badLine(number, `cannot be sent to Vertex AI: ${(error as Error).message}`);
    }
    const stored = storedDataUri(gemini, ours);
    if (stored !== undefined) {
      // Vertex reads it with the gateway's credentials, and no ownership check runs inside a batch.
      throw badLine(number, `refers to stored data (${stored.slice(0, 200)}); a Vertex AI batch line may only carry inline data or public https URLs`);
    }
    // Object.assign, not a spread literal with an extra key (old-generation garbage, convert-gemini-to-openai.ts).
    gemini.labels = Object.assign({}, (gemini.labels as Json | undefined) ?? {}, { [ROW_LABEL]: String(row) });
    await options.onRow(row, request.custom_id);
    row += 1;
    yield `${JSON.stringify({ request: gemini })}\n`;
  }
}

const STORAGE_HOSTS = /^https?:\/\/([a-z0-9.-]+\.)?(storage\.googleapis\.com|storage\.cloud\.google\.com|generativelanguage\.googleapis\.com)(:\d+)?\//i;

/** The unified ids in `file.file_id` of the messages' content parts. */
function managedFileIds(messages: unknown[]): string[] {
  const ids: string[] = [];
  for (const message of messages) {
    const content = (message as Json | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const file = (part as Json | null)?.file as Json | undefined;
      if (file && typeof file.file_id === 'string' && isUnifiedId('file', file.file_id)) ids.push(file.file_id);
    }
  }
  return ids;
}

/** The first `fileData.fileUri` naming a Cloud Storage object or Gemini file, if any, other than the copies in `ours`. */
function storedDataUri(gemini: Json, ours: ReadonlySet<string>): string | undefined {
  const blocks = [...((gemini.contents as Json[] | undefined) ?? []), (gemini.systemInstruction as Json | undefined) ?? {}];
  for (const block of blocks) {
    for (const part of ((block as Json).parts as Json[] | undefined) ?? []) {
      const uri = (part?.fileData as Json | undefined)?.fileUri;
      if (typeof uri === 'string' && !ours.has(uri) && (/^\s*gs:\/\//i.test(uri) || STORAGE_HOSTS.test(uri.trim()))) return uri;
    }
  }
  return undefined;
}

export interface VertexOutputOptions {
  /** The custom_id of an input row (from 0); undefined for a row the input did not have. */
  customId: (row: number) => string | undefined;
  /** The `model` of the chat.completion bodies (the deployment's model). */
  model: string;
  /** Stable seed for `batch_req_…`/request ids (the job id): the same output converts to the same bytes. */
  seed: string;
  /** Which lines to keep: successes (output file) or failures (error file). */
  keep: 'succeeded' | 'failed';
}

function stableId(seed: string, row: number | string, salt: string): string {
  // crypto.hash: one call, no Hash object per id (nodejs.org/api/crypto.html#cryptohashalgorithm-data-outputencoding).
  return hash('sha256', `${seed}\u0000${salt}\u0000${row}`, 'hex').slice(0, 24);
}

/**
 * Vertex predictions lines → OpenAI batch output lines (`{"id","custom_id","response","error"}`),
 * as strings (the converted lines of each source chunk joined): the consumer writes them
 * straight into its chunk (no Buffer per line).
 */
export function vertexOutputToOpenAI(source: AsyncIterable<Buffer | string>, options: VertexOutputOptions): AsyncGenerator<string> {
  return convertByChunk(source, (line) => predictionToOpenAI(line, options));
}

function predictionToOpenAI(line: string, options: VertexOutputOptions): string | undefined {
  if (line.trim() === '') return undefined;
  let prediction: Json;
  try {
    prediction = JSON.parse(line) as Json;
  } catch {
    return undefined; // a torn line is not an answer: its request is reported by the job's counts
  }
  const labels = ((prediction.request as Json | undefined)?.labels ?? {}) as Json;
  const row = Number(labels[ROW_LABEL]);
  const customId = Number.isInteger(row) ? options.customId(row) : undefined;
  if (customId === undefined) return undefined;
  const status = typeof prediction.status === 'string' ? prediction.status : '';
  const failed = status !== '' || !prediction.response;
  if ((options.keep === 'failed') !== failed) return undefined;
  const id = `batch_req_${stableId(options.seed, row, 'line')}`;
  const requestId = `req_${stableId(options.seed, row, 'request')}`;
  let out: Json;
  if (failed) {
    out = { id, custom_id: customId, response: { status_code: statusCodeOf(status), request_id: requestId, body: { error: { message: status || 'Vertex AI returned no response for this request.', type: 'invalid_request_error', param: null, code: null } } }, error: null };
  } else {
    let call = 0;
    const created = Date.parse(String(prediction.processed_time ?? ''));
    const body = convertGeminiResponse(prediction.response as GeminiResponse, {
      model: options.model,
      newToolCallId: () => `call_${stableId(options.seed, `${row}:${(call += 1)}`, 'call')}`,
      now: () => (Number.isFinite(created) ? Math.floor(created / 1000) : 0),
    });
    if (!(prediction.response as Json).responseId) body.id = `chatcmpl-${stableId(options.seed, row, 'completion')}`;
    out = { id, custom_id: customId, response: { status_code: 200, request_id: requestId, body }, error: null };
  }
  return `${JSON.stringify(out)}\n`;
}

/** Vertex's per-line status is a google.rpc message such as "Bad Request: …" or "400 …": its HTTP code, else 500. */
function statusCodeOf(status: string): number {
  const code = /\b([45]\d\d)\b/.exec(status)?.[1];
  if (code) return Number(code);
  return /invalid|bad request/i.test(status) ? 400 : 500;
}
