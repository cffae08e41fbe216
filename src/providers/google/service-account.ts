/**
 * Service-account key files (docs/wire-formats.md §3.1). `vertex_credentials` in config may be the parsed
 * object, the JSON text itself, or a path to the key file (README "Configuration reference"), so all three are accepted.
 * Errors name the missing fields but never echo the key material.
 */
import { readFileSync } from 'node:fs';

/** The fields of a Google service-account key file this gateway uses (others are kept, unused). */
export interface ServiceAccountJson {
  type?: string;
  project_id?: string;
  private_key_id: string;
  /** PEM (PKCS#8) RSA private key. */
  private_key: string;
  client_email: string;
  client_id?: string;
  /** Where the JWT-bearer grant is posted; tests and private clouds point it elsewhere. */
  token_uri: string;
  [field: string]: unknown;
}

/** The object, its JSON text, or a filesystem path to it. */
export type ServiceAccountInput = ServiceAccountJson | string;

const REQUIRED_FIELDS = ['client_email', 'private_key', 'private_key_id', 'token_uri'] as const;

/** Raised for unusable credentials; a configuration problem, so it is thrown at construction. */
export class ServiceAccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceAccountError';
  }
}

export function loadServiceAccount(input: ServiceAccountInput): ServiceAccountJson {
  const candidate = typeof input === 'string' ? parseText(input) : input;
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) {
    throw new ServiceAccountError('Service-account credentials must be a JSON object.');
  }
  const record = candidate as Record<string, unknown>;
  const missing = REQUIRED_FIELDS.filter((field) => typeof record[field] !== 'string' || record[field] === '');
  if (missing.length > 0) {
    throw new ServiceAccountError(`Service-account credentials lack required field(s): ${missing.join(', ')}.`);
  }
  try {
    new URL(record.token_uri as string);
  } catch {
    throw new ServiceAccountError('Service-account token_uri is not an absolute URL.');
  }
  return record as ServiceAccountJson;
}

function parseText(text: string): unknown {
  const trimmed = text.trim();
  // Inline JSON starts with a brace; anything else is taken as a path to the key file.
  const source = trimmed.startsWith('{') ? trimmed : readKeyFile(trimmed);
  try {
    return JSON.parse(source);
  } catch {
    // The JSON parser's message can quote part of the input, i.e. of the private key: drop it.
    throw new ServiceAccountError('Service-account credentials are not valid JSON.');
  }
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ServiceAccountError(`Cannot read the service-account key file ${path} (${code}).`);
  }
}
