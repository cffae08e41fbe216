/**
 * Google's error bodies, shared by Vertex AI, Cloud Storage, the Gemini API and the OAuth token
 * endpoints: `{"error":{"code","message","status"}}` (cloud.google.com/apis/design/errors),
 * `{"error":"invalid_grant","error_description"}` (RFC 6749 §5.2), or whatever a proxy sent.
 */
import type { ParsedUpstreamError } from '../shared/upstream-failures.ts';

/** The human message inside a Google error body, or a short excerpt of whatever came back. */
export function describeErrorBody(text: string, status: number): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const error = parsed.error;
    if (typeof error === 'string') {
      return typeof parsed.error_description === 'string' ? `${error}: ${parsed.error_description}` : error;
    }
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
  } catch {
    // not JSON: fall through to the excerpt
  }
  const excerpt = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return excerpt === '' ? `HTTP ${status}` : `HTTP ${status}: ${excerpt}`;
}

/** parseError for an UpstreamClient talking to a Google API; `prefix` names the service (e.g. "Cloud Storage"). */
export function googleErrorParser(prefix?: string): (status: number, text: string) => ParsedUpstreamError {
  return (status, text) => {
    let code: string | undefined;
    try {
      const error = (JSON.parse(text) as { error?: { status?: unknown } | string }).error;
      // OAuth: {"error":"invalid_grant"} (RFC 6749 §5.2); Google APIs: {"error":{"status":"PERMISSION_DENIED"}}.
      const found = typeof error === 'string' ? error : error?.status;
      if (typeof found === 'string') code = found;
    } catch {
      // not JSON
    }
    const message = describeErrorBody(text, status);
    return { message: prefix ? `${prefix}: ${message}` : message, ...(code ? { code } : {}) };
  };
}
