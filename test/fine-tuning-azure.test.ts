/**
 * Fine-tuning on Azure OpenAI through the gateway (README "Batches"): the shared suite in
 * support/fine-tuning-suite.ts, on the classic surface (api-version 2024-10-21). Jobs name the
 * deployment's base model (model_info.base_model), as Azure tunes base models, not deployments;
 * chat with the tuned model goes to `/openai/deployments/{tuned name}/chat/completions`.
 */
import { fineTuningSuite } from './support/fine-tuning-suite.ts';

fineTuningSuite({
  provider: 'azure',
  modelName: 'tune-azure',
  deploymentModel: 'gpt-4o-mini-2024-07-18',
  emulator: (emulators) => emulators.azure,
  jobsPath: '/openai/fine_tuning/jobs',
  chatCallFor: (call, name) => call.path === `/openai/deployments/${encodeURIComponent(name)}/chat/completions` && call.status === 200 && call.query['api-version'] === '2024-10-21',
});
