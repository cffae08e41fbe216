/**
 * Streams a batch JSONL file line by line, setting each request's `body.model` to the
 * deployment's own model or Azure deployment name (providers.md §2.4: Azure requires it; for
 * OpenAI the public model_name is not a model OpenAI knows). Memory is bounded by one line.
 */
import { Readable } from 'node:stream';
import { errors } from '../../core/errors.ts';

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
    let pending = '';
    let lineNumber = 0;
    const decoder = new TextDecoder('utf-8');
    for await (const chunk of source) {
      pending += decoder.decode(chunk as Buffer, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        lineNumber += 1;
        const line = pending.slice(0, newline).replace(/\r$/, '');
        pending = pending.slice(newline + 1);
        yield Buffer.from(`${rewriteLine(line, model, lineNumber)}\n`);
        newline = pending.indexOf('\n');
      }
      if (pending.length > MAX_LINE_BYTES) throw errors.invalidValue('file', `Line ${lineNumber + 1} of the batch file is longer than 64 MB.`);
    }
    pending += decoder.decode();
    if (pending.trim() !== '') yield Buffer.from(rewriteLine(pending, model, lineNumber + 1));
  }
  return Readable.from(lines(), { objectMode: false });
}

/** Reads the first line to check the file is batch JSONL before anything is uploaded. */
export function looksLikeBatchJsonl(head: Buffer): boolean {
  return head.toString('utf8').trimStart().startsWith('{');
}
