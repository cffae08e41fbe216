/**
 * `POST …/chat/completions` for the OpenAI and Azure OpenAI emulators: validates the body
 * (chat-openai-validate.ts), answers with the echo model in OpenAI's chat.completion shape, or
 * streams chat.completion.chunk events ending in `data: [DONE]`. Azure's answers carry its
 * content-filter results, and its streams open with a chunk that has no choices and only
 * `prompt_filter_results`, as Azure OpenAI sends.
 */
import { EmulatorBodyError, type EmulatorExchange } from './emulator-exchange.ts';
import { echoAnswer, splitEvenly, splitWords, type EchoChoice, type EchoResult } from './chat-echo.ts';
import { parseOpenAIChat, type FileLookup } from './chat-openai-validate.ts';
import { sendSse } from './chat-sse.ts';
import { randomBase62 } from './files-api-common.ts';

export interface OpenAIChatRoute {
  provider: 'openai' | 'azure';
  /** Azure classic: the deployment named in the path (the body's model is not needed). */
  pathDeployment?: string;
  lookupFile: FileLookup;
  /** Pause between streamed chunks, in milliseconds. */
  chunkDelayMs: number;
  /** Models (OpenAI) or deployments (Azure) that exist; undefined = any name. */
  models?: readonly string[];
  /** A name this emulator knows not to exist (e.g. a fine-tuned model no job produced). */
  refusesModel?: (model: string) => Promise<boolean>;
}

type Json = Record<string, unknown>;

const PARSE_ERROR =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

export async function handleOpenAIChat(exchange: EmulatorExchange, route: OpenAIChatRoute): Promise<void> {
  let body: unknown;
  try {
    body = await exchange.readJson();
  } catch (error) {
    if (!(error instanceof EmulatorBodyError)) throw error;
    return sendError(exchange, error.status, { message: error.status === 400 ? PARSE_ERROR : error.message, param: null, code: null });
  }
  const parsed = parseOpenAIChat(body, {
    requireModel: route.pathDeployment === undefined,
    azure: route.provider === 'azure',
    lookupFile: route.lookupFile,
  });
  if (!parsed.ok) return sendError(exchange, 400, parsed.problem);
  const model = route.pathDeployment ?? parsed.value.model!;
  if (route.models && !route.models.includes(model)) return sendUnknownModel(exchange, route, model);
  if (await route.refusesModel?.(model)) return sendUnknownModel(exchange, route, model);

  const answer = echoAnswer({ ...parsed.value.echo, label: `${route.provider}:${model}` });
  const completion = { id: `chatcmpl-${randomBase62(29)}`, created: Math.floor(Date.now() / 1000), model };
  if (!parsed.value.stream) return exchange.sendJson(200, completionBody(answer, completion, route.provider));
  const chunks = streamChunks(answer, completion, { azure: route.provider === 'azure', includeUsage: parsed.value.includeUsage });
  await sendSse(exchange, { events: [...chunks.map((chunk) => JSON.stringify(chunk)), '[DONE]'], delayMs: route.chunkDelayMs, separator: '\n\n' });
}

/**
 * One non-streaming chat answer as the HTTP route would give it (status + JSON body), for a
 * batch line (docs/wire-formats.md §1.10: each line is answered like the endpoint it names).
 */
export function answerChatBody(body: unknown, route: Omit<OpenAIChatRoute, 'chunkDelayMs'>): { status: number; body: Json } {
  const parsed = parseOpenAIChat(body, { requireModel: route.pathDeployment === undefined, azure: route.provider === 'azure', lookupFile: route.lookupFile });
  const error = (problem: { message: string; param: string | null; code: string | null }): Json => ({
    error: { message: problem.message, type: 'invalid_request_error', param: problem.param, code: problem.code },
  });
  if (!parsed.ok) return { status: 400, body: error(parsed.problem) };
  const model = route.pathDeployment ?? parsed.value.model!;
  if (route.models && !route.models.includes(model)) {
    return { status: 404, body: error({ message: `The model \`${model}\` does not exist or you do not have access to it.`, param: null, code: 'model_not_found' }) };
  }
  const answer = echoAnswer({ ...parsed.value.echo, label: `${route.provider}:${model}` });
  return { status: 200, body: completionBody(answer, { id: `chatcmpl-${randomBase62(29)}`, created: Math.floor(Date.now() / 1000), model }, route.provider) };
}

interface CompletionIds {
  id: string;
  created: number;
  model: string;
}

function completionBody(answer: EchoResult, ids: CompletionIds, provider: OpenAIChatRoute['provider']): Json {
  const choices = answer.choices.map((choice, index) => {
    const message: Json = { role: 'assistant', content: choice.text, refusal: null, annotations: [] };
    if (choice.toolCall) message.tool_calls = [toolCall(choice)];
    const body: Json = { index, message, logprobs: null, finish_reason: choice.finish };
    if (provider === 'azure') body.content_filter_results = FILTER_RESULTS;
    return body;
  });
  const body: Json = {
    id: ids.id,
    object: 'chat.completion',
    created: ids.created,
    model: ids.model,
    choices,
    usage: usage(answer),
    service_tier: 'default',
    system_fingerprint: 'fp_emulator',
  };
  if (provider === 'azure') body.prompt_filter_results = [{ prompt_index: 0, content_filter_results: FILTER_RESULTS }];
  return body;
}

function streamChunks(answer: EchoResult, ids: CompletionIds, options: { azure: boolean; includeUsage: boolean }): Json[] {
  const chunk = (choices: Json[]): Json => ({
    id: ids.id,
    object: 'chat.completion.chunk',
    created: ids.created,
    model: ids.model,
    service_tier: 'default',
    system_fingerprint: 'fp_emulator',
    choices,
    // With include_usage every chunk carries usage:null until the last one (OpenAI docs).
    ...(options.includeUsage ? { usage: null } : {}),
  });
  const delta = (index: number, value: Json, finish: string | null = null): Json => ({ index, delta: value, logprobs: null, finish_reason: finish });
  const chunks: Json[] = [];
  if (options.azure) {
    chunks.push({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER_RESULTS }] });
  }
  answer.choices.forEach((choice, index) => {
    if (choice.toolCall) {
      const call = toolCall(choice);
      const args = (call.function as { arguments: string }).arguments;
      chunks.push(chunk([delta(index, { role: 'assistant', content: null, tool_calls: [{ index: 0, ...call, function: { name: choice.toolCall.name, arguments: '' } }], refusal: null })]));
      for (const piece of splitEvenly(args, 3)) chunks.push(chunk([delta(index, { tool_calls: [{ index: 0, function: { arguments: piece } }] })]));
    } else {
      chunks.push(chunk([delta(index, { role: 'assistant', content: '', refusal: null })]));
      for (const word of splitWords(choice.text ?? '')) chunks.push(chunk([delta(index, { content: word })]));
    }
    chunks.push(chunk([delta(index, {}, choice.finish)]));
  });
  if (options.includeUsage) chunks.push({ ...chunk([]), usage: usage(answer) });
  return chunks;
}

function toolCall(choice: EchoChoice): Json {
  return { id: `call_${randomBase62(24)}`, type: 'function', function: { name: choice.toolCall!.name, arguments: JSON.stringify(choice.toolCall!.arguments) } };
}

function usage(answer: EchoResult): Json {
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const SAFE = { filtered: false, severity: 'safe' };
const FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };

async function sendError(exchange: EmulatorExchange, status: number, problem: { message: string; param: string | null; code: string | null }): Promise<void> {
  await exchange.sendJson(status, { error: { message: problem.message, type: 'invalid_request_error', param: problem.param, code: problem.code } });
}

async function sendUnknownModel(exchange: EmulatorExchange, route: OpenAIChatRoute, model: string): Promise<void> {
  if (route.provider === 'azure') {
    // docs/wire-formats.md §2.6: inference on a missing deployment.
    return exchange.sendJson(404, {
      error: {
        code: 'DeploymentNotFound',
        message: 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
      },
    });
  }
  await exchange.sendJson(404, {
    error: { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' },
  });
}
