/** Builders for the two transports: raw bytes over node:net, and the official openai client. */
import type OpenAI from 'openai';
import type { Actor, CaseDraft, Outcome, World } from './case-types.ts';
import { requestPieces, sendRaw, type Ending, type RequestSpec } from './raw-http.ts';

export interface RawBuild {
  spec: RequestSpec;
  ending?: Ending;
  /** Leave the actor's Authorization header out (the case sets its own key headers). */
  noAuth?: boolean;
}

function printable(data: Buffer, max = 400): string {
  const text = data.subarray(0, max).toString('latin1').replace(/\0/g, '\\0').replace(/\r\n/g, '⏎');
  return data.length > max ? `${text}…(${data.length} bytes)` : text;
}

export function rawCase(draft: Omit<CaseDraft, 'run'>, build: (world: World) => RawBuild): CaseDraft {
  return {
    ...draft,
    run: async (world, boundMs) => {
      const { spec, ending = 'complete', noAuth } = build(world);
      const key = world.keyOf(draft.actor);
      const headers: RequestSpec['headers'] = [['host', `127.0.0.1:${world.port}`], ['connection', 'close']];
      if (!noAuth && key !== undefined) headers.push(['authorization', `Bearer ${key}`]);
      const pieces = requestPieces({ ...spec, headers: [...headers, ...spec.headers] });
      const answer = await sendRaw({ port: world.port, request: { pieces, ending }, boundMs });
      const bodyBytes = pieces.slice(1).reduce((sum, piece) => sum + piece.length, 0);
      return { ...answer, sent: `${printable(pieces[0]!)} [+${bodyBytes} body bytes, ${ending}]` };
    },
  };
}

export function clientCase(
  draft: Omit<CaseDraft, 'run'>,
  call: (client: OpenAI, world: World) => Promise<unknown>,
  options: { baseURL?: (world: World) => string } = {},
): CaseDraft {
  return {
    ...draft,
    run: async (world, boundMs) => {
      const started = Date.now();
      const recording = world.client(draft.actor, { baseURL: options.baseURL?.(world), boundMs });
      let failure: unknown;
      try {
        const result = await call(recording.client, world);
        // Read whatever the call handed back to the end: downloads and SSE streams.
        if (result instanceof Response) await result.arrayBuffer();
        else if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
          for await (const _ of result as AsyncIterable<unknown>) void _;
        }
      } catch (error) {
        failure = error;
      }
      const answer = await recording.lastAnswer();
      const timedOut = (failure as Error | undefined)?.constructor?.name === 'APIConnectionTimeoutError';
      const sent = `openai client (${draft.detail})`;
      if (!answer) return { status: 0, headers: {}, body: Buffer.from(String(failure ?? '')), timedOut, ms: Date.now() - started, sent };
      return { ...answer, timedOut: false, ms: Date.now() - started, sent };
    },
  };
}

/** The key header of an actor for raw requests that set their own. */
export function bearer(world: World, actor: Actor): Array<[string, string]> {
  const key = world.keyOf(actor);
  return key === undefined ? [] : [['authorization', `Bearer ${key}`]];
}
