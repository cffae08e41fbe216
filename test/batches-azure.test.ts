/** Batches on an Azure deployment, end to end (SPEC §6; Azure specifics providers.md §2.4). */
import { runBatchSuite } from './support/batch-suite.ts';

runBatchSuite({ model: 'azure-gpt', deploymentModel: 'my-gpt-deployment', echoLabel: 'azure:my-gpt-deployment', emulator: (harness) => harness.emulators.azure, batchesPath: '/openai/batches' });
