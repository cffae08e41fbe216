/**
 * A Vertex generateContent body, checked as Vertex does at a useful level (docs/wire-formats.md §3.3):
 * proto-JSON refuses unknown field names ("Unknown name … Cannot find field"), so an OpenAI
 * field leaking through the gateway's translation is caught; contents need role user|model and
 * parts with exactly one kind of data; every `fileData.fileUri` that is a gs:// URI must exist
 * in this emulator's GCS store with a `contentType` equal to the part's `mimeType`.
 * Field names are accepted in camelCase and snake_case, as proto-JSON accepts both.
 */
import { base64Bytes, countWords, isBase64, type EchoRequest } from './chat-echo.ts';
import { checkGeneration, readToolConfig, readTools } from './chat-gemini-config.ts';
import { checkSimpleObject, fieldOf, isRecord, unknownField, type Invalid } from './chat-gemini-fields.ts';

/** A stored GCS object, as the echo reports it. */
export type GcsLookup = (bucket: string, name: string) => { contentType: string; bytes: number } | undefined;

export type GeminiParse = { ok: true; echo: Omit<EchoRequest, 'label'> } | Invalid;

const TOP_LEVEL = ['contents', 'systemInstruction', 'generationConfig', 'tools', 'toolConfig', 'safetySettings', 'labels', 'cachedContent', 'modelArmorConfig'];
const PART = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'thought', 'thoughtSignature', 'executableCode', 'codeExecutionResult', 'videoMetadata', 'mediaResolution'];
const DATA_FIELDS = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'];
const NO_PARTS = 'Unable to submit request because it must include at least one parts field, which describes the prompt input. Learn more: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini';

const invalid = (message: string): Invalid => ({ ok: false, message });

interface Reading {
  lookup: GcsLookup;
  texts: string[];
  attachments: number;
  files: string[];
  inline: string[];
  calledFunctions: Set<string>;
}

export function parseGeminiRequest(body: unknown, lookup: GcsLookup): GeminiParse {
  if (!isRecord(body)) return invalid('Invalid JSON payload received. Expected an object.');
  const unknown = unknownField(body, TOP_LEVEL, '');
  if (unknown) return unknown;
  const contents = fieldOf(body, 'contents');
  if (!Array.isArray(contents) || contents.length === 0) return invalid(NO_PARTS);
  const reading: Reading = { lookup, texts: [], attachments: 0, files: [], inline: [], calledFunctions: new Set() };
  const system = fieldOf(body, 'systemInstruction');
  if (system !== undefined) {
    const checked = readSystem(system, reading);
    if (checked) return checked;
  }
  let lastUserText = '';
  let lastResponses: string[] = [];
  let lastTurnIsUser = false;
  for (const [index, content] of contents.entries()) {
    const where = `contents[${index}]`;
    if (!isRecord(content)) return invalid(`Invalid value at '${where}': expected an object.`);
    const unknownKey = unknownField(content, ['role', 'parts'], where);
    if (unknownKey) return unknownKey;
    const role = fieldOf(content, 'role');
    if (role !== 'user' && role !== 'model') return invalid('Please use a valid role: user, model.');
    const parts = fieldOf(content, 'parts');
    if (!Array.isArray(parts) || parts.length === 0) return invalid(NO_PARTS);
    const texts: string[] = [];
    const responses: string[] = [];
    for (const [partIndex, part] of parts.entries()) {
      const checked = readPart(part, `${where}.parts[${partIndex}]`, role, reading);
      if (!checked.ok) return checked;
      if (checked.text !== undefined) texts.push(checked.text);
      if (checked.response !== undefined) responses.push(checked.response);
    }
    if (role === 'user' && texts.length > 0) {
      lastUserText = texts.join(' ');
      lastResponses = [];
    }
    if (role === 'user') lastResponses.push(...responses);
    // A tool result ends the turn too, but the echo must answer it rather than call again.
    lastTurnIsUser = role === 'user' && responses.length === 0;
  }
  const config = fieldOf(body, 'generationConfig');
  const generation = config === undefined ? { ok: true as const } : checkGeneration(config);
  if (!generation.ok) return generation;
  const tools = readTools(fieldOf(body, 'tools'));
  if (!tools.ok) return tools;
  const toolChoice = readToolConfig(fieldOf(body, 'toolConfig'), tools.names);
  if (!toolChoice.ok) return toolChoice;
  const configRecord = isRecord(config) ? config : {};
  const maxTokens = fieldOf(configRecord, 'maxOutputTokens');
  const stop = fieldOf(configRecord, 'stopSequences');
  const candidates = fieldOf(configRecord, 'candidateCount');
  const notes = [...(reading.files.length > 0 ? [`[files: ${reading.files.join(', ')}]`] : []), ...reading.inline, ...lastResponses];
  return {
    ok: true,
    echo: {
      lastUserText,
      notes,
      promptTokens: reading.texts.reduce((sum, text) => sum + countWords(text), 0) + reading.attachments,
      tools: tools.names,
      toolChoice: toolChoice.value,
      lastTurnIsUser,
      ...(typeof maxTokens === 'number' ? { maxTokens } : {}),
      stop: Array.isArray(stop) ? (stop as string[]) : [],
      n: typeof candidates === 'number' ? candidates : 1,
    },
  };
}

function readSystem(system: unknown, reading: Reading): Invalid | undefined {
  if (!isRecord(system)) return invalid("Invalid value at 'system_instruction': expected a Content object.");
  const unknown = unknownField(system, ['role', 'parts'], 'system_instruction');
  if (unknown) return unknown;
  const parts = fieldOf(system, 'parts');
  if (!Array.isArray(parts)) return invalid(NO_PARTS);
  for (const part of parts) {
    const text = isRecord(part) ? fieldOf(part, 'text') : undefined;
    if (typeof text !== 'string') return invalid('System instruction must contain only text parts.');
    reading.texts.push(text);
  }
  return undefined;
}

type PartResult = { ok: true; text?: string; response?: string } | Invalid;

function readPart(part: unknown, where: string, role: string, reading: Reading): PartResult {
  if (!isRecord(part)) return invalid(`Invalid value at '${where}': expected a Part object.`);
  const unknown = unknownField(part, PART, where);
  if (unknown) return unknown;
  const present = DATA_FIELDS.filter((name) => fieldOf(part, name) !== undefined);
  if (present.length !== 1) return invalid(`Invalid value at '${where}': a part must contain exactly one of text, inline_data, file_data, function_call, function_response.`);
  const text = fieldOf(part, 'text');
  if (text !== undefined) {
    if (typeof text !== 'string') return invalid(`Invalid value at '${where}.text' (TYPE_STRING).`);
    reading.texts.push(text);
    return { ok: true, text };
  }
  const inline = fieldOf(part, 'inlineData');
  if (inline !== undefined) {
    const checked = checkSimpleObject(inline, ['mimeType', 'data', 'displayName'], `${where}.inline_data`);
    if (checked) return checked;
    const record = inline as Record<string, unknown>;
    const mimeType = fieldOf(record, 'mimeType');
    const data = fieldOf(record, 'data');
    if (typeof mimeType !== 'string' || mimeType === '') return invalid(`Invalid value at '${where}.inline_data': mime_type is required.`);
    if (typeof data !== 'string' || !isBase64(data)) return invalid(`Invalid value at '${where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed.`);
    reading.inline.push(`[inline file: ${mimeType} ${base64Bytes(data)} bytes]`);
    reading.attachments += 1;
    return { ok: true };
  }
  const file = fieldOf(part, 'fileData');
  if (file !== undefined) return readFileData(file, `${where}.file_data`, reading);
  const call = fieldOf(part, 'functionCall');
  if (call !== undefined) {
    const checked = checkSimpleObject(call, ['name', 'args', 'id'], `${where}.function_call`);
    if (checked) return checked;
    const name = fieldOf(call as Record<string, unknown>, 'name');
    if (typeof name !== 'string' || name === '') return invalid(`Invalid value at '${where}.function_call': name is required.`);
    if (role !== 'model') return invalid('Please ensure that function call turns come from the model role.');
    reading.calledFunctions.add(name);
    return { ok: true };
  }
  const response = fieldOf(part, 'functionResponse');
  if (response !== undefined) {
    const checked = checkSimpleObject(response, ['name', 'response', 'id'], `${where}.function_response`);
    if (checked) return checked;
    const record = response as Record<string, unknown>;
    const name = fieldOf(record, 'name');
    if (typeof name !== 'string' || !reading.calledFunctions.has(name)) {
      return invalid('Please ensure that function response turn comes immediately after a function call turn.');
    }
    if (!isRecord(fieldOf(record, 'response'))) return invalid(`Invalid value at '${where}.function_response.response': expected an object.`);
    return { ok: true, response: `[function response ${name}: ${JSON.stringify(fieldOf(record, 'response'))}]` };
  }
  return { ok: true };
}

function readFileData(file: unknown, where: string, reading: Reading): PartResult {
  const checked = checkSimpleObject(file, ['mimeType', 'fileUri', 'displayName'], where);
  if (checked) return checked;
  const record = file as Record<string, unknown>;
  const mimeType = fieldOf(record, 'mimeType');
  const uri = fieldOf(record, 'fileUri');
  if (typeof uri !== 'string' || uri === '') return invalid(`Invalid value at '${where}': file_uri is required.`);
  if (typeof mimeType !== 'string' || mimeType === '') return invalid(`Invalid value at '${where}': mime_type is required for ${uri}.`);
  reading.attachments += 1;
  const gcs = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (gcs) {
    const object = reading.lookup(gcs[1]!, gcs[2]!);
    if (!object) return invalid(`Cannot fetch content from ${uri}: the object does not exist or the caller has no access to it.`);
    if (object.contentType !== mimeType) {
      return invalid(`The mime_type ${mimeType} given for ${uri} does not match the object's content type ${object.contentType}.`);
    }
    reading.files.push(`${uri} (${mimeType}, ${object.bytes} bytes)`);
    return { ok: true };
  }
  if (!/^https?:\/\//.test(uri)) return invalid(`Invalid value at '${where}.file_uri': unsupported URI ${uri}. Use a gs:// or https:// URI.`);
  reading.files.push(`${uri} (${mimeType})`);
  return { ok: true };
}
