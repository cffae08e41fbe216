/**
 * The shape of a chat completion body, checked before anything reads it (README "Endpoints" (errors)): every
 * value the gateway or a provider converter looks into has the type OpenAI's API reference
 * gives it (https://platform.openai.com/docs/api-reference/chat/create), so `null` where an
 * object is expected, `content: [null]` or a number for a string is a 400 naming the field —
 * never a 500. Unknown fields and part types pass through for the provider to judge.
 */
import { errors } from '../core/errors.ts';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

function expect(ok: boolean, param: string, what: string): void {
  if (!ok) throw errors.invalidValue(param, `Invalid type for '${param}': expected ${what}.`);
}

function optional(value: unknown, check: (value: unknown) => boolean, param: string, what: string): void {
  if (value !== undefined && value !== null) expect(check(value), param, what);
}

// The same for a field below `base` (`.text`, `.file.file_id`): the name is only spelt out for an
// error, since these run for every message and part of every chat request.
function expectField(ok: boolean, base: string, field: string, what: string): void {
  if (!ok) expect(false, base + field, what);
}

function optionalField(value: unknown, check: (value: unknown) => boolean, base: string, field: string, what: string): void {
  if (value !== undefined && value !== null && !check(value)) expect(false, base + field, what);
}

const isString = (value: unknown) => typeof value === 'string';
const isNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
const isInteger = (value: unknown) => Number.isSafeInteger(value);

/** A file part's string fields, with the suffix that names each one. */
const FILE_STRING_FIELDS = ['file_id', 'file_data', 'filename', 'format'].map((name) => [name, `.file.${name}`] as const);

function checkPart(part: unknown, param: string): void {
  expect(isObject(part), param, 'an object (a content part)');
  const record = part as Json;
  expectField(isString(record.type), param, '.type', 'a string');
  switch (record.type) {
    case 'text':
      expectField(isString(record.text), param, '.text', 'a string');
      break;
    case 'image_url':
      // LiteLLM also accepts the URL as a bare string.
      if (!isString(record.image_url)) {
        expectField(isObject(record.image_url), param, '.image_url', 'an object');
        expectField(isString((record.image_url as Json).url), param, '.image_url.url', 'a string');
        optionalField((record.image_url as Json).detail, isString, param, '.image_url.detail', 'a string');
      }
      break;
    case 'input_audio':
      expectField(isObject(record.input_audio), param, '.input_audio', 'an object');
      expectField(isString((record.input_audio as Json).data), param, '.input_audio.data', 'a string');
      optionalField((record.input_audio as Json).format, isString, param, '.input_audio.format', 'a string');
      break;
    case 'file': {
      expectField(isObject(record.file), param, '.file', 'an object');
      const file = record.file as Json;
      for (const [name, field] of FILE_STRING_FIELDS) optionalField(file[name], isString, param, field, 'a string');
      break;
    }
    case 'refusal':
      expectField(isString(record.refusal), param, '.refusal', 'a string');
      break;
  }
}

function checkToolCall(call: unknown, param: string): void {
  expect(isObject(call), param, 'an object (a tool call)');
  const record = call as Json;
  optionalField(record.id, isString, param, '.id', 'a string');
  optionalField(record.type, isString, param, '.type', 'a string');
  expectField(isObject(record.function), param, '.function', 'an object');
  expectField(isString((record.function as Json).name), param, '.function.name', 'a string');
  optionalField((record.function as Json).arguments, isString, param, '.function.arguments', 'a string');
}

function checkMessage(message: unknown, param: string): void {
  expect(isObject(message), param, 'an object (a message)');
  const record = message as Json;
  expectField(isString(record.role), param, '.role', 'a string');
  if (!ROLES.includes(record.role as string)) {
    throw errors.invalidValue(`${param}.role`, `Invalid value for '${param}.role': '${String(record.role).slice(0, 64)}'. Supported: ${ROLES.join(', ')}.`);
  }
  const content = record.content;
  if (Array.isArray(content)) content.forEach((part, index) => checkPart(part, `${param}.content[${index}]`));
  else optionalField(content, isString, param, '.content', 'a string or an array of content parts');
  optionalField(record.name, isString, param, '.name', 'a string');
  optionalField(record.tool_call_id, isString, param, '.tool_call_id', 'a string');
  optionalField(record.refusal, isString, param, '.refusal', 'a string');
  if (record.tool_calls !== undefined && record.tool_calls !== null) {
    expectField(Array.isArray(record.tool_calls), param, '.tool_calls', 'an array');
    (record.tool_calls as unknown[]).forEach((call, index) => checkToolCall(call, `${param}.tool_calls[${index}]`));
  }
  optionalField(record.function_call, isObject, param, '.function_call', 'an object');
}

function checkTool(tool: unknown, param: string): void {
  expect(isObject(tool), param, 'an object (a tool)');
  const record = tool as Json;
  expectField(isString(record.type), param, '.type', 'a string');
  if (record.type === 'function') {
    expectField(isObject(record.function), param, '.function', 'an object');
    expectField(isString((record.function as Json).name), param, '.function.name', 'a string');
    optionalField((record.function as Json).description, isString, param, '.function.description', 'a string');
    optionalField((record.function as Json).parameters, isObject, param, '.function.parameters', 'an object');
  }
}

const NUMBER_FIELDS = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty'];
const INTEGER_FIELDS = ['max_tokens', 'max_completion_tokens', 'n', 'seed', 'top_logprobs'];

/** Throws 400 naming the first field whose type is wrong. */
export function assertChatBodyShape(body: unknown): void {
  if (!isObject(body)) throw errors.invalidRequest('The request body must be a JSON object.');
  if (body.model === undefined || body.model === null || body.model === '') throw errors.missingField('model');
  expect(isString(body.model), 'model', 'a string');
  if ((body.model as string).length > 512) throw errors.invalidValue('model', "Invalid 'model': longer than 512 characters.");
  if (body.messages === undefined || body.messages === null) throw errors.missingField('messages');
  expect(Array.isArray(body.messages), 'messages', 'an array');
  (body.messages as unknown[]).forEach((message, index) => checkMessage(message, `messages[${index}]`));

  optional(body.stream, (value) => typeof value === 'boolean', 'stream', 'a boolean');
  optional(body.stream_options, isObject, 'stream_options', 'an object');
  for (const name of NUMBER_FIELDS) optional(body[name], isNumber, name, 'a number');
  for (const name of INTEGER_FIELDS) optional(body[name], isInteger, name, 'an integer');
  optional(body.logprobs, (value) => typeof value === 'boolean', 'logprobs', 'a boolean');
  optional(body.stop, (value) => isString(value) || (Array.isArray(value) && value.every(isString)), 'stop', 'a string or an array of strings');
  optional(body.response_format, isObject, 'response_format', 'an object');
  optional(body.user, isString, 'user', 'a string');
  optional(body.metadata, isObject, 'metadata', 'an object');
  optional(body.logit_bias, isObject, 'logit_bias', 'an object');
  optional(body.tool_choice, (value) => isString(value) || isObject(value), 'tool_choice', 'a string or an object');
  if (body.tools !== undefined && body.tools !== null) {
    expect(Array.isArray(body.tools), 'tools', 'an array');
    (body.tools as unknown[]).forEach((tool, index) => checkTool(tool, `tools[${index}]`));
  }
}
