/**
 * OAuth2 access tokens for a Google service account (developers.google.com/identity/protocols/
 * oauth2/service-account): an RS256-signed JWT is exchanged at the key's own `token_uri` with the
 * JWT-bearer grant (RFC 7523). The call goes through the one upstream transport; caching and the
 * shared refresh live in CachedTokenSource. The private key, the assertion and the tokens are
 * never logged nor put into error messages.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { CallContext } from '../../core/call-context.ts';
import { UpstreamError } from '../../core/errors.ts';
import { UpstreamClient } from '../shared/upstream-client.ts';
import { httpFailure } from '../shared/upstream-failures.ts';
import { CachedTokenSource, lifetimeSeconds, type CachedTokenOptions, type FetchedToken } from './cached-token-source.ts';
import { googleErrorParser } from './google-errors.ts';
import { loadServiceAccount, ServiceAccountError, type ServiceAccountInput } from './service-account.ts';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface GoogleTokenProviderOptions extends CachedTokenOptions {
  /** Service-account JSON as an object, inline JSON text or a key-file path. */
  credentials: ServiceAccountInput;
  /** The deployment's pool; the token client owns one otherwise. */
  dispatcher?: Dispatcher;
  scope?: string;
  /** Response-headers and body timeout of the token call (default 30 s). */
  timeoutMs?: number;
  /** The deployment's `max_retries` (the grant is safe to send again). */
  maxRetries?: number;
}

/** Tokens for a service-account key (`vertex_credentials`, or the file GOOGLE_APPLICATION_CREDENTIALS names). */
export class GoogleTokenProvider extends CachedTokenSource {
  readonly clientEmail: string;
  readonly projectId: string | undefined;
  readonly tokenUri: string;
  private readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly scope: string;
  private readonly client: UpstreamClient;

  constructor(options: GoogleTokenProviderOptions) {
    super(options);
    const account = loadServiceAccount(options.credentials);
    try {
      this.privateKey = createPrivateKey(account.private_key);
    } catch {
      throw new ServiceAccountError('Service-account private_key is not a valid PEM private key.');
    }
    this.clientEmail = account.client_email;
    this.projectId = account.project_id;
    this.tokenUri = account.token_uri;
    this.keyId = account.private_key_id;
    this.scope = options.scope ?? CLOUD_PLATFORM_SCOPE;
    this.client = new UpstreamClient({
      provider: this.provider,
      instance: this.instance,
      baseUrl: this.tokenUri,
      parseError: googleErrorParser(`token endpoint ${this.tokenUri} refused the service-account grant`),
      timeouts: { timeoutMs: options.timeoutMs ?? 30_000 },
      maxRetries: options.maxRetries ?? 0,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  }

  protected async fetchToken(context: CallContext): Promise<FetchedToken> {
    const started = this.now();
    const body = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: this.assertion(started) }).toString();
    const answer = await exchangeToken(this.client, context, {
      operation: 'token',
      method: 'POST',
      url: this.tokenUri,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      idempotent: true,
    });
    // Measured from before the call, so network time can only make us refresh early, never late.
    return { value: answer.accessToken, expiresAt: started + answer.lifetimeSeconds * 1000 };
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private assertion(nowMs: number): string {
    const iat = Math.floor(nowMs / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: this.keyId };
    const claims = { iss: this.clientEmail, scope: this.scope, aud: this.tokenUri, iat, exp: iat + 3600 };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.privateKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}

/** Sends a token call and reads `{access_token, expires_in}`; refusals are reported as credential failures. */
export async function exchangeToken(
  client: UpstreamClient,
  context: CallContext,
  call: Parameters<UpstreamClient['send']>[0],
): Promise<{ accessToken: string; lifetimeSeconds: number }> {
  let parsed: { access_token?: unknown; expires_in?: unknown } | undefined;
  try {
    parsed = await client.json<typeof parsed>({ ...call, anonymous: true }, context);
  } catch (error) {
    if (error instanceof UpstreamError && error.failure.kind === 'http' && error.failure.upstreamStatus !== undefined) {
      const { upstreamStatus, message, code } = error.failure;
      throw httpFailure({ provider: error.failure.provider, instance: error.failure.deployment }, { status: tokenRefusalStatus(upstreamStatus), message, code });
    }
    throw error;
  }
  if (!parsed || typeof parsed.access_token !== 'string' || parsed.access_token === '') {
    throw client.malformed(`token endpoint answered without an access_token`);
  }
  return { accessToken: parsed.access_token, lifetimeSeconds: lifetimeSeconds(parsed.expires_in) };
}

/**
 * The status a token refusal is reported under. Google's token endpoint answers a bad grant
 * (`invalid_grant`: wrong signature, unknown key, clock skew, disabled account) and other
 * credential problems (`invalid_client`, `unauthorized_client`) with HTTP 400, and a wrong
 * token_uri gives 404 or a redirect. All of them mean *our* credentials or config are wrong, not
 * the client's request, so they are reported with 401 semantics, which errors.upstream turns into
 * 502 upstream_auth_failed. Rate limits, timeouts and 5xx keep their status class.
 */
function tokenRefusalStatus(status: number): number {
  if (status === 408 || status === 429 || status >= 500) return status;
  return status === 403 ? 403 : 401;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
