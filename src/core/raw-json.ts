/**
 * A JSON object kept as the text a provider sent: when nothing in an answer must change (OpenAI
 * and Azure chat completions and their stream chunks), the gateway passes the provider's bytes on
 * instead of parsing and re-serializing them. Parsed only when someone reads the value (the SDK).
 */
export class RawJson {
  constructor(readonly text: string) {}

  /** The parsed object (parsed on every call: the hot path never calls it). */
  value(): Record<string, unknown> {
    return JSON.parse(this.text) as Record<string, unknown>;
  }
}

/**
 * Where a passed-through stream writes its Server-Sent Events, already framed (`data: …\n\n`,
 * one or more events per write): the client's response (src/http/sse-writer.ts).
 */
export interface SseTarget {
  /** The client went away: stop, and let the upstream go. */
  readonly closed: boolean;
  /** Writes framed events; false: the client cannot take more now — wait for `whenWritable`. */
  writeNow(text: string): boolean;
  /** Calls `resume` once the client drained what was written (or went away): later, never from inside this call. */
  whenWritable(resume: () => void): void;
}

/**
 * A stream whose provider events pass on as they came (see ChatCapability.streamSse): written
 * straight to the client's response as the upstream reads arrive, instead of yielded chunk by chunk.
 */
export class SsePassthrough {
  constructor(
    /**
     * Writes the events to `target` until the upstream's stream ends, without `[DONE]` (the caller
     * writes it); rejects as an iteration of the stream would throw (the events before a failing
     * one are written first).
     */
    readonly pipeTo: (target: SseTarget) => Promise<void>,
  ) {}
}

/** An OpenAI-shaped answer: built by a converter, or a provider's own JSON text. */
export type JsonAnswer = Record<string, unknown> | RawJson;

/** The JSON text of an answer, serialized only when it is not already text. */
export function jsonText(answer: JsonAnswer): string {
  return answer instanceof RawJson ? answer.text : JSON.stringify(answer);
}

/** The answer as an object. */
export function jsonValue(answer: JsonAnswer): Record<string, unknown> {
  return answer instanceof RawJson ? answer.value() : answer;
}

/**
 * Whether text is a JSON object by its outline: `{` … `}` around it, JSON whitespace allowed.
 * A cheap test that decides between passing text on and parsing it (which then reports
 * anything malformed); it does not validate what lies between the braces.
 */
export function looksLikeJsonObject(text: string): boolean {
  let start = 0;
  let end = text.length - 1;
  while (start <= end && isJsonSpace(text.charCodeAt(start))) start += 1;
  while (end > start && isJsonSpace(text.charCodeAt(end))) end -= 1;
  return end > start && text.charCodeAt(start) === 0x7b && text.charCodeAt(end) === 0x7d;
}

function isJsonSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}
