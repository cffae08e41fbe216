/**
 * The check of a managed `purpose=batch` upload before anything is uploaded (README "Batches"): every
 * non-blank line is a JSON object with `custom_id` (a string, unique in the file), `method`,
 * `url` and a `body` object (nested at most 64 levels, like a chat body) whose `model` is one of
 * the file's target model names. Streams the spooled body line by line (memory: one chunk, one
 * line and a 64-bit hash per custom_id, custom-id-set.ts), and answers 400 naming the first bad
 * line.
 */
import { errors } from '../core/errors.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../core/json-depth.ts';
import { jsonlLines } from '../core/jsonl-lines.ts';
import { CustomIdSet, type IdHash } from './custom-id-set.ts';
import type { UploadBody } from '../providers/provider-adapter.ts';

const MAX_LINE_BYTES = 64 * 1024 * 1024;

const tooLong = (number: number) => errors.invalidValue('file', `Line ${number} of the batch file is longer than 64 MB.`);

/** The custom_ids of the given (already checked) lines, read again from the spooled body. */
async function customIdsAt(body: UploadBody, numbers: readonly number[]): Promise<string[]> {
  const wanted = new Set(numbers);
  const last = Math.max(...numbers);
  const ids: string[] = [];
  const stream = body.open();
  try {
    for await (const { line, number } of jsonlLines(stream as AsyncIterable<Buffer>, { maxLineBytes: MAX_LINE_BYTES, tooLong })) {
      if (wanted.has(number)) ids.push((JSON.parse(line) as { custom_id: string }).custom_id);
      if (number >= last) break;
    }
  } finally {
    stream.destroy();
  }
  return ids;
}

function checkLine(line: string, number: number, targets: readonly string[]): Record<string, unknown> & { custom_id: string } {
  const bad = (why: string) => errors.invalidValue('file', `Line ${number} of the batch file ${why}.`);
  // A line holds a request body one level down: the body gets the chat limit (core/json-depth.ts).
  if (jsonDepthExceeds(line, MAX_JSON_DEPTH + 1)) throw bad(`is nested deeper than ${MAX_JSON_DEPTH} levels in its "body"`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw bad('is not valid JSON (a batch file is JSONL: one JSON object per line)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('is not a JSON object');
  const request = value as Record<string, unknown>;
  for (const key of ['custom_id', 'method', 'url', 'body']) {
    if (!(key in request)) throw bad(`has no "${key}"`);
  }
  if (typeof request.custom_id !== 'string' || request.custom_id === '') throw bad('has a "custom_id" that is not a non-empty string');
  if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body)) throw bad('has a "body" that is not an object');
  const model = (request.body as Record<string, unknown>).model;
  if (model !== undefined && (typeof model !== 'string' || !targets.includes(model))) {
    throw bad(`names model ${JSON.stringify(String(model)).slice(0, 200)}, which is not among the file's target_model_names (${targets.join(', ')})`);
  }
  return request as Record<string, unknown> & { custom_id: string };
}

export interface BatchFileCheckOptions {
  idHash?: IdHash;
  /** Called with every checked request in order (the files its lines name: batch-references.ts). */
  onRequest?: (request: Record<string, unknown>, number: number) => Promise<void> | undefined;
}

export async function checkBatchFile(body: UploadBody, targets: readonly string[], options: BatchFileCheckOptions = {}): Promise<void> {
  const seen = new CustomIdSet(options.idHash);
  let lines = 0;
  const stream = body.open();
  try {
    const split = jsonlLines(stream as AsyncIterable<Buffer>, {
      maxLineBytes: MAX_LINE_BYTES,
      tooLong,
      invalidUtf8: (number) => errors.invalidValue('file', `Line ${number} of the batch file is not valid UTF-8.`),
    });
    for await (const { line, number } of split) {
      if (line.trim() === '') continue;
      lines += 1;
      const request = checkLine(line, number, targets);
      const id = request.custom_id;
      const earlier = seen.seenAt(id);
      // A hash match is a candidate only: the earlier lines' ids are read again and compared.
      if (earlier.length > 0 && (await customIdsAt(body, earlier)).includes(id)) {
        throw errors.invalidValue('file', `Line ${number} of the batch file repeats the custom_id "${id.slice(0, 200)}".`);
      }
      seen.add(id, number);
      // Awaited only when it has work to wait for (most lines name no file): no microtask per line.
      const pending = options.onRequest?.(request, number);
      if (pending) await pending;
    }
  } finally {
    stream.destroy();
  }
  if (lines === 0) throw errors.invalidValue('file', 'The batch file has no requests (a batch file is JSONL: one request per line).');
}
