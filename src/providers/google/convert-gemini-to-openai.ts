/**
 * A Vertex GenerateContentResponse → OpenAI chat.completion, and a stream of them →
 * chat.completion.chunk objects (docs/wire-formats.md §3.4 "Response"): text parts joined (thought parts
 * skipped), functionCall parts → tool_calls with minted `call_…` ids and JSON string arguments,
 * finish reasons mapped as LiteLLM does, usageMetadata → usage. Pure apart from id minting and
 * the clock, both injectable.
 */
import { randomBytes } from 'node:crypto';
import { signatureFields, toolCallId } from './thought-signatures.ts';
import type { GeminiCandidate, GeminiPart, GeminiResponse, GeminiUsageMetadata } from './gemini-types.ts';

export interface GeminiToOpenAIOptions {
  /** The model the client asked for (the response's `model`). */
  model: string;
  /** Mints tool call ids; default `call_` + 24 random hex digits. */
  newToolCallId?: () => string;
  /** Unix seconds, used when the response has no createTime. */
  now?: () => number;
}

type Json = Record<string, unknown>;

const CONTENT_FILTER = new Set(['SAFETY', 'RECITATION', 'LANGUAGE', 'OTHER', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII']);

/** Gemini finishReason → OpenAI finish_reason (docs/wire-formats.md §3.4, LiteLLM's map). */
export function mapFinishReason(reason: string | undefined, hasToolCalls: boolean): string {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason !== undefined && (CONTENT_FILTER.has(reason) || reason.startsWith('IMAGE_'))) return 'content_filter';
  // Gemini finishes a function-calling turn with STOP; OpenAI clients look for tool_calls.
  return hasToolCalls ? 'tool_calls' : 'stop';
}

export function usageFrom(metadata: GeminiUsageMetadata | undefined): Json {
  const prompt = metadata?.promptTokenCount ?? 0;
  const thoughts = metadata?.thoughtsTokenCount ?? 0;
  const completion = (metadata?.candidatesTokenCount ?? 0) + thoughts;
  const usage: Json = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: metadata?.totalTokenCount ?? prompt + completion };
  if (metadata?.cachedContentTokenCount) usage.prompt_tokens_details = { cached_tokens: metadata.cachedContentTokenCount };
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

/** The non-streaming answer. */
export function convertGeminiResponse(response: GeminiResponse, options: GeminiToOpenAIOptions): Json {
  const ids = options.newToolCallId ?? newToolCallId;
  const candidates = response.candidates ?? [];
  const choices = candidates.map((candidate, position) => {
    const { text, toolCalls, signature } = readParts(candidate.content?.parts ?? [], ids, 0);
    const message: Json = { role: 'assistant', content: text, refusal: null, ...signatureFields(signature) };
    // Only stream deltas number their tool calls; a message's tool_calls have no index.
    if (toolCalls.length > 0) message.tool_calls = toolCalls.map(({ index: _index, ...call }) => call);
    return {
      index: candidate.index ?? position,
      message,
      logprobs: null,
      finish_reason: mapFinishReason(candidate.finishReason, toolCalls.length > 0),
    };
  });
  // A prompt blocked by safety filters comes back with promptFeedback and no candidates.
  if (choices.length === 0) {
    choices.push({ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: blockedReason(response) });
  }
  // Fields added to the header object, not `{ ...header, choices, usage }`: V8 (Node 20) allocates
  // a spread literal with extra fields in the old generation, so 100k batch lines left ~30 MiB
  // of garbage there until the next full GC (BENCHMARKS.md, "Vertex AI batch through the gateway").
  const answer = header(response, options, 'chat.completion');
  answer.choices = choices;
  answer.usage = usageFrom(response.usageMetadata);
  return answer;
}

interface ChoiceState {
  started: boolean;
  finished: boolean;
  toolCalls: number;
}

/** Turns streamed GenerateContentResponses into chunks; call push() per event, finish() at the end. */
export class GeminiStreamConverter {
  private readonly options: GeminiToOpenAIOptions & { includeUsage: boolean };
  private readonly states = new Map<number, ChoiceState>();
  private base: Json | undefined;
  private usage: GeminiUsageMetadata | undefined;
  private blocked: string | undefined;

  constructor(options: GeminiToOpenAIOptions & { includeUsage: boolean }) {
    this.options = options;
  }

  push(response: GeminiResponse): Json[] {
    // Every chunk of one completion carries the first event's id and created (as OpenAI's do).
    this.base ??= header(response, this.options, 'chat.completion.chunk');
    if (response.usageMetadata) this.usage = response.usageMetadata;
    if (response.promptFeedback?.blockReason) this.blocked = blockedReason(response);
    const choices = (response.candidates ?? []).flatMap((candidate, position) => this.choiceDelta(candidate, candidate.index ?? position));
    return choices.length > 0 ? [withFields(this.base, { choices })] : [];
  }

  /** Closes choices Vertex left open, then adds the usage chunk when asked for. */
  finish(): Json[] {
    const base = this.base ?? header({}, this.options, 'chat.completion.chunk');
    const chunks: Json[] = [];
    if (this.states.size === 0) {
      const reason = this.blocked ?? 'stop';
      chunks.push(withFields(base, { choices: [{ index: 0, delta: { role: 'assistant' }, logprobs: null, finish_reason: reason }] }));
    }
    const open = [...this.states].filter(([, state]) => !state.finished);
    if (open.length > 0) {
      const choices = open.map(([index, state]) => ({ index, delta: {}, logprobs: null, finish_reason: mapFinishReason(undefined, state.toolCalls > 0) }));
      chunks.push(withFields(base, { choices }));
    }
    if (this.options.includeUsage) chunks.push(withFields(base, { choices: [], usage: usageFrom(this.usage) }));
    return chunks;
  }

  private choiceDelta(candidate: GeminiCandidate, index: number): Json[] {
    let state = this.states.get(index);
    if (!state) {
      state = { started: false, finished: false, toolCalls: 0 };
      this.states.set(index, state);
    }
    const { text, toolCalls, signature } = readParts(candidate.content?.parts ?? [], this.options.newToolCallId ?? newToolCallId, state.toolCalls);
    state.toolCalls += toolCalls.length;
    const delta: Json = {};
    if (!state.started) delta.role = 'assistant';
    if (text !== null) delta.content = text;
    if (signature) Object.assign(delta, signatureFields(signature));
    if (toolCalls.length > 0) delta.tool_calls = toolCalls;
    const finishReason = candidate.finishReason ? mapFinishReason(candidate.finishReason, state.toolCalls > 0) : null;
    if (Object.keys(delta).length === 0 && finishReason === null) return [];
    state.started = true;
    if (finishReason !== null) state.finished = true;
    return [{ index, delta, logprobs: null, finish_reason: finishReason }];
  }
}

/**
 * Joined answer text (null when there is none), tool calls numbered from `firstIndex` (each with
 * its part's thought signature), and the signature of a non-call part (thought-signatures.ts).
 */
function readParts(parts: GeminiPart[], ids: () => string, firstIndex: number): { text: string | null; toolCalls: Json[]; signature: string | undefined } {
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  let signature: string | undefined;
  for (const part of parts) {
    if (typeof part.text === 'string' && part.thought !== true) texts.push(part.text);
    if (part.functionCall) {
      toolCalls.push({
        index: firstIndex + toolCalls.length,
        id: toolCallId(ids(), part.thoughtSignature),
        type: 'function',
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
        ...signatureFields(part.thoughtSignature),
      });
    } else if (part.thoughtSignature) {
      signature ??= part.thoughtSignature;
    }
  }
  return { text: texts.length > 0 ? texts.join('') : null, toolCalls, signature };
}

/** `{ ...base, ...extra }` without the spread literal (see convertGeminiResponse): same keys, same order. */
function withFields(base: Json, extra: Json): Json {
  return Object.assign(Object.assign({}, base), extra);
}

function header(response: GeminiResponse, options: GeminiToOpenAIOptions, object: string): Json {
  const parsed = response.createTime ? Date.parse(response.createTime) : Number.NaN;
  const created = Number.isFinite(parsed) ? Math.floor(parsed / 1000) : (options.now?.() ?? Math.floor(Date.now() / 1000));
  const id = `chatcmpl-${response.responseId ?? randomBytes(12).toString('hex')}`;
  return { id, object, created, model: options.model };
}

function blockedReason(response: GeminiResponse): string {
  return response.promptFeedback?.blockReason ? 'content_filter' : 'stop';
}

function newToolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}
