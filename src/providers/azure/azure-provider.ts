/** The `azure` provider (Azure OpenAI): what the gateway needs to know about it. */
import type { ProviderDefinition } from '../provider-definition.ts';
import { isPlainFileId, optionalText } from '../shared/param-schemas.ts';
import { createAzureAdapter } from './azure-adapter.ts';

export const azureProvider: ProviderDefinition = {
  kind: 'azure',
  params: { api_version: optionalText },
  settings: (params) => ({ apiVersion: params.api_version as string | undefined }),
  check: (settings) => (settings.apiBase ? [] : [{ key: 'api_base', message: 'required for azure (the resource endpoint)' }]),
  createAdapter: createAzureAdapter,
  capabilities: { files: true, chat: true, batches: true, fineTuning: true },
  recordedIdsOf: (reference) => (isPlainFileId(reference) ? [reference] : []),
  // Azure fine-tunes a base model by its model id (`gpt-4o-mini-2024-07-18`), not a deployment
  // (Azure OpenAI REST "Fine Tuning - Create": `model` is "the identifier (model-id) of the base
  // model used for this fine-tune"); deployments only serve models. The config names it.
  fineTuningModel: (settings) => settings.baseModel,
};
