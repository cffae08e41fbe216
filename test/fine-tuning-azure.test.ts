/**
 * Fine-tuning on Azure OpenAI through the gateway (SPEC §6): the shared suite in
 * support/fine-tuning-suite.ts, on the classic surface (api-version 2024-10-21); chat with the
 * tuned model goes to `/openai/deployments/{tuned name}/chat/completions`.
 */
import { fineTuningSuite } from './support/fine-tuning-suite.ts';

fineTuningSuite({
  provider: 'azure',
  modelName: 'tune-azure',
  deploymentModel: 'my-ft-deployment',
  emulator: (emulators) => emulators.azure,
  jobsPath: '/openai/fine_tuning/jobs',
  chatCallFor: (call, name) => call.path === `/openai/deployments/${encodeURIComponent(name)}/chat/completions` && call.status === 200 && call.query['api-version'] === '2024-10-21',
});
