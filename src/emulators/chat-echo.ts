/**
 * The deterministic "model" behind every emulated chat endpoint. The answer echoes what the
 * provider received — `Echo from <provider>:<model>: <last user text>` followed by bracketed
 * notes on the files, images and tool results it was given — so tests can assert on what the
 * gateway sent through a provider's response alone. Tokens are whitespace-separated words.
 */

export type EchoToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface EchoRequest {
  /** `<provider>:<model>`, e.g. `openai:gpt-4o-mini`. */
  label: string;
  /** Text of the last user turn (its text parts joined with a space). */
  lastUserText: string;
  /** Bracketed notes appended after the text: `[files: …]`, `[inline file: …]`, `[image: …]`, … */
  notes: string[];
  /** Words of every text in the prompt (system included) plus one per attachment. */
  promptTokens: number;
  /** Function names offered, in order. */
  tools: string[];
  toolChoice: EchoToolChoice;
  /** True when the conversation ends with a user turn (not a tool result). */
  lastTurnIsUser: boolean;
  /** Completion word budget per choice: the answer is cut there with finish `length`. */
  maxTokens?: number;
  stop: string[];
  /** Number of choices (all identical). */
  n: number;
}

export interface EchoToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface EchoChoice {
  /** Answer text; null for a tool call. */
  text: string | null;
  toolCall?: EchoToolCall;
  finish: 'stop' | 'length' | 'tool_calls';
  tokens: number;
}

export interface EchoResult {
  choices: EchoChoice[];
  promptTokens: number;
  completionTokens: number;
}

/** What a tool call costs in completion tokens (a fixed, documented number). */
export const TOOL_CALL_TOKENS = 5;

export function echoAnswer(request: EchoRequest): EchoResult {
  const choice = oneChoice(request);
  const choices = Array.from({ length: Math.max(1, request.n) }, () => ({ ...choice }));
  return { choices, promptTokens: request.promptTokens, completionTokens: choice.tokens * choices.length };
}

function oneChoice(request: EchoRequest): EchoChoice {
  const toolCall = chooseTool(request);
  if (toolCall) return { text: null, toolCall, finish: 'tool_calls', tokens: TOOL_CALL_TOKENS };
  let text = [`Echo from ${request.label}: ${request.lastUserText}`, ...request.notes].join(' ');
  let finish: EchoChoice['finish'] = 'stop';
  // A stop sequence ends the answer before it (and is not included), as OpenAI and Gemini do.
  const stops = request.stop.map((stop) => text.indexOf(stop)).filter((index) => index >= 0);
  if (stops.length > 0) text = text.slice(0, Math.min(...stops));
  const words = splitWords(text);
  if (request.maxTokens !== undefined && words.length > request.maxTokens) {
    text = words.slice(0, request.maxTokens).join('').trimEnd();
    finish = 'length';
  }
  return { text, finish, tokens: countWords(text) };
}

/** A tool is called when offered, allowed, and either forced or the user asks about the weather. */
function chooseTool(request: EchoRequest): EchoToolCall | undefined {
  const choice = request.toolChoice;
  if (request.tools.length === 0 || choice === 'none' || !request.lastTurnIsUser) return undefined;
  if (typeof choice === 'object') return { name: choice.name, arguments: { location: 'Paris' } };
  if (choice === 'required' || /\bweather\b/i.test(request.lastUserText)) return { name: request.tools[0]!, arguments: { location: 'Paris' } };
  return undefined;
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}

/** Splits into words that keep their trailing whitespace, so joining them gives the text back. */
export function splitWords(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\s)(?=\S)/);
}

/** Splits a string into `pieces` nearly equal slices (for streaming tool-call arguments). */
export function splitEvenly(text: string, pieces: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / pieces));
  const out: string[] = [];
  for (let offset = 0; offset < text.length; offset += size) out.push(text.slice(offset, offset + size));
  return out;
}

/** Bytes of a base64 payload without decoding it. */
export function base64Bytes(data: string): number {
  const clean = data.replace(/\s+/g, '');
  const padding = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((clean.length * 3) / 4) - padding);
}

export function isBase64(data: string): boolean {
  return /^[A-Za-z0-9+/_-]*={0,2}$/.test(data.replace(/\s+/g, ''));
}
