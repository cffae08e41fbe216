/**
 * Access tokens from the metadata server (Application Default Credentials on Compute Engine,
 * GKE workload identity, Cloud Run: cloud.google.com/docs/authentication/application-default-
 * credentials): `GET {host}/computeMetadata/v1/instance/service-accounts/default/token` with
 * `Metadata-Flavor: Google`. The host is `metadata.google.internal` unless `GCE_METADATA_HOST`
 * names another (src/config reads it). Same cache and one-refresh rules as a key file.
 */
import type { Dispatcher } from 'undici';
import type { CallContext } from '../../core/call-context.ts';
import { UpstreamClient } from '../shared/upstream-client.ts';
import { CachedTokenSource, type CachedTokenOptions, type FetchedToken } from './cached-token-source.ts';
import { googleErrorParser } from './google-errors.ts';
import { exchangeToken } from './service-account-tokens.ts';

export const DEFAULT_METADATA_BASE = 'http://metadata.google.internal';
const TOKEN_PATH = '/computeMetadata/v1/instance/service-accounts/default/token';

export interface MetadataServerTokensOptions extends CachedTokenOptions {
  /** `http://host[:port]` of the metadata server. */
  baseUrl?: string;
  dispatcher?: Dispatcher;
  maxRetries?: number;
}

export class MetadataServerTokens extends CachedTokenSource {
  /** The metadata server knows the project, but only asynchronously: config must name it. */
  readonly projectId = undefined;
  private readonly client: UpstreamClient;

  constructor(options: MetadataServerTokensOptions) {
    super(options);
    this.client = new UpstreamClient({
      provider: this.provider,
      instance: this.instance,
      baseUrl: options.baseUrl ?? DEFAULT_METADATA_BASE,
      headers: { 'metadata-flavor': 'Google' },
      parseError: googleErrorParser('metadata server refused the token request'),
      // The metadata server is local: a slow answer means there is none.
      timeouts: { timeoutMs: 10_000 },
      maxRetries: options.maxRetries ?? 0,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  }

  protected async fetchToken(context: CallContext): Promise<FetchedToken> {
    const started = this.now();
    const answer = await exchangeToken(this.client, context, { operation: 'token', method: 'GET', path: TOKEN_PATH, headers: { accept: 'application/json' } });
    return { value: answer.accessToken, expiresAt: started + answer.lifetimeSeconds * 1000 };
  }
}
