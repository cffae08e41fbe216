/**
 * Top-level parameters of an OpenAI chat completion request, checked as api.openai.com does
 * at a useful level: unknown arguments refused (so a gateway leaking its own fields is caught),
 * types and ranges of the sampling and streaming parameters, tools and tool_choice.
 */
import type { EchoToolChoice } from './chat-echo.ts';
import type { Problem } from './files-api-common.ts';

/** CreateChatCompletionRequest properties (openai-openapi), plus Azure's extensions. */
const KNOWN = new Set([
  'model', 'messages', 'audio', 'frequency_penalty', 'function_call', 'functions', 'logit_bias', 'logprobs',
  'max_completion_tokens', 'max_tokens', 'metadata', 'modalities', 'n', 'parallel_tool_calls', 'prediction',
  'presence_penalty', 'prompt_cache_key', 'reasoning_effort', 'response_format', 'safety_identifier', 'seed',
  'service_tier', 'stop', 'store', 'stream', 'stream_options', 'temperature', 'tool_choice', 'tools',
  'top_logprobs', 'top_p', 'user', 'verbosity', 'web_search_options',
]);
const AZURE_EXTRA = new Set(['data_sources', 'user_security_context']);

export interface ChatParams {
  n: number;
  maxTokens?: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  tools: string[];
  toolChoice: EchoToolChoice;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: Problem };

const fail = (message: string, param: string | null, code: string | null): { ok: false; problem: Problem } => ({
  ok: false,
  problem: { message, param, code },
});

export function checkParams(body: Record<string, unknown>, azure: boolean): Checked<ChatParams> {
  for (const key of Object.keys(body)) {
    if (!KNOWN.has(key) && !(azure && AZURE_EXTRA.has(key))) return fail(`Unrecognized request argument supplied: ${key}`, null, null);
  }
  for (const [name, min, max] of [['temperature', 0, 2], ['top_p', 0, 1], ['presence_penalty', -2, 2], ['frequency_penalty', -2, 2]] as const) {
    const value = body[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number') return fail(`Invalid type for '${name}': expected a decimal, but got ${typeName(value)} instead.`, name, 'invalid_type');
    if (value < min) return fail(`Invalid '${name}': decimal below minimum value. Expected a value >= ${min}, but got ${value} instead.`, name, 'decimal_below_min_value');
    if (value > max) return fail(`Invalid '${name}': decimal above maximum value. Expected a value <= ${max}, but got ${value} instead.`, name, 'decimal_above_max_value');
  }
  const integers: Record<string, number | undefined> = {};
  for (const [name, min, max] of [['n', 1, 128], ['max_tokens', 1, Infinity], ['max_completion_tokens', 1, Infinity], ['seed', -Infinity, Infinity]] as const) {
    const value = body[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value)) return fail(`Invalid type for '${name}': expected an integer, but got ${typeName(value)} instead.`, name, 'invalid_type');
    if (value < min) return fail(`Invalid '${name}': integer below minimum value. Expected a value >= ${min}, but got ${value} instead.`, name, 'integer_below_min_value');
    if (value > max) return fail(`Invalid '${name}': integer above maximum value. Expected a value <= ${max}, but got ${value} instead.`, name, 'integer_above_max_value');
    integers[name] = value;
  }
  const stop = checkStop(body.stop);
  if (!stop.ok) return stop;
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    return fail(`Invalid type for 'stream': expected a boolean, but got ${typeName(body.stream)} instead.`, 'stream', 'invalid_type');
  }
  const stream = body.stream === true;
  if (body.stream_options !== undefined && body.stream_options !== null && !stream) {
    return fail("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
  }
  const tools = checkTools(body.tools);
  if (!tools.ok) return tools;
  const toolChoice = checkToolChoice(body.tool_choice, tools.value);
  if (!toolChoice.ok) return toolChoice;
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined | null;
  return {
    ok: true,
    value: {
      n: integers.n ?? 1,
      maxTokens: integers.max_completion_tokens ?? integers.max_tokens,
      stop: stop.value,
      stream,
      includeUsage: stream && streamOptions?.include_usage === true,
      tools: tools.value,
      toolChoice: toolChoice.value,
    },
  };
}

function checkStop(stop: unknown): Checked<string[]> {
  if (stop === undefined || stop === null) return { ok: true, value: [] };
  if (typeof stop === 'string') return { ok: true, value: [stop] };
  if (!Array.isArray(stop) || !stop.every((item) => typeof item === 'string')) {
    return fail("Invalid type for 'stop': expected a string or an array of strings.", 'stop', 'invalid_type');
  }
  if (stop.length > 4) return fail(`Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${stop.length} instead.`, 'stop', 'array_above_max_length');
  return { ok: true, value: stop };
}

function checkTools(tools: unknown): Checked<string[]> {
  if (tools === undefined || tools === null) return { ok: true, value: [] };
  if (!Array.isArray(tools)) return fail(`Invalid type for 'tools': expected an array, but got ${typeName(tools)} instead.`, 'tools', 'invalid_type');
  const names: string[] = [];
  for (const [index, tool] of tools.entries()) {
    const param = `tools[${index}]`;
    if (!isRecord(tool)) return fail(`Invalid type for '${param}': expected an object, but got ${typeName(tool)} instead.`, param, 'invalid_type');
    if (tool.type !== 'function' && tool.type !== 'custom') {
      return fail(`Invalid value: '${String(tool.type)}'. Supported values are: 'function' and 'custom'.`, `${param}.type`, 'invalid_value');
    }
    const fn = isRecord(tool.function) ? tool.function : isRecord(tool.custom) ? tool.custom : undefined;
    if (!fn || typeof fn.name !== 'string') return fail(`Missing required parameter: '${param}.function.name'.`, `${param}.function.name`, 'missing_required_parameter');
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(fn.name)) {
      return fail(`Invalid '${param}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, `${param}.function.name`, 'invalid_value');
    }
    names.push(fn.name);
  }
  return { ok: true, value: names };
}

function checkToolChoice(choice: unknown, tools: string[]): Checked<EchoToolChoice> {
  if (choice === undefined || choice === null) return { ok: true, value: 'auto' };
  if (choice === 'auto' || choice === 'none' || choice === 'required') {
    if (choice !== 'none' && tools.length === 0) {
      return fail("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice', null);
    }
    return { ok: true, value: choice };
  }
  const name = isRecord(choice) && isRecord(choice.function) ? choice.function.name : undefined;
  if (!isRecord(choice) || choice.type !== 'function' || typeof name !== 'string') {
    return fail("Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named function.", 'tool_choice', 'invalid_value');
  }
  if (!tools.includes(name)) return fail(`Invalid value for 'tool_choice': function '${name}' is not among the tools.`, 'tool_choice', 'invalid_value');
  return { ok: true, value: { name } };
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  return `a ${typeof value}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
