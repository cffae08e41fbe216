/**
 * Streams a batch JSONL file line by line, setting each request's `body.model` to the
 * deployment's own model or Azure deployment name (providers.md §2.4: Azure requires it; for
 * OpenAI the public model_name is not a model OpenAI knows) and each managed file id a line
 * names to this deployment's copy. Lines are split on bytes by
 * core/jsonl-lines.ts; memory is bounded by one line.
 */
import { Readable } from 'node:stream';
import { errors } from '../../core/errors.ts';
import { isUnifiedId } from '../../core/ids.ts';
import { jsonlLines } from '../../core/jsonl-lines.ts';

const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Replaces every unified id under a `file_id` key (or in a `file_ids` array) anywhere in the body
 * by this deployment's provider id: chat `file.file_id` (the chat rule, openai-chat.ts
 * rewriteFileReferences), Responses `input_file`/`input_image`, code interpreter `file_ids`, ….
 * Iterative: a deeply nested body cannot exhaust the stack.
 */
function translateFileIds(body: Record<string, unknown>, fileIds: Readonly<Record<string, string>>, lineNumber: number): void {
  const swap = (id: string): string => {
    if (!isUnifiedId('file', id)) return id;
    if (!Object.hasOwn(fileIds, id)) {
      throw errors.invalidValue('file', `Line ${lineNumber} of the batch file refers to file ${id}, which is not available on this deployment.`);
    }
    return fileIds[id]!;
  };
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (isRecord(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (key === 'file_id' && typeof item === 'string') value[key] = swap(item);
        else if (key === 'file_ids' && Array.isArray(item)) value[key] = item.map((entry: unknown) => (typeof entry === 'string' ? swap(entry) : entry));
        else stack.push(item);
      }
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function rewriteLine(line: string, model: string, lineNumber: number, fileIds: Readonly<Record<string, string>> | undefined): string {
  if (line.trim() === '') return line;
  let request: { body?: Record<string, unknown> };
  try {
    request = JSON.parse(line) as { body?: Record<string, unknown> };
  } catch {
    throw errors.invalidValue('file', `Line ${lineNumber} of the batch file is not valid JSON.`);
  }
  if (!request || typeof request !== 'object' || typeof request.body !== 'object' || request.body === null) {
    throw errors.invalidValue('file', `Line ${lineNumber} of the batch file has no "body" object.`);
  }
  request.body.model = model;
  if (fileIds) translateFileIds(request.body, fileIds, lineNumber);
  return JSON.stringify(request);
}

/** `fileIds` (unified → this deployment's provider id): see UploadShapingInput.fileIds. */
export function rewriteBatchModel(source: Readable, model: string, fileIds?: Readonly<Record<string, string>>): Readable {
  async function* lines(): AsyncGenerator<Buffer> {
    const split = jsonlLines(source as AsyncIterable<Buffer>, {
      maxLineBytes: MAX_LINE_BYTES,
      tooLong: (number) => errors.invalidValue('file', `Line ${number} of the batch file is longer than 64 MB.`),
    });
    for await (const { line, number } of split) yield Buffer.from(`${rewriteLine(line, model, number, fileIds)}\n`);
  }
  return Readable.from(lines(), { objectMode: false });
}

/** Reads the first line to check the file is batch JSONL before anything is uploaded. */
export function looksLikeBatchJsonl(head: Buffer): boolean {
  return head.toString('utf8').trimStart().startsWith('{');
}
