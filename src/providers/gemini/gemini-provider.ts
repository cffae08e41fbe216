/**
 * The `gemini` provider (the Gemini API, `model: gemini/<model>`): what the gateway needs to know
 * about it. The key falls back to GEMINI_API_KEY, as LiteLLM documents for this provider.
 */
import type { ProviderDefinition } from '../provider-definition.ts';
import { createGeminiAdapter } from './gemini-adapter.ts';
import { isGeminiFileId, openAIFileId, resourceId } from './gemini-wire.ts';

export const geminiProvider: ProviderDefinition = {
  kind: 'gemini',
  params: {},
  settings: (params, env) => (params.api_key === undefined ? { apiKey: env.GEMINI_API_KEY } : {}),
  check: (settings) => (settings.apiKey ? [] : [{ key: 'api_key', message: 'required for gemini (or set GEMINI_API_KEY)' }]),
  createAdapter: createGeminiAdapter,
  capabilities: { files: true, chat: true },
  // Uploads are recorded under the id the gateway handed out; clients may also name the file's
  // `files/<id>` name or its uri.
  recordedIdsOf: (reference) => {
    if (isGeminiFileId(reference)) return [reference];
    if (!/^files\/|\/v1beta\/files\//.test(reference)) return [];
    try {
      return [openAIFileId(`files/${resourceId(reference)}`)];
    } catch {
      return [];
    }
  },
  // File URIs (`https://generativelanguage.googleapis.com/v1beta/files/…`) are Gemini storage
  // whatever api_base says (docs/wire-formats.md §4.3 `uri`).
  storedReferenceForms: geminiStorageForms,
};

function geminiStorageForms(value: string): string[] | undefined {
  if (!/^https?:\/\//i.test(value)) return undefined;
  try {
    return new URL(value).hostname.toLowerCase() === 'generativelanguage.googleapis.com' ? [value] : undefined;
  } catch {
    return undefined;
  }
}
