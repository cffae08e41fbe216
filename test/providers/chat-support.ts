/** Shared helpers of the chat adapter tests: a recording call context and stream draining. */
import { jsonValue, type JsonAnswer } from '../../src/core/raw-json.ts';
import type { CallContext } from '../../src/providers/provider-adapter.ts';

export type LogLine = Record<string, unknown>;

/** A call context whose logger keeps every line (to assert on the one line per upstream call). */
export function recordingContext(signal?: AbortSignal): CallContext & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const push = (object: Record<string, unknown>, message?: string): void => void lines.push({ ...object, message });
  return { requestId: 'req-chat-test', logger: { info: push, warn: push, error: push }, lines, ...(signal ? { signal } : {}) };
}

export async function collect(chunks: AsyncIterable<JsonAnswer>): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  for await (const chunk of chunks) out.push(jsonValue(chunk));
  return out;
}

/** A completion as an object (OpenAI and Azure pass the provider's JSON text on). */
export async function answerOf(answer: Promise<JsonAnswer>): Promise<Record<string, any>> {
  return jsonValue(await answer);
}

/** The concatenated delta.content of choice 0. */
export function streamedText(chunks: Array<Record<string, any>>): string {
  return chunks.map((chunk) => (chunk.choices?.[0]?.delta?.content as string | undefined) ?? '').join('');
}

/** Resolves with the rejection of `promise` (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
