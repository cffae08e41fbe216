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
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let data: string[] = [];
  // A \r at the very end of a chunk may be the first half of \r\n split across chunks.
  let skipLeadingNewline = false;

  const takeLine = (line: string): string | undefined => {
    if (line === '') {
      if (data.length === 0) return undefined;
      const event = data.join('\n');
      data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return undefined;
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    data.push(value);
    return undefined;
  };

  for await (const chunk of body) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (skipLeadingNewline && pending.startsWith('\n')) pending = pending.slice(1);
    skipLeadingNewline = false;
    let start = 0;
    for (let index = 0; index < pending.length; index += 1) {
      const char = pending[index];
      if (char !== '\n' && char !== '\r') continue;
      const event = takeLine(pending.slice(start, index));
      if (char === '\r') {
        if (index + 1 === pending.length) skipLeadingNewline = true;
        else if (pending[index + 1] === '\n') index += 1;
      }
      start = index + 1;
      if (event !== undefined) yield event;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== '') takeLine(pending);
  if (data.length > 0) yield data.join('\n');
}
