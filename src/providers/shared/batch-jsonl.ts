/**
 * Streams a batch JSONL file line by line, setting each request's `body.model` to the
 * deployment's own model or Azure deployment name (docs/wire-formats.md §2.4: Azure requires it; for
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
 * Unified file id → this deployment's provider id: a map computed at upload, or (a copy re-made
 * later) a lookup that throws naming the line when the file is not available there.
 */
export type FileIdMapping = Readonly<Record<string, string>> | ((fileId: string, line: number) => Promise<string>);

interface Slot {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  id: string;
}

/**
 * Every unified id under a `file_id` key (or in a `file_ids` array) anywhere in the body: chat
 * `file.file_id` (the chat rule, openai-chat.ts rewriteFileReferences), Responses `input_file` /
 * `input_image`, code interpreter `file_ids`, …. Iterative: deep nesting cannot exhaust the stack.
 */
function unifiedIdSlots(body: Record<string, unknown>): Slot[] {
  const slots: Slot[] = [];
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (isRecord(value)) {
      for (const key in value) {
        const item = value[key];
        if (key === 'file_id' && typeof item === 'string') {
          if (isUnifiedId('file', item)) slots.push({ holder: value, key, id: item });
        } else if (key === 'file_ids' && Array.isArray(item)) {
          item.forEach((entry: unknown, index) => {
            if (typeof entry === 'string' && isUnifiedId('file', entry)) slots.push({ holder: item, key: index, id: entry });
          });
        } else stack.push(item);
      }
    }
  }
  return slots;
}

/** Replaces the line's unified ids by this deployment's provider ids; a promise only when a lookup runs. */
function translateFileIds(body: Record<string, unknown>, fileIds: FileIdMapping, lineNumber: number): void | Promise<void> {
  const slots = unifiedIdSlots(body);
  if (slots.length === 0) return;
  const put = (slot: Slot, providerId: string) => {
    (slot.holder as Record<string | number, unknown>)[slot.key] = providerId;
  };
  if (typeof fileIds === 'function') {
    return (async () => {
      for (const slot of slots) put(slot, await fileIds(slot.id, lineNumber));
    })();
  }
  for (const slot of slots) {
    if (!Object.hasOwn(fileIds, slot.id)) {
      throw errors.invalidValue('file', `Line ${lineNumber} of the batch file refers to file ${slot.id}, which is not available on this deployment.`);
    }
    put(slot, fileIds[slot.id]!);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function rewriteLine(line: string, model: string, lineNumber: number, fileIds: FileIdMapping | undefined): string | Promise<string> {
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
  const translated = fileIds ? translateFileIds(request.body, fileIds, lineNumber) : undefined;
  return translated ? translated.then(() => JSON.stringify(request)) : JSON.stringify(request);
}

/** `fileIds`: see UploadShapingInput.fileIds. */
export function rewriteBatchModel(source: Readable, model: string, fileIds?: FileIdMapping): Readable {
  async function* lines(): AsyncGenerator<Buffer> {
    const split = jsonlLines(source as AsyncIterable<Buffer>, {
      maxLineBytes: MAX_LINE_BYTES,
      tooLong: (number) => errors.invalidValue('file', `Line ${number} of the batch file is longer than 64 MB.`),
    });
    for await (const { line, number } of split) {
      const rewritten = rewriteLine(line, model, number, fileIds);
      yield Buffer.from(`${typeof rewritten === 'string' ? rewritten : await rewritten}\n`);
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** Reads the first line to check the file is batch JSONL before anything is uploaded. */
export function looksLikeBatchJsonl(head: Buffer): boolean {
  return head.toString('utf8').trimStart().startsWith('{');
}
