/**
 * The background sweeper (README "Running it"): runs its passes once at startup — reconciling what a
 * crashed instance left (journal rows, half-done deletes) — and then every `intervalSeconds`.
 * Each pass is safe on several instances at once (row locks with SKIP LOCKED); errors are logged,
 * never thrown; a slow pass is never overlapped by the next one.
 */
import type { CallContext } from '../providers/provider-adapter.ts';

export type SweepPass = (context: CallContext) => Promise<unknown>;

export function startSweeper(options: { passes: Record<string, SweepPass>; intervalSeconds: number; context: CallContext }): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const runAll = () => {
    if (running || stopped) return;
    running = (async () => {
      for (const [name, pass] of Object.entries(options.passes)) {
        try {
          const result = await pass(options.context);
          options.context.logger.info({ pass: name, result }, 'sweeper pass');
        } catch (error) {
          options.context.logger.error({ pass: name, error: (error as Error).message }, 'sweeper pass failed');
        }
      }
    })().finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(runAll, options.intervalSeconds * 1000);
  timer.unref();
  runAll();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
