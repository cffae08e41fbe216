/**
 * Vertex AI Gemini on the Google emulator (docs/wire-formats.md §3.3):
 *   POST /{v1|v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
 *   POST …:streamGenerateContent?alt=sse   (SSE `data: {GenerateContentResponse}\r\n\r\n`, no [DONE];
 *                                            without alt=sse, one JSON array of responses)
 * A Bearer token from the emulator's token endpoint is required. The body is checked by
 * chat-gemini-validate.ts and answered by the echo model in GenerateContentResponse shape.
 */
import { randomBytes } from 'node:crypto';
import { echoAnswer, splitWords, type EchoChoice, type EchoResult } from './chat-echo.ts';
import { enforcesThoughtSignatures, signFunctionCalls, thoughtSignatureProblem } from './gemini-thought-signatures.ts';
import { parseGeminiRequest, type GcsLookup } from './chat-gemini-validate.ts';
import { sendSse } from './chat-sse.ts';
import { EmulatorBodyError, type EmulatorExchange } from './emulator-exchange.ts';
import type { GoogleOAuth } from './google-oauth.ts';

export interface VertexChatRoute {
  oauth: GoogleOAuth;
  lookupObject: GcsLookup;
  /** Pause between streamed chunks, in milliseconds. */
  chunkDelayMs: number;
  /** Publisher models that exist; undefined = any name. */
  models?: readonly string[];
}

type Json = Record<string, unknown>;

const PATH = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

const STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 404: 'NOT_FOUND' };

/** The Google error envelope (docs/wire-formats.md §3.3). */
export function googleError(code: number, message: string, status = STATUS[code] ?? 'UNKNOWN'): Json {
  return { error: { code, message, status } };
}

/** Answers the call when it is a Vertex generateContent route; false otherwise. */
export async function handleVertexChat(exchange: EmulatorExchange, route: VertexChatRoute): Promise<boolean> {
  let path: string;
  try {
    path = decodeURIComponent(exchange.path);
  } catch {
    return false;
  }
  const match = PATH.exec(path);
  if (!match || exchange.method !== 'POST') return false;
  const [, , project, location, model, method] = match;
  if (route.oauth.checkBearer(exchange.headers.authorization) !== 'ok') {
    await exchange.sendJson(
      401,
      googleError(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      ),
      { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
    );
    return true;
  }
  let body: unknown;
  try {
    body = await exchange.readJson();
  } catch (error) {
    if (!(error instanceof EmulatorBodyError)) throw error;
    await exchange.sendJson(error.status, googleError(error.status, `Invalid JSON payload received. ${error.message}`));
    return true;
  }
  if (route.models && !route.models.includes(model!)) {
    const name = `projects/${project}/locations/${location}/publishers/google/models/${model}`;
    await exchange.sendJson(404, googleError(404, `Publisher Model \`${name}\` was not found or your project does not have access to it.`));
    return true;
  }
  const parsed = parseGeminiRequest(body, route.lookupObject);
  if (!parsed.ok) {
    await exchange.sendJson(400, googleError(400, parsed.message));
    return true;
  }
  const unsigned = enforcesThoughtSignatures(model!) ? thoughtSignatureProblem(body) : undefined;
  if (unsigned) {
    await exchange.sendJson(400, googleError(400, unsigned));
    return true;
  }
  const meta = { modelVersion: model!, createTime: new Date().toISOString(), responseId: randomBytes(15).toString('base64url') };
  await sendGeminiAnswer(exchange, { stream: method !== 'generateContent', model: model!, answer: echoAnswer({ ...parsed.echo, label: `vertex:${model}` }), meta, chunkDelayMs: route.chunkDelayMs });
  return true;
}

/**
 * The echo answer as Gemini shapes it, shared by the Vertex and Gemini API emulators: one
 * GenerateContentResponse, or its stream as SSE (`alt=sse`) or as a JSON array of events.
 */
export async function sendGeminiAnswer(
  exchange: EmulatorExchange,
  input: { stream: boolean; model: string; answer: EchoResult; meta: Json; chunkDelayMs: number },
): Promise<void> {
  const { model, answer, meta } = input;
  if (!input.stream) {
    await exchange.sendJson(200, signFunctionCalls(model, { candidates: answer.choices.map((choice, index) => candidate(choice, index, true)), usageMetadata: usage(answer), ...meta }));
    return;
  }
  const events = streamEvents(answer, meta).map((event) => signFunctionCalls(model, event));
  if (exchange.query.get('alt') === 'sse') {
    await sendSse(exchange, { events: events.map((event) => JSON.stringify(event)), delayMs: input.chunkDelayMs, separator: '\r\n\r\n' });
  } else {
    await exchange.sendJson(200, events);
  }
}

/** One candidate; Vertex leaves `index` out when it is 0 (proto3 default), so do we. */
export function candidate(choice: EchoChoice, index: number, final: boolean, text = choice.text): Json {
  const parts = choice.toolCall ? [{ functionCall: { name: choice.toolCall.name, args: choice.toolCall.arguments } }] : [{ text: text ?? '' }];
  const body: Json = { content: { role: 'model', parts } };
  // Gemini ends a function-calling turn with STOP too.
  if (final) body.finishReason = choice.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
  if (final) body.avgLogprobs = -0.05;
  if (index > 0) body.index = index;
  return body;
}

/** Word by word per candidate; the last event of each carries finishReason, the very last usage. */
export function streamEvents(answer: EchoResult, meta: Json): Json[] {
  const events: Json[] = [];
  answer.choices.forEach((choice, index) => {
    const pieces = choice.toolCall ? [''] : splitWords(choice.text ?? '');
    if (pieces.length === 0) pieces.push('');
    pieces.forEach((piece, position) => {
      const final = position === pieces.length - 1;
      events.push({ candidates: [candidate(choice, index, final, piece)], ...meta });
    });
  });
  const last = events[events.length - 1]!;
  last.usageMetadata = usage(answer);
  return events;
}

export function usage(answer: EchoResult): Json {
  return {
    promptTokenCount: answer.promptTokens,
    candidatesTokenCount: answer.completionTokens,
    totalTokenCount: answer.promptTokens + answer.completionTokens,
    trafficType: 'ON_DEMAND',
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: answer.promptTokens }],
    candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: answer.completionTokens }],
  };
}
