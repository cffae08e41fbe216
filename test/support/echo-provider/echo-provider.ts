/**
 * A test-only provider, `echo`: an OpenAI-compatible endpoint that requires its own
 * `litellm_params.echo_tag`, sent upstream as `x-echo-tag`. It exists only in this folder and is
 * registered only by adding its definition to the provider list a test passes to the config, which
 * proves that a provider needs nothing outside its folder but that one line.
 */
import { z } from 'zod';
import { OpenAIChat } from '../../../src/providers/openai/openai-chat.ts';
import { OpenAIShapedFiles } from '../../../src/providers/openai/openai-files.ts';
import type { ProviderDefinition } from '../../../src/providers/provider-definition.ts';
import { transportSettings } from '../../../src/providers/provider-settings.ts';
import { parseErrorEnvelope, UpstreamClient } from '../../../src/providers/shared/upstream-client.ts';

export const echoProvider: ProviderDefinition = {
  kind: 'echo',
  params: { echo_tag: z.string().regex(/^[a-z0-9-]+$/).optional() },
  settings: (params) => ({ options: { echoTag: params.echo_tag } }),
  check: (settings) => [
    ...(settings.options?.echoTag ? [] : [{ key: 'echo_tag', message: 'required for echo' }]),
    ...(settings.apiBase ? [] : [{ key: 'api_base', message: 'required for echo' }]),
  ],
  createAdapter: (settings) => {
    const client = new UpstreamClient({
      provider: 'echo',
      instance: settings.instance,
      baseUrl: settings.apiBase!,
      headers: { authorization: `Bearer ${settings.apiKey ?? ''}`, 'x-echo-tag': String(settings.options?.echoTag) },
      parseError: parseErrorEnvelope,
      ...transportSettings(settings),
    });
    return {
      instance: settings.instance,
      kind: 'echo',
      files: new OpenAIShapedFiles({ client, model: settings.model }),
      chat: new OpenAIChat({ client, instance: settings.instance, path: '/chat/completions' }),
      close: () => client.close(),
    };
  },
  capabilities: { files: true, chat: true },
  recordedIdsOf: (reference) => (reference.startsWith('file-') ? [reference] : []),
  // Its storage has a public URL form, `https://store.echo.test/<file id>`, whatever api_base says:
  // such a URL is the file it names.
  storedReferenceForms: (value) => {
    const match = /^https:\/\/store\.echo\.test\/(file-[A-Za-z0-9_-]+)$/.exec(value);
    return match ? [value, match[1]!] : undefined;
  },
};
