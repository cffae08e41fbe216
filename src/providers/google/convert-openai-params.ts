/**
 * OpenAI request parameters → Gemini generationConfig, tools and toolConfig (docs/wire-formats.md §3.4
 * "Params"). Parameters Gemini has no counterpart for (user, metadata, store,
 * parallel_tool_calls, service_tier, …) are dropped, as LiteLLM drops them. Pure: no I/O.
 */
import { errors } from '../../core/errors.ts';
import { isRecord } from './convert-openai-parts.ts';
import type { GeminiFunctionDeclaration, GeminiGenerationConfig, GeminiRequest } from './gemini-types.ts';

export function generationConfigFrom(body: Record<string, unknown>): GeminiGenerationConfig | undefined {
  const config: GeminiGenerationConfig = {};
  const number = (name: string): number | undefined => {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw errors.invalidValue(name, `Invalid type for '${name}': expected a number.`);
    }
    return value;
  };
  const assign = <K extends keyof GeminiGenerationConfig>(key: K, value: GeminiGenerationConfig[K] | undefined): void => {
    if (value !== undefined) config[key] = value;
  };
  assign('temperature', number('temperature'));
  assign('topP', number('top_p'));
  // max_completion_tokens replaced max_tokens in OpenAI's API; it wins when both are sent.
  assign('maxOutputTokens', number('max_completion_tokens') ?? number('max_tokens'));
  assign('stopSequences', stopSequences(body.stop));
  assign('candidateCount', number('n'));
  assign('seed', number('seed'));
  assign('presencePenalty', number('presence_penalty'));
  assign('frequencyPenalty', number('frequency_penalty'));
  if (body.logprobs === true) config.responseLogprobs = true;
  assign('logprobs', number('top_logprobs'));
  Object.assign(config, responseFormat(body.response_format));
  return Object.keys(config).length > 0 ? config : undefined;
}

function stopSequences(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop) && stop.every((item) => typeof item === 'string')) return stop.length > 0 ? stop : undefined;
  throw errors.invalidValue('stop', "Invalid type for 'stop': expected a string or an array of strings.");
}

function responseFormat(format: unknown): GeminiGenerationConfig {
  if (format === undefined || format === null) return {};
  if (!isRecord(format)) throw errors.invalidValue('response_format', "Invalid type for 'response_format': expected an object.");
  if (format.type === 'text') return {};
  if (format.type === 'json_object') return { responseMimeType: 'application/json' };
  if (format.type === 'json_schema') {
    const schema = isRecord(format.json_schema) ? format.json_schema.schema : undefined;
    if (!isRecord(schema)) return { responseMimeType: 'application/json' };
    return { responseMimeType: 'application/json', responseSchema: toGeminiSchema(schema) };
  }
  throw errors.invalidValue('response_format.type', `Invalid value: '${String(format.type)}'. Supported values are: 'text', 'json_object' and 'json_schema'.`);
}

/**
 * A JSON Schema as Gemini's OpenAPI-3.0-subset `Schema` takes it: `additionalProperties` and
 * `$schema` are refused there (Vertex answers "Unknown name"), so they are dropped, oneOf
 * becomes anyOf, and a `["T", "null"]` type becomes `type: T, nullable: true`. Walks only schema positions, so a
 * property that happens to be named `additionalProperties` survives.
 */
export function toGeminiSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'additionalProperties' || key === '$schema') continue;
    if (key === 'type' && Array.isArray(value)) {
      const types = value.filter((type) => type !== 'null');
      if (types.length === 1) out.type = types[0];
      else out.anyOf = types.map((type) => ({ type }));
      if (types.length !== value.length) out.nullable = true;
    } else if (key === 'properties' && isRecord(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, isRecord(child) ? toGeminiSchema(child) : child]),
      );
    } else if (key === 'items' && isRecord(value)) {
      out.items = toGeminiSchema(value);
    } else if ((key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      // Vertex's Schema knows anyOf only; for generation, "exactly one" and "any" coincide.
      out.anyOf = value.map((child: unknown) => (isRecord(child) ? toGeminiSchema(child) : child));
    } else {
      out[key] = value;
    }
  }
  return out;
}

export function toolsFrom(tools: unknown): GeminiRequest['tools'] {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw errors.invalidValue('tools', "Invalid type for 'tools': expected an array.");
  const declarations: GeminiFunctionDeclaration[] = tools.map((tool: unknown, index) => {
    const fn = isRecord(tool) && tool.type === 'function' && isRecord(tool.function) ? tool.function : undefined;
    if (!fn || typeof fn.name !== 'string') {
      throw errors.invalidValue(`tools[${index}]`, `Invalid 'tools[${index}]': Vertex AI Gemini takes only function tools with a name.`);
    }
    const declaration: GeminiFunctionDeclaration = { name: fn.name };
    if (typeof fn.description === 'string') declaration.description = fn.description;
    if (isRecord(fn.parameters)) declaration.parameters = toGeminiSchema(fn.parameters);
    return declaration;
  });
  return declarations.length > 0 ? [{ functionDeclarations: declarations }] : undefined;
}

/** tool_choice → functionCallingConfig: auto→AUTO, none→NONE, required→ANY, a named function→ANY + allowedFunctionNames. */
export function toolConfigFrom(choice: unknown): GeminiRequest['toolConfig'] {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  }
  throw errors.invalidValue('tool_choice', "Invalid 'tool_choice': expected 'auto', 'none', 'required' or a named function.");
}
