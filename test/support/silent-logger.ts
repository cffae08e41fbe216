/** A call context for driving services directly in tests. */
import type { CallContext } from '../../src/providers/provider-adapter.ts';

const noop = () => undefined;
export const testContext: CallContext = { requestId: 'test', logger: { info: noop, warn: noop, error: noop } };
