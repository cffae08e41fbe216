/**
 * The `messages` of an OpenAI chat completion request, checked as api.openai.com does at a
 * useful level (roles, content part types per role, tool call pairing), and read into the
 * echo model's input. Every `{"type":"file","file":{"file_id"}}` must name a file of THIS
 * emulator's store (docs/wire-formats.md §1.9): that is how tests prove the gateway rewrote unified
 * ids to each deployment's own provider ids.
 */
import { base64Bytes, countWords, type EchoRequest } from './chat-echo.ts';
import { checkParams, isRecord, typeName, type Checked } from './chat-openai-params.ts';
import type { Problem } from './files-api-common.ts';

/** A file of the emulator's store, as the echo reports it. */
export type FileLookup = (id: string) => { filename: string; bytes: number } | undefined;

export interface ParsedChat {
  model: string | undefined;
  echo: Omit<EchoRequest, 'label'>;
  stream: boolean;
  includeUsage: boolean;
}

const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'];
const PART_TYPES: Record<string, string[]> = {
  system: ['text'],
  developer: ['text'],
  user: ['text', 'image_url', 'input_audio', 'file'],
  assistant: ['text', 'refusal'],
  tool: ['text'],
};
const FILE_KEYS = new Set(['file_id', 'file_data', 'filename']);

const problem = (message: string, param: string | null, code: string | null): { ok: false; problem: Problem } => ({
  ok: false,
  problem: { message, param, code },
});
const missing = (param: string) => problem(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

const unanswered = (calls: { index: number; ids: Set<string> }) =>
  problem(
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...calls.ids].join(', ')}`,
    `messages.[${calls.index}].role`,
    null,
  );

interface Reading {
  lookupFile: FileLookup;
  texts: string[];
  attachments: number;
  files: string[];
  notes: string[];
  lastUserText: string;
  /** Tool results that came after the last user message. */
  toolResults: string[];
}

/** Checks the whole body; `requireModel` is false where the model is in the path (Azure classic). */
export function parseOpenAIChat(body: unknown, options: { requireModel: boolean; azure: boolean; lookupFile: FileLookup }): Checked<ParsedChat> {
  if (!isRecord(body)) return problem(`Invalid type for body: expected an object, but got ${typeName(body)} instead.`, null, 'invalid_type');
  if (options.requireModel && (typeof body.model !== 'string' || body.model === '')) {
    return problem('you must provide a model parameter', null, null);
  }
  if (body.messages === undefined) return missing('messages');
  if (!Array.isArray(body.messages)) return problem(`Invalid type for 'messages': expected an array, but got ${typeName(body.messages)} instead.`, 'messages', 'invalid_type');
  if (body.messages.length === 0) {
    return problem("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  }
  const params = checkParams(body, options.azure);
  if (!params.ok) return params;
  const reading: Reading = { lookupFile: options.lookupFile, texts: [], attachments: 0, files: [], notes: [], lastUserText: '', toolResults: [] };
  let pendingCalls: { index: number; ids: Set<string> } | undefined;
  const answered = new Set<string>();
  for (const [index, message] of body.messages.entries()) {
    const param = `messages[${index}]`;
    if (!isRecord(message)) return problem(`Invalid type for '${param}': expected an object, but got ${typeName(message)} instead.`, param, 'invalid_type');
    if (message.role === undefined) return missing(`${param}.role`);
    if (typeof message.role !== 'string' || !ROLES.includes(message.role)) {
      return problem(`Invalid value: '${String(message.role)}'. Supported values are: ${ROLES.map((role) => `'${role}'`).join(', ')}.`, `${param}.role`, 'invalid_value');
    }
    const role = message.role;
    if (role !== 'tool' && pendingCalls && pendingCalls.ids.size > 0) return unanswered(pendingCalls);
    if (role === 'tool') {
      if (typeof message.tool_call_id !== 'string') return missing(`${param}.tool_call_id`);
      if (!pendingCalls?.ids.delete(message.tool_call_id) && !answered.has(message.tool_call_id)) {
        return problem("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `messages.[${index}].role`, null);
      }
      answered.add(message.tool_call_id);
    }
    const hasCalls = role === 'assistant' && (Array.isArray(message.tool_calls) || isRecord(message.function_call));
    const contentOptional = hasCalls || (role === 'assistant' && message.content === null);
    if (message.content === undefined && !contentOptional) return missing(`${param}.content`);
    const text = readContent(message.content, role, `${param}.content`, reading);
    if (!text.ok) return text;
    if (role === 'user') {
      reading.lastUserText = text.value;
      reading.toolResults = [];
    }
    if (role === 'tool') reading.toolResults.push(`[tool result ${String(message.tool_call_id)}: ${text.value}]`);
    if (role === 'assistant' && Array.isArray(message.tool_calls)) {
      const ids = readToolCalls(message.tool_calls, `${param}.tool_calls`);
      if (!ids.ok) return ids;
      pendingCalls = { index, ids: new Set(ids.value) };
    }
  }
  if (pendingCalls && pendingCalls.ids.size > 0) return unanswered(pendingCalls);
  const last = body.messages.at(-1) as { role?: unknown };
  const notes = [...(reading.files.length > 0 ? [`[files: ${reading.files.join(', ')}]`] : []), ...reading.notes, ...reading.toolResults];
  return {
    ok: true,
    value: {
      model: typeof body.model === 'string' ? body.model : undefined,
      stream: params.value.stream,
      includeUsage: params.value.includeUsage,
      echo: {
        lastUserText: reading.lastUserText,
        notes,
        promptTokens: reading.texts.reduce((sum, text) => sum + countWords(text), 0) + reading.attachments,
        tools: params.value.tools,
        toolChoice: params.value.toolChoice,
        lastTurnIsUser: last.role === 'user',
        ...(params.value.maxTokens !== undefined ? { maxTokens: params.value.maxTokens } : {}),
        stop: params.value.stop,
        n: params.value.n,
      },
    },
  };
}

/** The message's text (parts joined with a space); attachments are noted on the way. */
function readContent(content: unknown, role: string, param: string, reading: Reading): Checked<string> {
  if (content === null || content === undefined) return { ok: true, value: '' };
  if (typeof content === 'string') {
    reading.texts.push(content);
    return { ok: true, value: content };
  }
  if (!Array.isArray(content)) return problem(`Invalid type for '${param}': expected one of a string or array of objects, but got ${typeName(content)} instead.`, param, 'invalid_type');
  if (content.length === 0 && role === 'user') {
    return problem(`Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`, param, 'empty_array');
  }
  const texts: string[] = [];
  for (const [index, part] of content.entries()) {
    const where = `${param}[${index}]`;
    if (!isRecord(part)) return problem(`Invalid type for '${where}': expected an object, but got ${typeName(part)} instead.`, where, 'invalid_type');
    const allowed = PART_TYPES[role] ?? ['text'];
    if (part.type === undefined) return missing(`${where}.type`);
    if (typeof part.type !== 'string' || !allowed.includes(part.type)) {
      return problem(`Invalid value: '${String(part.type)}'. Supported values are: ${allowed.map((type) => `'${type}'`).join(', ')}.`, `${where}.type`, 'invalid_value');
    }
    const checked = readPart(part, where, reading);
    if (!checked.ok) return checked;
    if (checked.value !== undefined) texts.push(checked.value);
  }
  reading.texts.push(...texts);
  return { ok: true, value: texts.join(' ') };
}

function readPart(part: Record<string, unknown>, where: string, reading: Reading): Checked<string | undefined> {
  switch (part.type) {
    case 'text':
    case 'refusal': {
      const value = part[part.type];
      if (typeof value !== 'string') return missing(`${where}.${part.type}`);
      return { ok: true, value };
    }
    case 'image_url': {
      const url = isRecord(part.image_url) ? part.image_url.url : undefined;
      if (typeof url !== 'string') return missing(`${where}.image_url.url`);
      if (!/^(https?:|data:image\/[\w.+-]+;base64,)/.test(url)) {
        return problem(`Invalid '${where}.image_url.url': expected a http(s) URL or a base64 data: URL of an image.`, `${where}.image_url.url`, 'invalid_value');
      }
      const data = /^data:([^;]+);base64,(.*)$/s.exec(url);
      reading.notes.push(data ? `[image: ${data[1]} ${base64Bytes(data[2]!)} bytes]` : `[image: ${url}]`);
      reading.attachments += 1;
      return { ok: true, value: undefined };
    }
    case 'input_audio': {
      const audio = isRecord(part.input_audio) ? part.input_audio : undefined;
      if (typeof audio?.data !== 'string') return missing(`${where}.input_audio.data`);
      reading.notes.push(`[audio: ${String(audio.format)} ${base64Bytes(audio.data)} bytes]`);
      reading.attachments += 1;
      return { ok: true, value: undefined };
    }
    default:
      return readFilePart(part.file, `${where}.file`, reading);
  }
}

function readFilePart(file: unknown, param: string, reading: Reading): Checked<undefined> {
  if (!isRecord(file)) return missing(param);
  for (const key of Object.keys(file)) {
    if (!FILE_KEYS.has(key)) return problem(`Unknown parameter: '${param}.${key}'.`, `${param}.${key}`, 'unknown_parameter');
  }
  reading.attachments += 1;
  if (typeof file.file_id === 'string') {
    const found = reading.lookupFile(file.file_id);
    if (!found) {
      return problem(`Invalid file id: '${file.file_id}'. No such file exists, or it is not accessible with this API key.`, `${param}.file_id`, 'invalid_value');
    }
    reading.files.push(`${file.file_id} (${found.filename}, ${found.bytes} bytes)`);
    return { ok: true, value: undefined };
  }
  if (typeof file.file_data === 'string') {
    const data = /^data:([^;,]+);base64,(.*)$/s.exec(file.file_data);
    const filename = typeof file.filename === 'string' ? file.filename : 'unnamed';
    reading.notes.push(`[inline file: ${filename} ${data ? data[1] : 'unknown'} ${base64Bytes(data ? data[2]! : file.file_data)} bytes]`);
    return { ok: true, value: undefined };
  }
  return problem(`Invalid '${param}': expected one of 'file_id' or 'file_data'.`, param, 'invalid_value');
}

function readToolCalls(calls: unknown[], param: string): Checked<string[]> {
  const ids: string[] = [];
  for (const [index, call] of calls.entries()) {
    const where = `${param}[${index}]`;
    if (!isRecord(call)) return problem(`Invalid type for '${where}': expected an object, but got ${typeName(call)} instead.`, where, 'invalid_type');
    if (typeof call.id !== 'string') return missing(`${where}.id`);
    if (call.type !== 'function') return problem(`Invalid value: '${String(call.type)}'. Supported values are: 'function'.`, `${where}.type`, 'invalid_value');
    const fn = isRecord(call.function) ? call.function : undefined;
    if (typeof fn?.name !== 'string') return missing(`${where}.function.name`);
    if (typeof fn.arguments !== 'string') return missing(`${where}.function.arguments`);
    ids.push(call.id);
  }
  return { ok: true, value: ids };
}
