/** Batches on an Azure deployment, end to end (README "Batches"; Azure specifics docs/wire-formats.md §2.4). */
import { runBatchSuite } from './support/batch-suite.ts';

runBatchSuite({ model: 'azure-gpt', deploymentModel: 'my-gpt-deployment', echoLabel: 'azure:my-gpt-deployment', emulator: (harness) => harness.emulators.azure, batchesPath: '/openai/batches' });
