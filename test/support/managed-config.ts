/**
 * The managed-files walkthrough setup: gpt-4o-mini-openai on two OpenAI accounts (two
 * emulators), gemini-2.0-flash on Vertex (GCS bucket with a prefix, service account from the
 * Google emulator), and an Azure deployment.
 */
import { startOpenAIEmulator, type OpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import type { AllEmulators } from '../../src/emulators/start-all.ts';
import { startHarness, type Harness, type RawConfig } from './gateway-harness.ts';

export const BUCKET = 'unifile-test';
export const BUCKET_PREFIX = 'managed';

export async function startSecondOpenAI(): Promise<OpenAIEmulator> {
  return startOpenAIEmulator({ apiKey: 'sk-emulator-openai-2' });
}

export function managedConfig(second: OpenAIEmulator) {
  return (emulators: AllEmulators): RawConfig => ({
    files_settings: [
      { custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
      { custom_llm_provider: 'azure', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' },
    ],
    model_list: [
      {
        model_name: 'gpt-4o-mini-openai',
        litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
        model_info: { id: 'oai-1' },
      },
      {
        model_name: 'gpt-4o-mini-openai',
        litellm_params: { model: 'gpt-4o-mini', api_base: `${second.url}/v1`, api_key: 'sk-emulator-openai-2' },
        model_info: { id: 'oai-2' },
      },
      {
        model_name: 'gemini-2.0-flash',
        litellm_params: {
          model: 'vertex_ai/gemini-2.0-flash',
          vertex_project: 'emulated-project',
          vertex_location: 'us-central1',
          vertex_credentials: JSON.stringify(emulators.google.createServiceAccount({ projectId: 'emulated-project' })),
          bucket_name: `${BUCKET}/${BUCKET_PREFIX}`,
          api_base: emulators.urls.google,
          gcs_api_base: emulators.urls.google,
        },
        model_info: { id: 'vertex-1' },
      },
      {
        model_name: 'azure-gpt',
        litellm_params: { model: 'azure/my-gpt-deployment', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: '2024-10-21' },
        model_info: { id: 'azure-1' },
      },
    ],
  });
}

/** The gateway on managedConfig, and the second OpenAI emulator it uses (its close closes both). */
export interface ManagedHarness extends Harness {
  second: OpenAIEmulator;
}

/**
 * Starts the second OpenAI emulator and the gateway on managedConfig (SPEC walkthrough setup);
 * `adjust` may change the config before the gateway reads it, the rest goes to startHarness.
 */
export async function startManagedHarness(
  options: { adjust?: (config: RawConfig) => void } & Pick<Parameters<typeof startHarness>[0] & object, 'general' | 'captureLogs'> = {},
): Promise<ManagedHarness> {
  const second = await startSecondOpenAI();
  try {
    const { adjust, ...rest } = options;
    const harness = await startHarness({
      ...rest,
      config: (emulators) => {
        const config = managedConfig(second)(emulators);
        adjust?.(config);
        return config;
      },
    });
    const closeHarness = harness.close;
    return Object.assign(harness, {
      second,
      close: async () => {
        await closeHarness();
        await second.close();
      },
    });
  } catch (error) {
    await second.close();
    throw error;
  }
}
