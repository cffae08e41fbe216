/**
 * The Gemini API adapter (`model: gemini/<model>`, README "Configuration reference"): files through the Gemini Files
 * API, chat through the Gemini generateContent code shared with Vertex AI, both with
 * `x-goog-api-key` on `api_base` (default https://generativelanguage.googleapis.com).
 */
import type { ProviderAdapter } from '../provider-adapter.ts';
import { transportSettings, type ProviderSettings } from '../provider-settings.ts';
import { UpstreamClient } from '../shared/upstream-client.ts';
import { GeminiApiChat } from './gemini-chat.ts';
import { GeminiFiles } from './gemini-files.ts';
import { geminiApiBase, parseGeminiError, PROVIDER } from './gemini-wire.ts';

export function createGeminiAdapter(settings: ProviderSettings): ProviderAdapter {
  const client = new UpstreamClient({
    provider: PROVIDER,
    instance: settings.instance,
    baseUrl: geminiApiBase(settings.apiBase),
    headers: settings.apiKey ? { 'x-goog-api-key': settings.apiKey } : {},
    parseError: parseGeminiError,
    ...transportSettings(settings),
  });
  const files = new GeminiFiles(client);
  // files_settings entries have no model: they serve /files only.
  const chat = settings.model ? new GeminiApiChat({ instance: settings.instance, model: settings.model, client, files }) : undefined;
  return {
    instance: settings.instance,
    kind: 'gemini',
    files,
    ...(chat ? { chat } : {}),
    close: () => client.close(),
  };
}
