/**
 * The verdict on one answer (README "Endpoints" (errors)): never 5xx; every 4xx the OpenAI envelope with real
 * values or null; answered within the bound (or closed, where the framing allows it); bad input
 * refused, well-formed input served, nobody else's resource ever served.
 */
import type { FuzzCase, Outcome } from './case-types.ts';

const FAKE_NULLS = new Set(['None', 'null', 'undefined', 'NaN', '']);

export function envelopeProblems(outcome: Outcome): string[] {
  const problems: string[] = [];
  const type = outcome.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) problems.push(`4xx content-type '${type}'`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(outcome.body.toString('utf8'));
  } catch {
    return [...problems, '4xx body is not JSON'];
  }
  const error = parsed && typeof parsed === 'object' ? (parsed as { error?: unknown }).error : undefined;
  const keys = parsed && typeof parsed === 'object' ? Object.keys(parsed).join(',') : typeof parsed;
  const errorKeys = error && typeof error === 'object' ? Object.keys(error).sort().join(',') : typeof error;
  if (keys !== 'error' || errorKeys !== 'code,message,param,type') {
    return [...problems, `4xx outside the OpenAI envelope (keys [${keys}], error keys [${errorKeys}])`];
  }
  const fields = error as Record<string, unknown>;
  if (typeof fields.message !== 'string' || fields.message === '') problems.push('4xx error.message is not a non-empty string');
  for (const name of ['type', 'param', 'code']) {
    const value = fields[name];
    if (value === null) continue;
    if (typeof value !== 'string') problems.push(`4xx error.${name} is ${typeof value}, not a string or null`);
    else if (FAKE_NULLS.has(value)) problems.push(`4xx error.${name} is the string '${value}'`);
  }
  return problems;
}

export function judge(fuzzCase: FuzzCase, outcome: Outcome, boundMs: number): string[] {
  const { status } = outcome;
  if (status >= 500) return [`${status} answered`];
  if (fuzzCase.owed === 'nothing') return [];
  if (status === 0) {
    if (outcome.timedOut) return [`no answer and no close within ${boundMs} ms`];
    if (fuzzCase.owed === 'answer') return ['connection closed without an answer'];
    return [];
  }
  const problems: string[] = [];
  // Redirects are fine where they say where to (the Swagger UI's own pages).
  if (status < 200 || (status >= 300 && status < 400 && !outcome.headers.location)) problems.push(`unexpected status ${status}`);
  if (status >= 400 && !outcome.sent.startsWith('HEAD ')) problems.push(...envelopeProblems(outcome));
  const ok = status >= 200 && status < 300;
  if (ok && fuzzCase.foreign) problems.push('another owner\'s resource served (2xx)');
  if (ok && fuzzCase.expect === 'failure') problems.push('bad input accepted (2xx)');
  if (!ok && fuzzCase.expect === 'success') problems.push(`well-formed request refused (${status})`);
  return problems;
}
