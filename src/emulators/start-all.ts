/** Starts every bundled emulator (used by `unifile emulate`, the demo and the benchmarks). */
import { startAzureEmulator, type AzureEmulator } from './azure-emulator.ts';
import { startGeminiEmulator, type GeminiEmulator, type GeminiEmulatorOptions } from './gemini-emulator.ts';
import { startGoogleEmulator, type GoogleEmulator } from './google-emulator.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from './openai-emulator.ts';

export interface AllEmulators {
  openai: OpenAIEmulator;
  azure: AzureEmulator;
  google: GoogleEmulator;
  /** The Gemini API (AI Studio): Files API and generateContent. */
  gemini: GeminiEmulator;
  /** Base URLs to put in a config: openai api_base, azure api_base, google (GCS + token) base, gemini api_base. */
  urls: { openai: string; azure: string; google: string; gemini: string };
  close(): Promise<void>;
}

/** `port` 0 picks free ports; otherwise port, port+1, port+2, port+3. */
export async function startAllEmulators(
  options: { port?: number; chatChunkDelayMs?: number; gemini?: Omit<GeminiEmulatorOptions, 'port'> } = {},
): Promise<AllEmulators> {
  const next = (offset: number) => (options.port ? options.port + offset : 0);
  const { chatChunkDelayMs } = options;
  const openai = await startOpenAIEmulator({ port: next(0), chatChunkDelayMs });
  const azure = await startAzureEmulator({ port: next(1), chatChunkDelayMs });
  const google = await startGoogleEmulator({ port: next(2), chatChunkDelayMs });
  const gemini = await startGeminiEmulator({ chatChunkDelayMs, ...options.gemini, port: next(3) });
  return {
    openai,
    azure,
    google,
    gemini,
    urls: { openai: `${openai.url}/v1`, azure: azure.url, google: google.url, gemini: gemini.url },
    close: async () => {
      await Promise.all([openai.close(), azure.close(), google.close(), gemini.close()]);
    },
  };
}
