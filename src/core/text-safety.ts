/**
 * Text that must not reach a provider or the database (README "Endpoints" (errors)): NUL characters (Postgres text
 * cannot hold them, providers reject them) and lone UTF-16 surrogates (not encodable as UTF-8,
 * see the WHATWG Encoding standard). One reusable check for query values, path ids, form fields
 * and JSON strings, so every caller answers the same 400 naming the parameter.
 */
import { errors } from './errors.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string is unusable, or undefined when it is fine. */
export function unsafeTextReason(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate (invalid Unicode)';
  return undefined;
}

/** Throws 400 naming `param` when the string holds NUL or a lone surrogate. */
export function assertSafeText(value: string, param: string): void {
  const reason = unsafeTextReason(value);
  if (reason) throw errors.invalidValue(param, `Invalid '${param}': the value ${reason}.`);
}

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Walks a parsed JSON value without recursion (deep input cannot blow the stack) and throws
 * 400 at the first string — value or key — that is unsafe, naming its path (`messages[0].content`).
 */
export function assertSafeJson(value: unknown, rootPath = ''): void {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: rootPath }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      assertSafeText(current, path || 'body');
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) stack.push({ value: current[index], path: childPath(path, index) });
    } else if (current !== null && typeof current === 'object') {
      const keys = Object.keys(current);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index]!;
        if (unsafeTextReason(key)) assertSafeText(key, childPath(path, '(key)'));
        stack.push({ value: (current as Record<string, unknown>)[key], path: childPath(path, key) });
      }
    }
  }
}
