/** Query parameters that take one value: repeated (`?key=a&key=b`) is a 400 naming it, not a 500. */
import { errors } from '../core/errors.ts';

export type Query = Record<string, string | string[] | undefined>;

export function singleQueryValue(query: Query | undefined, name: string): string | undefined {
  const value = query?.[name];
  if (Array.isArray(value)) throw errors.invalidValue(name, `Query parameter '${name}' was given more than once.`);
  return value;
}
