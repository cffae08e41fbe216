/** Batches on an OpenAI deployment, end to end (README "Batches"). */
import { runBatchSuite } from './support/batch-suite.ts';

runBatchSuite({ model: 'gpt-4o-mini-openai', deploymentModel: 'gpt-4o-mini', echoLabel: 'openai:gpt-4o-mini', emulator: (harness) => harness.emulators.openai, batchesPath: '/v1/batches' });
