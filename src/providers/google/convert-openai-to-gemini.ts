/**
 * An OpenAI chat completion request → a Vertex generateContent body (docs/wire-formats.md §3.3, §3.4):
 * system/developer messages → systemInstruction; user/assistant → user/model turns, consecutive
 * turns of one role merged (Gemini wants them alternating); assistant tool_calls → functionCall
 * parts; tool results → functionResponse parts in a user turn, named after the call they answer.
 * Pure: no I/O, so it is unit-tested with exact objects.
 */
import { errors } from '../../core/errors.ts';
import type { ChatRequest } from '../provider-adapter.ts';
import { contentToParts, isRecord, type PartsContext } from './convert-openai-parts.ts';
import { generationConfigFrom, toolConfigFrom, toolsFrom } from './convert-openai-params.ts';
import { messageSignature, toolCallSignature } from './thought-signatures.ts';
import type { GeminiContent, GeminiPart, GeminiRequest } from './gemini-types.ts';

export interface ConvertOpenAIToGeminiInput {
  body: ChatRequest['body'];
  fileReferences: ChatRequest['fileReferences'];
  /** This deployment's id: picks its entry in `fileReferences`. */
  instance: string;
}

export function convertOpenAIToGemini(input: ConvertOpenAIToGeminiInput): GeminiRequest {
  const { body } = input;
  if (!Array.isArray(body.messages)) throw errors.invalidValue('messages', "Invalid type for 'messages': expected an array.");
  const systemParts: Array<{ text: string }> = [];
  const contents: GeminiContent[] = [];
  // tool_call_id → function name: Gemini's functionResponse is matched by name, not id.
  const callNames = new Map<string, string>();

  const push = (role: GeminiContent['role'], parts: GeminiPart[]): void => {
    if (parts.length === 0) return;
    const previous = contents[contents.length - 1];
    if (previous?.role === role) previous.parts.push(...parts);
    else contents.push({ role, parts });
  };

  body.messages.forEach((message: unknown, index) => {
    const param = `messages[${index}]`;
    if (!isRecord(message)) throw errors.invalidValue(param, `Invalid '${param}': expected an object.`);
    const context: PartsContext = { fileReferences: input.fileReferences, instance: input.instance, param: `${param}.content` };
    switch (message.role) {
      case 'system':
      case 'developer':
        for (const part of contentToParts(message.content, context)) {
          if (part.text === undefined) {
            throw errors.invalidValue(`${param}.content`, `Invalid '${param}.content': ${message.role} messages may hold only text.`);
          }
          systemParts.push({ text: part.text });
        }
        return;
      case 'user':
        return push('user', contentToParts(message.content, context));
      case 'assistant':
        return push('model', [...withSignature(contentToParts(message.content, context), messageSignature(message)), ...functionCalls(message, param, callNames)]);
      case 'tool': {
        const id = message.tool_call_id;
        const name = typeof id === 'string' ? callNames.get(id) : undefined;
        if (name === undefined) {
          throw errors.invalidValue(`${param}.tool_call_id`, `Invalid '${param}.tool_call_id': no earlier assistant tool call has id '${String(id)}'.`);
        }
        return push('user', [functionResponse(name, message.content, context)]);
      }
      case 'function': // the deprecated pre-tools form names the function itself
        if (typeof message.name !== 'string') throw errors.missingField(`${param}.name`);
        return push('user', [functionResponse(message.name, message.content, context)]);
      default:
        throw errors.invalidValue(
          `${param}.role`,
          `Invalid value: '${String(message.role)}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'.`,
        );
    }
  });

  if (contents.length === 0) {
    throw errors.invalidValue('messages', 'Vertex AI Gemini needs at least one user or assistant message with content.');
  }
  const request: GeminiRequest = { contents };
  if (systemParts.length > 0) request.systemInstruction = { parts: systemParts };
  const generationConfig = generationConfigFrom(body);
  if (generationConfig) request.generationConfig = generationConfig;
  const tools = toolsFrom(body.tools);
  if (tools) request.tools = tools;
  const toolConfig = toolConfigFrom(body.tool_choice);
  if (toolConfig) request.toolConfig = toolConfig;
  return request;
}

/** An assistant's tool_calls (or legacy function_call) as functionCall parts, remembering their names. */
function functionCalls(message: Record<string, unknown>, param: string, callNames: Map<string, string>): GeminiPart[] {
  const parts: GeminiPart[] = [];
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  calls.forEach((call: unknown, index) => {
    const where = `${param}.tool_calls[${index}]`;
    const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
    if (!fn || typeof fn.name !== 'string') throw errors.missingField(`${where}.function.name`);
    if (isRecord(call) && typeof call.id === 'string') callNames.set(call.id, fn.name);
    const signature = toolCallSignature(call);
    parts.push({ functionCall: { name: fn.name, args: parseArguments(fn.arguments, `${where}.function.arguments`) }, ...(signature ? { thoughtSignature: signature } : {}) });
  });
  if (isRecord(message.function_call) && typeof message.function_call.name === 'string') {
    const fn = message.function_call;
    parts.push({ functionCall: { name: fn.name as string, args: parseArguments(fn.arguments, `${param}.function_call.arguments`) } });
  }
  return parts;
}

/** A model turn's own signature goes back on its first text part (thought-signatures.ts). */
function withSignature(parts: GeminiPart[], signature: string | undefined): GeminiPart[] {
  if (!signature) return parts;
  const first = parts.findIndex((part) => part.text !== undefined);
  return first < 0 ? parts : parts.map((part, index) => (index === first ? { ...part, thoughtSignature: signature } : part));
}

/** OpenAI sends arguments as a JSON string; Gemini wants the object. */
function parseArguments(value: unknown, param: string): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  if (isRecord(value)) return value;
  try {
    const parsed: unknown = JSON.parse(String(value));
    if (isRecord(parsed)) return parsed;
  } catch {
    // reported below
  }
  throw errors.invalidValue(param, `Invalid '${param}': expected a JSON object string.`);
}

/** docs/wire-formats.md §3.4: a tool result becomes `functionResponse {name, response: {content}}`. */
function functionResponse(name: string, content: unknown, context: PartsContext): GeminiPart {
  const text = contentToParts(content, context)
    .map((part) => part.text ?? '')
    .join('');
  return { functionResponse: { name, response: { content: text } } };
}
