/**
 * The Google OAuth2 token endpoint, as a service account meets it (docs/wire-formats.md §3.1):
 * `POST /token` with the JWT-bearer grant. The assertion is really verified — RS256 signature
 * against the account's public key, `kid`, `aud`, `scope` and the iat/exp window — so a client
 * that signs wrongly fails here as it would at oauth2.googleapis.com. Error bodies and messages
 * copy Google's (`invalid_grant` + error_description).
 */
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { ServiceAccountJson } from '../providers/google/service-account.ts';
import type { EmulatorExchange } from './emulator-exchange.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Audiences Google itself accepts besides the emulator's own token URL (docs/wire-formats.md §3.1). */
const GOOGLE_AUDIENCES = [
  'https://oauth2.googleapis.com/token',
  'https://www.googleapis.com/oauth2/v4/token',
  'https://accounts.google.com/o/oauth2/token',
];

interface Account {
  email: string;
  keyId: string;
  publicKey: KeyObject;
}

interface IssuedToken {
  email: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

type Refusal = { status: number; error: string; description: string };

export type BearerCheck = 'ok' | 'missing' | 'invalid';

export class GoogleOAuth {
  readonly tokenUrl: string;
  #accounts = new Map<string, Account>();
  #tokens = new Map<string, IssuedToken>();
  #lifetimeSeconds: number;
  #counter = 0;

  constructor(options: { tokenUrl: string; tokenLifetimeSeconds?: number }) {
    this.tokenUrl = options.tokenUrl;
    this.#lifetimeSeconds = options.tokenLifetimeSeconds ?? 3599;
  }

  /** A fresh RSA-2048 key registered with this endpoint, as a complete key file. */
  createServiceAccount(options: { projectId?: string } = {}): ServiceAccountJson {
    const projectId = options.projectId ?? 'unifile-emulator';
    this.#counter += 1;
    const email = `sa-${this.#counter}-${randomBytes(3).toString('hex')}@${projectId}.iam.gserviceaccount.com`;
    const keyId = randomBytes(20).toString('hex');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#accounts.set(email, { email, keyId, publicKey });
    const clientId = String(100000000000000000000n + BigInt(`0x${randomBytes(8).toString('hex')}`));
    return {
      type: 'service_account',
      project_id: projectId,
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: clientId,
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: this.tokenUrl,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
      universe_domain: 'googleapis.com',
    };
  }

  /** Is this `Authorization` header a Bearer token issued here and not expired? */
  checkBearer(header: string | undefined): BearerCheck {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) return 'missing';
    const token = this.#tokens.get(match[1]!);
    return token && token.expiresAt > Date.now() ? 'ok' : 'invalid';
  }

  /** A fresh access token for `email` (the metadata server's way of handing one out). */
  issueToken(email: string): { access_token: string; expires_in: number; token_type: 'Bearer' } {
    const accessToken = `ya29.emu-${randomBytes(24).toString('base64url')}`;
    this.#tokens.set(accessToken, { email, expiresAt: Date.now() + this.#lifetimeSeconds * 1000 });
    return { access_token: accessToken, expires_in: this.#lifetimeSeconds, token_type: 'Bearer' };
  }

  /** Every token issued so far stops working (simulates revocation or expiry). */
  revokeTokens(): void {
    this.#tokens.clear();
  }

  async handleToken(exchange: EmulatorExchange): Promise<void> {
    if (exchange.method !== 'POST') {
      return exchange.sendJson(405, { error: 'invalid_request', error_description: 'Only POST is supported.' });
    }
    const type = exchange.headers['content-type'] ?? '';
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      await exchange.drainBody();
      return refuse(exchange, { status: 400, error: 'invalid_request', description: 'Expected application/x-www-form-urlencoded.' });
    }
    const form = new URLSearchParams(await exchange.readText(256 * 1024));
    const grantType = form.get('grant_type');
    if (grantType !== JWT_BEARER_GRANT) {
      exchange.recordJson({ grant_type: grantType });
      return refuse(exchange, { status: 400, error: 'unsupported_grant_type', description: `Invalid grant_type: ${grantType ?? ''}` });
    }
    const outcome = this.#verify(form.get('assertion') ?? '');
    // Recorded without the signature: tests can assert on the claims a client sent.
    exchange.recordJson({ grant_type: grantType, header: outcome.header, claims: outcome.claims });
    if ('refusal' in outcome) return refuse(exchange, outcome.refusal);
    const accessToken = `ya29.emu-${randomBytes(24).toString('base64url')}`;
    this.#tokens.set(accessToken, { email: outcome.email, expiresAt: Date.now() + this.#lifetimeSeconds * 1000 });
    await exchange.sendJson(
      200,
      { access_token: accessToken, expires_in: this.#lifetimeSeconds, token_type: 'Bearer' },
      { 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate', pragma: 'no-cache' },
    );
  }

  #verify(assertion: string):
    | { email: string; header: unknown; claims: unknown }
    | { refusal: Refusal; header?: unknown; claims?: unknown } {
    const invalid = (description: string, header?: unknown, claims?: unknown) => ({
      refusal: { status: 400, error: 'invalid_grant', description },
      header,
      claims,
    });
    const parts = assertion.split('.');
    const header = decodeSegment(parts[0]);
    const claims = decodeSegment(parts[1]);
    if (parts.length !== 3 || !isRecord(header) || !isRecord(claims)) return invalid('Invalid JWT: malformed assertion.');
    if (header.alg !== 'RS256') return invalid('Invalid JWT Signature.', header, claims);
    const account = typeof claims.iss === 'string' ? this.#accounts.get(claims.iss) : undefined;
    if (!account) return invalid('Invalid grant: account not found', header, claims);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    let signatureOk = false;
    try {
      signatureOk = verify('sha256', signed, account.publicKey, Buffer.from(parts[2]!, 'base64url'));
    } catch {
      // a garbled signature is simply not a valid one
    }
    if (!signatureOk || (header.kid !== undefined && header.kid !== account.keyId)) {
      return invalid('Invalid JWT Signature.', header, claims);
    }
    if (claims.aud !== this.tokenUrl && !GOOGLE_AUDIENCES.includes(String(claims.aud))) {
      return invalid(`Invalid JWT: Failed audience check. The expected audience is ${this.tokenUrl}.`, header, claims);
    }
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    // Google allows a few minutes of clock skew and at most one hour of lifetime.
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= now || iat > now + 300 || exp - iat > 3600) {
      return invalid(
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
        header,
        claims,
      );
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(/\s+/) : [];
    if (!scopes.includes(CLOUD_PLATFORM_SCOPE)) {
      return { refusal: { status: 400, error: 'invalid_scope', description: 'Invalid OAuth scope or ID token audience provided.' }, header, claims };
    }
    return { email: account.email, header, claims };
  }
}

function refuse(exchange: EmulatorExchange, refusal: Refusal): Promise<void> {
  return exchange.sendJson(refusal.status, { error: refusal.error, error_description: refusal.description });
}

function decodeSegment(segment: string | undefined): unknown {
  if (!segment) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
