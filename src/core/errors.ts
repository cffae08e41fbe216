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

/**
 * Details an upstream failure carries so the caller can tell which provider answered. Only
 * `provider`, the status and the provider's `code`/`type` ever reach the client (README "Endpoints" (errors)): the
 * provider's own `message` can hold provider ids behind unified ids, bucket paths, key fragments
 * or internal URLs, so it is logged with the request id (see upstreamLogFields), never returned.
 */
export interface UpstreamFailure {
  provider: string;
  /** Deployment id (internal: logged, never shown to clients). */
  deployment: string;
  /** Default: `http` when there is an upstream status, else `connect`. */
  kind?: UpstreamFailureKind;
  /** The upstream HTTP status, absent for network failures. */
  upstreamStatus?: number;
  upstreamRequestId?: string;
  /** The provider's own text (or our description of a network failure): for the log only. */
  message: string;
  /** The provider's error code (`invalid_api_key`, `PERMISSION_DENIED`, `invalid_grant`…). */
  code?: string;
  /** The provider's error type (`invalid_request_error`…). */
  type?: string;
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
  /** A model_name of the config that names a provider (or wildcard) this gateway does not speak. */
  modelNotSupported: (name: string, reason: string, param: string) =>
    invalid('model_not_supported', `Model '${name}' uses ${reason}, which is not supported here.`, param),
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
  fileNotFound: (id: string, options: { param?: string; cause?: unknown } = {}) =>
    new GatewayError({
      status: 404,
      type: 'invalid_request_error',
      code: 'file_not_found',
      message: `No such File object: ${id}`,
      param: options.param ?? 'id',
      cause: options.cause,
    }),
  /** A batch line names a file that does not exist or is not the caller's: 404 like an unknown id, naming the line. */
  batchLineFileNotFound: (line: number, id: string, param: string) =>
    new GatewayError({
      status: 404,
      type: 'invalid_request_error',
      code: 'file_not_found',
      message: `Line ${line} of the batch file refers to ${id.slice(0, 200)}: no such File object.`,
      param,
    }),
  notFound: (what: string, id: string, param = 'id') =>
    new GatewayError({ status: 404, type: 'invalid_request_error', code: `${what}_not_found`, message: `No such ${what}: ${id}`, param }),
  /** OpenAI answers a cancel of a finished job 400 too; the gateway says why in its own words. */
  fineTuningJobFinished: (id: string, status: string) =>
    invalid('invalid_request', `Fine-tuning job ${id} has already ${status === 'failed' ? 'failed' : 'succeeded'}; only an unfinished job can be cancelled.`, 'fine_tuning_job_id'),
  batchNotFound: (id: string) =>
    new GatewayError({ status: 404, type: 'invalid_request_error', code: 'batch_not_found', message: `No such Batch object: ${id}`, param: 'batch_id' }),
  /** A managed file an unfinished batch still reads, as its input or named in its lines (README "Batches"). */
  fileInUse: (id: string, batchId: string, role: 'input' | 'line') =>
    new GatewayError({
      status: 409,
      type: 'invalid_request_error',
      code: 'file_in_use',
      message: `File ${id} is ${role === 'input' ? 'the input of' : 'named in the lines of'} batch ${batchId}, which has not finished; delete it after the batch ends.`,
      param: 'file_id',
    }),
  /** A batch endpoint the provider running the batch does not offer (README "Endpoints" (errors): unsupported → 400 saying so). */
  batchEndpointUnsupported: (provider: string, supported: readonly string[], endpoint: string) =>
    invalid('unsupported_endpoint', `Batches on provider '${provider}' support only ${supported.map((value) => `'${value}'`).join(', ')}, not '${endpoint}'.`, 'endpoint'),
  /** A batch whose endpoint is not the url its input's lines name (OpenAI fails such a batch at validation). */
  batchEndpointMismatch: (endpoint: string, fileId: string, detail: string) =>
    invalid(
      'mismatched_endpoint',
      `The batch endpoint '${endpoint}' does not match the requests in file ${fileId}: ${detail}. Every line's "url" must be the batch's endpoint.`,
      'endpoint',
    ),
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
  /** A managed file's copy the provider is still processing after the bounded wait (README "Endpoints" (managed files)). */
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

  /**
   * Maps an upstream failure to the status class README "Endpoints" (errors) lists, with a message
   * built only from the provider's name, the upstream status and its error code/type.
   */
  upstream: (failure: UpstreamFailure, cause?: unknown): GatewayError => {
    const provider = failure.provider;
    const status = failure.upstreamStatus;
    const make = (init: Omit<GatewayErrorInit, 'cause'>) => new GatewayError({ ...init, cause });
    const kind = failure.kind ?? (status === undefined ? 'connect' : 'http');
    if (kind === 'timeout') return make({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message: `${provider} did not answer in time.` });
    if (kind === 'connect' || status === undefined) {
      return make({ status: 502, type: 'upstream_error', code: 'upstream_unreachable', message: `Could not reach ${provider}.` });
    }
    if (kind === 'malformed') {
      return make({ status: 502, type: 'upstream_error', code: 'upstream_error', message: `${provider} sent an answer the gateway could not read.` });
    }
    const detail = upstreamDetail(failure, status);
    if (status === 401 || status === 403) {
      return make({ status: 502, type: 'upstream_error', code: 'upstream_auth_failed', message: `${provider} rejected the gateway's credentials (${detail}).` });
    }
    if (status === 429) {
      return make({
        status: 429,
        type: 'rate_limit_error',
        code: 'upstream_rate_limited',
        message: `${provider} is rate limiting requests (${detail}).`,
        headers: failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
      });
    }
    if (status === 404) {
      return make({ status: 404, type: 'invalid_request_error', code: 'upstream_not_found', message: `${provider} could not find the requested resource (${detail}).` });
    }
    if (status === 408) {
      return make({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message: `${provider} did not answer in time (${detail}).` });
    }
    if (status >= 400 && status < 500) {
      return make({ status, type: 'invalid_request_error', code: 'upstream_invalid_request', message: `${provider} rejected the request (${detail}).` });
    }
    return make({ status: 502, type: 'upstream_error', code: 'upstream_error', message: `${provider} failed (${detail}).` });
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

// Provider codes and types are identifiers; anything else (free text in a code field) is dropped.
const PROVIDER_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

function upstreamDetail(failure: UpstreamFailure, status: number): string {
  const parts = [`HTTP ${status}`];
  if (failure.type && PROVIDER_CODE.test(failure.type)) parts.push(`type ${failure.type}`);
  if (failure.code && PROVIDER_CODE.test(failure.code) && failure.code !== failure.type) parts.push(`code ${failure.code}`);
  return `${parts.join(', ')}; the provider's message is in the gateway log`;
}

/**
 * What the log needs about an upstream failure behind `error` (itself or a cause): the
 * provider's own message, status, code and request id, and the deployment. Undefined when no
 * provider was involved.
 */
export function upstreamLogFields(error: unknown): Record<string, unknown> | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current; depth += 1) {
    if (current instanceof UpstreamError) {
      const { provider, deployment, upstreamStatus, upstreamRequestId, message, code, type } = current.failure;
      return { upstream: { provider, deployment, status: upstreamStatus, requestId: upstreamRequestId, code, type, message } };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
