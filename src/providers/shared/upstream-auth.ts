/**
 * How a provider's credential rides on its calls, as a hook of the one transport: static headers
 * (API keys) or a token source that can mint a new token when the upstream refuses the current one
 * (OAuth access tokens: revoked early, clock skew). The transport sends a refused call once more
 * with fresh headers, as google-auth-library does.
 */
import type { CallContext } from '../../core/call-context.ts';

export interface UpstreamAuth {
  /** The credential headers for one attempt. Never logged. */
  headers(context: CallContext): Promise<Record<string, string>> | Record<string, string>;
  /**
   * The upstream answered 401 to `headers`: forget that credential. When present, the transport
   * retries the call once with fresh headers (if its body can be sent again).
   */
  refused?(headers: Record<string, string>): void;
}

/** An access-token source (Google service account, metadata server, …). */
export interface TokenSource {
  /** A valid access token, from cache or one shared refresh. */
  accessToken(context: CallContext): Promise<string>;
  /** Forgets `token` so the next call mints a fresh one. */
  invalidate(token: string): void;
}

export function staticHeaders(headers: Record<string, string>): UpstreamAuth {
  return { headers: () => headers };
}

/** `Authorization: Bearer <token>` from a token source, refreshed once on 401. */
export function bearerAuth(tokens: TokenSource): UpstreamAuth {
  return {
    headers: async (context) => ({ authorization: `Bearer ${await tokens.accessToken(context)}` }),
    refused: (headers) => {
      const token = headers.authorization?.replace(/^Bearer /, '');
      if (token) tokens.invalidate(token);
    },
  };
}
