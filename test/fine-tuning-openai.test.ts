/** Fine-tuning on OpenAI through the gateway (README "Batches"): the shared suite in support/fine-tuning-suite.ts. */
import { fineTuningSuite } from './support/fine-tuning-suite.ts';

fineTuningSuite({
  provider: 'openai',
  modelName: 'tune-openai',
  deploymentModel: 'gpt-4o-mini',
  emulator: (emulators) => emulators.openai,
  jobsPath: '/v1/fine_tuning/jobs',
  chatCallFor: (call, name) => call.path === '/v1/chat/completions' && call.status === 200 && (call.json as { model?: string }).model === name,
});
