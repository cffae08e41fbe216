/** zod building blocks for the `litellm_params` keys that provider definitions declare. */
import { z } from 'zod';

export const optionalText = z.string().min(1).optional();
export const optionalUrl = z.url().optional();

/** A raw id (no scheme, no path): what the OpenAI-shaped Files APIs hand out. */
export function isPlainFileId(reference: string): boolean {
  return reference !== '' && !reference.includes('://') && !reference.includes('/');
}
