/** The `openai` provider (and OpenAI-compatible endpoints): what the gateway needs to know about it. */
import type { ProviderDefinition } from '../provider-definition.ts';
import { isPlainFileId, optionalText } from '../shared/param-schemas.ts';
import { createOpenAIAdapter } from './openai-adapter.ts';

export const openaiProvider: ProviderDefinition = {
  kind: 'openai',
  params: { organization: optionalText },
  settings: (params) => ({ organization: params.organization as string | undefined }),
  check: () => [],
  createAdapter: createOpenAIAdapter,
  capabilities: { files: true, chat: true, batches: true, fineTuning: true },
  recordedIdsOf: (reference) => (isPlainFileId(reference) ? [reference] : []),
};
