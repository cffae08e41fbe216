/**
 * Which token source a Google deployment uses: its service-account key (`vertex_credentials`, or
 * the key file GOOGLE_APPLICATION_CREDENTIALS names), else the metadata server — the order
 * Application Default Credentials follow (cloud.google.com/docs/authentication/application-
 * default-credentials). Key files of other types (gcloud's `authorized_user`) are refused clearly.
 */
import type { Dispatcher } from 'undici';
import type { CachedTokenSource } from './cached-token-source.ts';
import { MetadataServerTokens } from './metadata-server-tokens.ts';
import { GoogleTokenProvider } from './service-account-tokens.ts';

export interface GoogleCredentialsInput {
  instance: string;
  /** Service-account JSON text or a key-file path. */
  credentials?: string | undefined;
  /** `http://host[:port]` of the metadata server, used when there is no key. */
  metadataBaseUrl?: string | undefined;
  dispatcher: Dispatcher;
  maxRetries: number;
}

export type GoogleTokenSource = CachedTokenSource & { readonly projectId: string | undefined };

export function googleTokenSource(input: GoogleCredentialsInput): GoogleTokenSource {
  const shared = { instance: input.instance, dispatcher: input.dispatcher, maxRetries: input.maxRetries };
  if (input.credentials) return new GoogleTokenProvider({ ...shared, credentials: input.credentials });
  return new MetadataServerTokens({ ...shared, ...(input.metadataBaseUrl ? { baseUrl: input.metadataBaseUrl } : {}) });
}
