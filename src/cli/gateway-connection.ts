/**
 * Where the files/keys CLI talks to: the gateway's base URL, the key, and the official `openai`
 * client on the right prefix; and one translation of every failure into a single line.
 */
import type OpenAI from 'openai';
import { CliError, usageError } from './cli-error.ts';

/** The `openai` module once a command has loaded it (an upload never does: ~10 MiB less resident). */
let openaiModule: typeof import('openai') | undefined;

export const DEFAULT_BASE_URL = 'http://localhost:4000';

export interface Connection {
  /** The gateway's origin (and path, if it is mounted under one), without a trailing slash. */
  baseUrl: string;
  apiKey: string;
}

export function connection(options: { baseUrl?: string; apiKey?: string }): Connection {
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw usageError(`invalid --base-url '${options.baseUrl}': expected e.g. ${DEFAULT_BASE_URL}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw usageError(`invalid --base-url '${options.baseUrl}': use http:// or https://`);
  if (!options.apiKey) throw usageError('no API key: pass --api-key or set UNIFILE_API_KEY');
  return { baseUrl, apiKey: options.apiKey };
}

/**
 * The files routes: `/v1/files…`, or `/{provider}/v1/files…` when a provider is named (README,
 * "Provider of a plain files call").
 */
export function filesBaseUrl(target: Connection, provider: string | undefined): string {
  return provider ? `${target.baseUrl}/${encodeURIComponent(provider)}/v1` : `${target.baseUrl}/v1`;
}

/**
 * The official client on `baseURL`. No retries: a person at a terminal sees the gateway's answer
 * at once. Organization and project are set to null so OPENAI_ORG_ID / OPENAI_PROJECT_ID from the
 * environment are not sent to the gateway.
 */
export async function openaiClient(target: Connection, baseURL: string): Promise<OpenAI> {
  openaiModule ??= await import('openai');
  return new openaiModule.OpenAI({ apiKey: target.apiKey, baseURL, maxRetries: 0, timeout: 30 * 60 * 1000, organization: null, project: null });
}

/** The first `code` along an error's cause chain (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET, …), and the innermost message. */
function rootCause(error: unknown): { code?: string; message?: string } {
  let code: string | undefined;
  let message: string | undefined;
  for (let current = error as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth += 1) {
    if (code === undefined && typeof current.code === 'string') code = current.code;
    if (typeof current.message === 'string') message = current.message;
  }
  return { code, message };
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'EPIPE']);

/** The gateway's message from an OpenAI error envelope `{"error":{"message",…}}`, if the body is one. */
export function envelopeMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    return typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
  } catch {
    return undefined;
  }
}

/** An answer with an error status as a CliError carrying the gateway's own message. */
export function gatewayRefusal(status: number, message: string | undefined): CliError {
  return new CliError(`${message ?? 'the gateway answered without a message'} (HTTP ${status})`);
}

/** Any failure of a call to the gateway → one CliError line. */
export function describeFailure(error: unknown, target: Connection): CliError {
  if (error instanceof CliError) return error;
  const client = openaiModule;
  if (client && error instanceof client.APIConnectionTimeoutError) return new CliError(`the gateway at ${target.baseUrl} did not answer in time`);
  if (client && error instanceof client.APIError && error.status !== undefined) {
    const inner = error.error as { message?: unknown } | undefined;
    return gatewayRefusal(error.status, typeof inner?.message === 'string' ? inner.message : undefined);
  }
  const { code, message } = rootCause(error);
  // Node's fetch fails with TypeError('fetch failed') and the reason as its cause.
  const fetchFailed = error instanceof TypeError && error.message === 'fetch failed';
  if ((client && error instanceof client.APIConnectionError) || fetchFailed || (code && CONNECT_CODES.has(code))) {
    const detail = code ?? message;
    return new CliError(`cannot reach the gateway at ${target.baseUrl}${detail ? ` (${detail})` : ''}`);
  }
  return new CliError((error as Error)?.message ?? String(error));
}
