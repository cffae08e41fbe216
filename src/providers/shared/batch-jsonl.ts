/**
 * Streams a batch JSONL file line by line, setting each request's `body.model` to the
 * deployment's own model or Azure deployment name (providers.md §2.4: Azure requires it; for
 * OpenAI the public model_name is not a model OpenAI knows). Lines are split on bytes by
 * core/jsonl-lines.ts; memory is bounded by one line.
 */
import { Readable } from 'node:stream';
import { errors } from '../../core/errors.ts';
import { jsonlLines } from '../../core/jsonl-lines.ts';

const MAX_LINE_BYTES = 64 * 1024 * 1024;

function rewriteLine(line: string, model: string, lineNumber: number): string {
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
  return JSON.stringify(request);
}

export function rewriteBatchModel(source: Readable, model: string): Readable {
  async function* lines(): AsyncGenerator<Buffer> {
    const split = jsonlLines(source as AsyncIterable<Buffer>, {
      maxLineBytes: MAX_LINE_BYTES,
      tooLong: (number) => errors.invalidValue('file', `Line ${number} of the batch file is longer than 64 MB.`),
    });
    for await (const { line, number } of split) yield Buffer.from(`${rewriteLine(line, model, number)}\n`);
  }
  return Readable.from(lines(), { objectMode: false });
}

/** Reads the first line to check the file is batch JSONL before anything is uploaded. */
export function looksLikeBatchJsonl(head: Buffer): boolean {
  return head.toString('utf8').trimStart().startsWith('{');
}
