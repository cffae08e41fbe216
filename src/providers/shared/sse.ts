/**
 * A Server-Sent Events reader for upstream streams (OpenAI chat chunks, Vertex
 * streamGenerateContent?alt=sse). Follows the WHATWG event-stream rules that matter here:
 * lines end in \n, \r\n or \r (Vertex frames events with \r\n\r\n, docs/wire-formats.md §3.3), `data:`
 * lines of one event are joined with \n, comment lines (`:`) and other fields are skipped, and a
 * trailing event without its blank line is still delivered when the stream ends.
 */
import type { CallContext } from '../provider-adapter.ts';
import type { UpstreamClient, UpstreamResponse } from './upstream-client.ts';

/**
 * The events of a 2xx upstream SSE response. Read failures become the client's stream errors
 * (499 on abort); stopping early (the consumer breaks, or the gateway's client went away)
 * destroys the body, which closes the upstream connection so the provider stops generating.
 */
export async function* upstreamSseData(
  response: UpstreamResponse,
  client: UpstreamClient,
  context: CallContext,
): AsyncGenerator<string> {
  try {
    for await (const data of readSseData(response.body)) yield data;
  } catch (error) {
    throw client.streamFailure(error, context);
  } finally {
    if (!response.body.destroyed) response.body.destroy();
  }
}

/** Yields the data of each event, as text, in arrival order. */
export async function* readSseData(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const parser = new SseParser();
  for await (const chunk of body) yield* parser.push(chunk);
  yield* parser.finish();
}

/** The event-stream parser behind readSseData: fed chunk by chunk, returns the events each completed. */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';
  /** The `data:` lines of the event being read. */
  private readonly data: string[] = [];
  /** A \r at the very end of a chunk may be the first half of \r\n split across chunks. */
  private skipLeadingNewline = false;

  push(chunk: Uint8Array | string): string[] {
    let text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    if (this.skipLeadingNewline && text.charCodeAt(0) === 0x0a) text = text.slice(1);
    this.skipLeadingNewline = false;
    const events: string[] = [];
    let start = 0;
    // The next \n and the next \r at or after `start` (-1: none left), each searched for again
    // only once passed, so a chunk is scanned once whichever terminators it uses.
    let lf = text.indexOf('\n');
    let cr = text.indexOf('\r');
    for (;;) {
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) break;
      const event = this.takeLine(text.slice(start, end));
      let next = end + 1;
      if (end === cr) {
        if (next === text.length) this.skipLeadingNewline = true;
        else if (text.charCodeAt(next) === 0x0a) next += 1;
      }
      start = next;
      if (event !== undefined) events.push(event);
    }
    this.pending = start === 0 ? text : text.slice(start);
    return events;
  }

  /** At the end of the body: a trailing event without its blank line. */
  finish(): string[] {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    if (rest !== '') this.takeLine(rest);
    return this.data.length > 0 ? [this.takeEvent()] : [];
  }

  private takeEvent(): string {
    const event = this.data.length === 1 ? this.data[0]! : this.data.join('\n');
    this.data.length = 0;
    return event;
  }

  private takeLine(line: string): string | undefined {
    if (line === '') return this.data.length === 0 ? undefined : this.takeEvent();
    if (line.charCodeAt(0) === 0x3a) return undefined; // ':' a comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return undefined;
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    this.data.push(value);
    return undefined;
  }
}
