/**
 * OAuth2 access tokens for a Google service account (providers.md §3.1): an RS256-signed JWT is
 * exchanged at the key's own `token_uri` with the JWT-bearer grant, as gtoken does. Tokens are
 * cached until shortly before they expire and concurrent callers share one refresh. The private
 * key, the assertion and the tokens are never logged nor put into error messages.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { AdapterLogger } from '../provider-adapter.ts';
import { loadServiceAccount, ServiceAccountError, type ServiceAccountInput } from './service-account.ts';
import { PROVIDER, describeErrorBody, googleErrorCode, httpFailure, readErrorText, transportFailure } from './vertex-upstream.ts';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface GoogleTokenProviderOptions {
  /** Adapter instance (deployment id): named in errors and log lines. */
  instance: string;
  /** Service-account JSON as an object, inline JSON text or a key-file path. */
  credentials: ServiceAccountInput;
  /** undici dispatcher for the token call (the adapter's Agent); the global one otherwise. */
  dispatcher?: Dispatcher;
  scope?: string;
  /** Refresh this long before expiry (default 60 s) so a token never dies mid-request. */
  refreshMarginMs?: number;
  /** Headers/body timeout of the token call (default 30 s). */
  timeoutMs?: number;
  /** Clock in milliseconds; injectable so expiry can be tested without waiting. */
  now?: () => number;
}

export interface TokenRequestContext {
  signal?: AbortSignal;
  /** Receives the one 'upstream call' line when this call triggers a refresh. */
  logger?: AdapterLogger;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

export class GoogleTokenProvider {
  readonly clientEmail: string;
  readonly projectId: string | undefined;
  readonly tokenUri: string;
  private readonly instance: string;
  private readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly scope: string;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly refreshMarginMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private cached: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;

  constructor(options: GoogleTokenProviderOptions) {
    const account = loadServiceAccount(options.credentials);
    try {
      this.privateKey = createPrivateKey(account.private_key);
    } catch {
      throw new ServiceAccountError('Service-account private_key is not a valid PEM private key.');
    }
    this.instance = options.instance;
    this.clientEmail = account.client_email;
    this.projectId = account.project_id;
    this.tokenUri = account.token_uri;
    this.keyId = account.private_key_id;
    this.scope = options.scope ?? CLOUD_PLATFORM_SCOPE;
    this.dispatcher = options.dispatcher;
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** A valid access token, from cache or from one shared refresh. */
  async getAccessToken(context: TokenRequestContext = {}): Promise<string> {
    const cached = this.cached;
    if (cached && this.now() < cached.expiresAt - this.refreshMarginMs) return cached.value;
    // The refresh is shared, so it must not die with the first caller's signal: each caller
    // only stops waiting for it.
    this.inflight ??= this.refresh(context.logger).finally(() => {
      this.inflight = undefined;
    });
    const token = await waitFor(this.inflight, context.signal, this.instance);
    return token.value;
  }

  /** Forgets `token` (e.g. GCS answered 401 to it) so the next call mints a fresh one. */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private assertion(nowMs: number): string {
    const iat = Math.floor(nowMs / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: this.keyId };
    const claims = { iss: this.clientEmail, scope: this.scope, aud: this.tokenUri, iat, exp: iat + 3600 };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.privateKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  private async refresh(logger: AdapterLogger | undefined): Promise<CachedToken> {
    const started = this.now();
    const body = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: this.assertion(started) }).toString();
    const what = `token endpoint ${this.tokenUri}`;
    const clock = performance.now();
    let response: Dispatcher.ResponseData;
    try {
      response = await request(this.tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
    } catch (error) {
      this.log(logger, 'network_error', clock);
      throw transportFailure({ deployment: this.instance, what, error });
    }
    const status = response.statusCode;
    this.log(logger, status, clock);
    if (status < 200 || status >= 300) {
      const text = await readErrorText(response.body);
      const message = `${what} refused the service-account grant: ${describeErrorBody(text, status)}`;
      throw httpFailure({ deployment: this.instance, status: tokenRefusalStatus(status), message, code: googleErrorCode(text) });
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = (await response.body.json()) as typeof parsed;
    } catch (error) {
      throw transportFailure({ deployment: this.instance, what, error });
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw httpFailure({ deployment: this.instance, status: 502, message: `${what} answered without an access_token` });
    }
    const lifetimeSeconds = typeof parsed.expires_in === 'number' ? parsed.expires_in : Number(parsed.expires_in ?? 3600);
    // Measured from before the call, so network time can only make us refresh early, never late.
    const token = { value: parsed.access_token, expiresAt: started + (Number.isFinite(lifetimeSeconds) ? lifetimeSeconds : 3600) * 1000 };
    this.cached = token;
    return token;
  }

  private log(logger: AdapterLogger | undefined, status: number | string, clock: number): void {
    logger?.info(
      { provider: PROVIDER, deployment: this.instance, operation: 'token', status, durationMs: Math.round(performance.now() - clock) },
      'upstream call',
    );
  }
}

/**
 * The status the refusal is reported under. Google's token endpoint answers a bad grant
 * (`invalid_grant`: wrong signature, unknown key, clock skew, disabled account) and other
 * credential problems (`invalid_client`, `unauthorized_client`) with HTTP 400, and a wrong
 * token_uri gives 404 or a redirect. All of them mean *our* credentials or config are wrong,
 * not the client's request, so they are reported with 401 semantics, which errors.upstream
 * turns into 502 upstream_auth_failed. Rate limits, timeouts and 5xx keep their status class.
 */
function tokenRefusalStatus(status: number): number {
  if (status === 408 || status === 429 || status >= 500) return status;
  return status === 403 ? 403 : 401;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

async function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined, deployment: string): Promise<T> {
  if (!signal) return promise;
  const aborted = () => transportFailure({ deployment, what: 'token endpoint', error: signal.reason, signal });
  if (signal.aborted) throw aborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
