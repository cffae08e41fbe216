/**
 * generationConfig, tools and toolConfig of a Vertex generateContent body (docs/wire-formats.md §3.3),
 * checked with proto-JSON field rules (chat-gemini-fields.ts) and read into the echo model's
 * tool settings.
 */
import type { EchoToolChoice } from './chat-echo.ts';
import { checkSchema, checkSimpleObject, fieldOf, isRecord, unknownField, type Invalid } from './chat-gemini-fields.ts';

const GENERATION = [
  'temperature', 'topP', 'topK', 'candidateCount', 'maxOutputTokens', 'stopSequences', 'presencePenalty', 'frequencyPenalty', 'seed',
  'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseLogprobs', 'logprobs', 'thinkingConfig', 'responseModalities',
  'mediaResolution', 'speechConfig', 'audioTimestamp', 'routingConfig',
];

const invalid = (message: string): Invalid => ({ ok: false, message });

export function checkGeneration(config: unknown): { ok: true } | Invalid {
  if (!isRecord(config)) return invalid("Invalid value at 'generation_config': expected an object.");
  const unknown = unknownField(config, GENERATION, 'generation_config');
  if (unknown) return unknown;
  const candidates = fieldOf(config, 'candidateCount');
  if (candidates !== undefined && (typeof candidates !== 'number' || !Number.isInteger(candidates) || candidates < 1 || candidates > 8)) {
    return invalid('Unable to submit request because candidateCount must be between 1 and 8.');
  }
  const max = fieldOf(config, 'maxOutputTokens');
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) {
    return invalid("Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32): must be a positive integer.");
  }
  const stop = fieldOf(config, 'stopSequences');
  if (stop !== undefined && (!Array.isArray(stop) || stop.length > 5 || !stop.every((item) => typeof item === 'string'))) {
    return invalid("Invalid value at 'generation_config.stop_sequences': at most 5 strings.");
  }
  const temperature = fieldOf(config, 'temperature');
  if (temperature !== undefined && (typeof temperature !== 'number' || temperature < 0 || temperature > 2)) {
    return invalid('Unable to submit request because temperature must be between 0 and 2.');
  }
  const schema = fieldOf(config, 'responseSchema');
  return schema === undefined ? { ok: true } : (checkSchema(schema, 'generation_config.response_schema') ?? { ok: true });
}

export function readTools(tools: unknown): { ok: true; names: string[] } | Invalid {
  if (tools === undefined) return { ok: true, names: [] };
  if (!Array.isArray(tools)) return invalid("Invalid value at 'tools': expected a list.");
  const names: string[] = [];
  for (const [index, tool] of tools.entries()) {
    const where = `tools[${index}]`;
    if (!isRecord(tool)) return invalid(`Invalid value at '${where}': expected a Tool object.`);
    const unknown = unknownField(tool, ['functionDeclarations', 'googleSearch', 'googleSearchRetrieval', 'codeExecution', 'retrieval', 'urlContext', 'enterpriseWebSearch', 'googleMaps'], where);
    if (unknown) return unknown;
    const declarations = fieldOf(tool, 'functionDeclarations') ?? [];
    if (!Array.isArray(declarations)) return invalid(`Invalid value at '${where}.function_declarations': expected a list.`);
    for (const [declarationIndex, declaration] of declarations.entries()) {
      const at = `${where}.function_declarations[${declarationIndex}]`;
      const checked = checkSimpleObject(declaration, ['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema'], at);
      if (checked) return checked;
      const name = fieldOf(declaration as Record<string, unknown>, 'name');
      if (typeof name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$/.test(name)) {
        return invalid(`Invalid function name at '${at}.name'. Must start with a letter or an underscore, then letters, digits, underscores, dots, colons or dashes, at most 128 characters.`);
      }
      const parameters = fieldOf(declaration as Record<string, unknown>, 'parameters');
      if (parameters !== undefined) {
        const problem = checkSchema(parameters, `${at}.parameters`);
        if (problem) return problem;
      }
      names.push(name);
    }
  }
  return { ok: true, names };
}

export function readToolConfig(config: unknown, names: string[]): { ok: true; value: EchoToolChoice } | Invalid {
  if (config === undefined) return { ok: true, value: 'auto' };
  const calling = isRecord(config) ? fieldOf(config, 'functionCallingConfig') : undefined;
  if (!isRecord(config) || !isRecord(calling)) return invalid("Invalid value at 'tool_config': expected function_calling_config.");
  const unknown = unknownField(calling, ['mode', 'allowedFunctionNames'], 'tool_config.function_calling_config');
  if (unknown) return unknown;
  const mode = fieldOf(calling, 'mode') ?? 'AUTO';
  const allowed = fieldOf(calling, 'allowedFunctionNames');
  if (!['AUTO', 'ANY', 'NONE', 'VALIDATED', 'MODE_UNSPECIFIED'].includes(String(mode))) {
    return invalid(`Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.cloud.aiplatform.v1.FunctionCallingConfig.Mode), "${String(mode)}"`);
  }
  if (allowed !== undefined) {
    if (mode !== 'ANY') return invalid('allowed_function_names may be set only when mode is ANY.');
    if (!Array.isArray(allowed) || !allowed.every((name) => typeof name === 'string' && names.includes(name))) {
      return invalid('allowed_function_names must name declared functions.');
    }
  }
  if (mode === 'NONE') return { ok: true, value: 'none' };
  if (mode === 'ANY') return { ok: true, value: Array.isArray(allowed) && allowed.length > 0 ? { name: String(allowed[0]) } : 'required' };
  return { ok: true, value: 'auto' };
}
