/**
 * The one error type of the gateway and its catalog. Every error a client can see is built
 * here, so status, OpenAI `type` and stable `code` stay consistent across routes.
 */

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'service_unavailable_error';

export interface GatewayErrorInit {
  status: number;
  type: OpenAIErrorType;
  code: string;
  message: string;
  param?: string | null;
  cause?: unknown;
  /** Extra response headers (e.g. retry-after on 429). */
  headers?: Record<string, string>;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly code: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(init: GatewayErrorInit) {
    super(init.message, { cause: init.cause });
    this.name = 'GatewayError';
    this.status = init.status;
    this.type = init.type;
    this.code = init.code;
    this.param = init.param ?? null;
    this.headers = init.headers ?? {};
  }

  /** The OpenAI error envelope. */
  toJSON(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/**
 * What went wrong with an upstream call, as the one transport classifies it:
 * `http` — the provider answered with an error status; `timeout` — no answer (or no more bytes)
 * in time; `connect` — the connection could not be made or was cut; `malformed` — a success
 * status with a body that is not what the provider documents.
 */
export type UpstreamFailureKind = 'http' | 'timeout' | 'connect' | 'malformed';

/** Details an upstream failure carries so the caller can tell which provider answered. */
export interface UpstreamFailure {
  provider: string;
  deployment: string;
  /** Default: `http` when there is an upstream status, else `connect`. */
  kind?: UpstreamFailureKind;
  /** The upstream HTTP status, absent for network failures. */
  upstreamStatus?: number;
  upstreamRequestId?: string;
  message: string;
  retryable: boolean;
  retryAfter?: string;
}

const invalid = (code: string, message: string, param: string | null = null) =>
  new GatewayError({ status: 400, type: 'invalid_request_error', code, message, param });

export const errors = {
  invalidRequest: (message: string, param: string | null = null) => invalid('invalid_request', message, param),
  missingField: (param: string) => invalid('missing_required_parameter', `Missing required parameter: '${param}'.`, param),
  invalidValue: (param: string, message: string) => invalid('invalid_value', message, param),
  unknownProvider: (provider: string, known: readonly string[]) =>
    invalid('unknown_provider', `Unknown provider '${provider}'. Supported providers: ${known.join(', ')}.`, 'custom_llm_provider'),
  providerNotConfigured: (provider: string) =>
    invalid(
      'provider_not_configured',
      `No credentials are configured for provider '${provider}'. Add a files_settings entry with custom_llm_provider: ${provider}.`,
      'custom_llm_provider',
    ),
  unsupportedOperation: (provider: string, operation: string) =>
    invalid('unsupported_operation', `Operation '${operation}' is not supported by provider '${provider}'.`),
  unknownModels: (names: readonly string[]) =>
    invalid('model_not_found', `Unknown model name(s): ${names.join(', ')}. Check model_list in the config.`, 'target_model_names'),
  modelsNotAllowed: (names: readonly string[]) =>
    new GatewayError({
      status: 403,
      type: 'permission_error',
      code: 'model_not_allowed',
      message: `This key is not allowed to use model(s): ${names.join(', ')}.`,
      param: 'model',
    }),
  adminOnly: () =>
    new GatewayError({ status: 403, type: 'permission_error', code: 'admin_only', message: 'This route needs an admin key.' }),
  missingKey: () =>
    new GatewayError({
      status: 401,
      type: 'authentication_error',
      code: 'missing_api_key',
      message: 'No API key provided. Send it as "Authorization: Bearer <key>".',
    }),
  invalidKey: () =>
    new GatewayError({ status: 401, type: 'authentication_error', code: 'invalid_api_key', message: 'Invalid or expired API key.' }),
  fileNotFound: (id: string) =>
    new GatewayError({ status: 404, type: 'invalid_request_error', code: 'file_not_found', message: `No such File object: ${id}`, param: 'id' }),
  notFound: (what: string, id: string, param = 'id') =>
    new GatewayError({ status: 404, type: 'invalid_request_error', code: `${what}_not_found`, message: `No such ${what}: ${id}`, param }),
  routeNotFound: (method: string, url: string) =>
    new GatewayError({ status: 404, type: 'invalid_request_error', code: 'route_not_found', message: `Unknown route: ${method} ${url}` }),
  fileTooLarge: (limitMb: number) =>
    new GatewayError({
      status: 413,
      type: 'invalid_request_error',
      code: 'file_too_large',
      message: `The file exceeds the maximum upload size of ${limitMb} MB.`,
      param: 'file',
    }),
  /** A managed file's copy the provider is still processing after the bounded wait (SPEC §4). */
  fileNotReady: (id: string, where: string, seconds: number) =>
    new GatewayError({
      status: 409,
      type: 'invalid_request_error',
      code: 'file_not_ready',
      message: `File ${id} is still being processed by ${where} after ${seconds} s; try again shortly.`,
      param: 'messages',
    }),
  fileProcessingFailed: (id: string, where: string) =>
    invalid('file_processing_failed', `File ${id} could not be processed by ${where}; upload it again.`, 'messages'),
  /** A copy the provider expired on its own, with no other copy holding the bytes to re-make it. */
  fileCopyExpired: (id: string, where: string) =>
    new GatewayError({
      status: 409,
      type: 'invalid_request_error',
      code: 'file_copy_expired',
      message: `File ${id} has expired on ${where} and no other copy holds its original bytes to re-make it; upload it again.`,
      param: 'messages',
    }),
  databaseUnavailable: (cause?: unknown) =>
    new GatewayError({ status: 503, type: 'service_unavailable_error', code: 'database_unavailable', message: 'The database is unavailable.', cause }),
  clientClosed: () =>
    new GatewayError({ status: 499, type: 'invalid_request_error', code: 'client_closed_request', message: 'The client closed the request.' }),
  internal: (cause?: unknown) =>
    new GatewayError({ status: 500, type: 'api_error', code: 'internal_error', message: 'Internal error.', cause }),

  /** Maps an upstream failure to the status class ARCHITECTURE.md prescribes. */
  upstream: (failure: UpstreamFailure, cause?: unknown): GatewayError => {
    const where = `${failure.provider} (deployment ${failure.deployment})`;
    const message = `${where}: ${failure.message}`;
    const status = failure.upstreamStatus;
    const kind = failure.kind ?? (status === undefined ? 'connect' : 'http');
    if (kind === 'timeout') return new GatewayError({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message, cause });
    if (kind === 'connect' || status === undefined) {
      return new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_unreachable', message, cause });
    }
    if (kind === 'malformed') {
      return new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_error', message: `${message} (HTTP ${status})`, cause });
    }
    if (status === 401 || status === 403) {
      return new GatewayError({
        status: 502,
        type: 'upstream_error',
        code: 'upstream_auth_failed',
        message: `${where} rejected the gateway's credentials (HTTP ${status}): ${failure.message}`,
        cause,
      });
    }
    if (status === 429) {
      return new GatewayError({
        status: 429,
        type: 'rate_limit_error',
        code: 'upstream_rate_limited',
        message,
        cause,
        headers: failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
      });
    }
    if (status === 404) {
      return new GatewayError({ status: 404, type: 'invalid_request_error', code: 'upstream_not_found', message, cause });
    }
    if (status === 408) {
      return new GatewayError({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message, cause });
    }
    if (status >= 400 && status < 500) {
      return new GatewayError({ status, type: 'invalid_request_error', code: 'upstream_invalid_request', message, cause });
    }
    return new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_error', message: `${message} (HTTP ${status})`, cause });
  },
};

/** The upstream failure behind a GatewayError, when it came from a provider. */
export class UpstreamError extends GatewayError {
  readonly failure: UpstreamFailure;
  constructor(failure: UpstreamFailure, cause?: unknown) {
    const shaped = errors.upstream(failure, cause);
    super({ status: shaped.status, type: shaped.type, code: shaped.code, message: shaped.message, cause, headers: shaped.headers });
    this.failure = failure;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
