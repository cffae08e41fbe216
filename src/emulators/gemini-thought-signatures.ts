/**
 * Thought signatures as Gemini thinking models hand them out and demand them back
 * (ai.google.dev/gemini-api/docs/thought-signatures): every functionCall part the model sends
 * carries an opaque base64 `thoughtSignature`; Gemini 3 models refuse (400) a conversation whose
 * earlier model turns bring a functionCall back without its signature, or with one it did not
 * issue. The emulator's signatures are a stable digest of the function name, so they can be
 * checked without keeping state.
 */
import { createHash } from 'node:crypto';
import { fieldOf, isRecord } from './chat-gemini-fields.ts';

export function thoughtSignatureFor(functionName: string): string {
  return createHash('sha256').update(`unifile-emulator-thought:${functionName}`).digest('base64');
}

/**
 * Models the emulator signs function calls for: the Gemini 3 family, which also enforces them.
 * (Real 2.5 models sign too when thinking is on; the emulator keeps their answers unsigned so
 * that both shapes of answer stay covered.)
 */
export function issuesThoughtSignatures(model: string): boolean {
  return /^gemini-3/.test(model);
}

/** Adds a signature to every functionCall part of a GenerateContentResponse, for thinking models. */
export function signFunctionCalls<T>(model: string, response: T): T {
  if (!issuesThoughtSignatures(model) || !isRecord(response) || !Array.isArray(response.candidates)) return response;
  for (const candidate of response.candidates) {
    const parts = isRecord(candidate) && isRecord(candidate.content) ? candidate.content.parts : undefined;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) {
      if (isRecord(part) && isRecord(part.functionCall)) part.thoughtSignature = thoughtSignatureFor(String(part.functionCall.name));
    }
  }
  return response;
}

/** Models that enforce signatures on replayed function calls (the Gemini 3 family). */
export function enforcesThoughtSignatures(model: string): boolean {
  return /^gemini-3/.test(model);
}

/** The 400 message for the first model-turn functionCall without a valid signature, if any. */
export function thoughtSignatureProblem(body: unknown): string | undefined {
  const contents = isRecord(body) ? fieldOf(body, 'contents') : undefined;
  if (!Array.isArray(contents)) return undefined;
  for (const [index, content] of contents.entries()) {
    if (!isRecord(content) || fieldOf(content, 'role') !== 'model') continue;
    const parts = fieldOf(content, 'parts');
    if (!Array.isArray(parts)) continue;
    for (const [position, part] of parts.entries()) {
      const call = isRecord(part) ? fieldOf(part, 'functionCall') : undefined;
      if (!isRecord(call)) continue;
      const signature = fieldOf(part as Record<string, unknown>, 'thoughtSignature');
      const name = String(fieldOf(call, 'name'));
      if (signature === undefined) {
        return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${position + 1} of contents[${index}]. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
      }
      if (signature !== thoughtSignatureFor(name)) return 'Corrupted thought signature.';
    }
  }
  return undefined;
}
