/**
 * Azure OpenAI adapter (docs/wire-formats.md §2). Files are resource-level: classic surface
 * `{endpoint}/openai/files?api-version=…`, or the v1 surface when api_base ends in /openai/v1.
 */
import type { ProviderAdapter } from '../provider-adapter.ts';
import { transportSettings, type ProviderSettings } from '../provider-settings.ts';
import { OpenAIChat } from '../openai/openai-chat.ts';
import { OpenAIShapedBatches } from '../openai/openai-batches.ts';
import { OpenAIShapedFiles } from '../openai/openai-files.ts';
import { OpenAIShapedFineTuning } from '../openai/openai-fine-tuning.ts';
import { parseErrorEnvelope, UpstreamClient } from '../shared/upstream-client.ts';

/** Latest GA data-plane version (docs/wire-formats.md §2.1), used when the config names none. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/**
 * Azure's upload purposes (docs/wire-formats.md §2.2/§2.3) have no `user_data` or `vision`; files for
 * chat are stored as `assistants` there, the purpose Azure documents for files used by models.
 */
export function azurePurpose(purpose: string): string {
  return purpose === 'user_data' || purpose === 'vision' ? 'assistants' : purpose;
}

export function azureBase(apiBase: string): { baseUrl: string; classic: boolean } {
  const trimmed = apiBase.replace(/\/+$/, '');
  if (/\/openai\/v1$/.test(trimmed)) return { baseUrl: trimmed, classic: false };
  return { baseUrl: trimmed.endsWith('/openai') ? trimmed : `${trimmed}/openai`, classic: true };
}

export function createAzureAdapter(settings: ProviderSettings): ProviderAdapter {
  const { baseUrl, classic } = azureBase(settings.apiBase ?? '');
  const client = new UpstreamClient({
    provider: 'azure',
    instance: settings.instance,
    baseUrl,
    headers: settings.apiKey ? { 'api-key': settings.apiKey } : {},
    query: classic ? { 'api-version': settings.apiVersion ?? AZURE_DEFAULT_API_VERSION } : undefined,
    parseError: parseErrorEnvelope,
    ...transportSettings(settings),
  });
  const files = new OpenAIShapedFiles({ client, purposeFor: azurePurpose, model: settings.model });
  return {
    instance: settings.instance,
    kind: 'azure',
    files,
    // docs/wire-formats.md §2.4: the classic docs send `/chat/completions`; the v1 surface takes OpenAI's endpoints.
    batches: new OpenAIShapedBatches({ client, files, endpointFor: (endpoint) => (classic ? endpoint.replace(/^\/v1(?=\/)/, '') : endpoint) }),
    // Classic inference names the deployment in the path; the v1 surface takes it as `model`
    // in the body, which the service already set to the deployment name (docs/wire-formats.md §2.1).
    chat: new OpenAIChat({
      client,
      instance: settings.instance,
      path: classic ? `/deployments/${encodeURIComponent(settings.model)}/chat/completions` : '/chat/completions',
    }),
    // Fine-tuning is resource-level like files: `…/openai/fine_tuning/jobs` with the api-version
    // (classic) or `…/openai/v1/fine_tuning/jobs` (docs/wire-formats.md §2.1).
    fineTuning: new OpenAIShapedFineTuning({ client }),
    close: () => client.close(),
  };
}
