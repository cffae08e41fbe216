/** OpenAI (and OpenAI-compatible) provider adapter. */
import type { ProviderAdapter } from '../provider-adapter.ts';
import { transportSettings, type ProviderSettings } from '../provider-settings.ts';
import { parseErrorEnvelope, UpstreamClient } from '../shared/upstream-client.ts';
import { OpenAIChat } from './openai-chat.ts';
import { OpenAIShapedBatches } from './openai-batches.ts';
import { OpenAIShapedFiles } from './openai-files.ts';
import { OpenAIShapedFineTuning } from './openai-fine-tuning.ts';

export const OPENAI_DEFAULT_BASE = 'https://api.openai.com/v1';

export function createOpenAIAdapter(settings: ProviderSettings): ProviderAdapter {
  const headers: Record<string, string> = {};
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  if (settings.organization) headers['openai-organization'] = settings.organization;
  const client = new UpstreamClient({
    provider: 'openai',
    instance: settings.instance,
    baseUrl: settings.apiBase ?? OPENAI_DEFAULT_BASE,
    headers,
    parseError: parseErrorEnvelope,
    ...transportSettings(settings),
  });
  const files = new OpenAIShapedFiles({ client, model: settings.model });
  return {
    instance: settings.instance,
    kind: 'openai',
    files,
    batches: new OpenAIShapedBatches({ client, files }),
    chat: new OpenAIChat({ client, instance: settings.instance, path: '/chat/completions' }),
    fineTuning: new OpenAIShapedFineTuning({ client }),
    close: () => client.close(),
  };
}
