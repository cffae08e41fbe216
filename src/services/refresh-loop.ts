/**
 * The background loop shared by the batch and fine-tuning refreshers (README "Running it": background work is
 * shared between instances; each round leases its rows with `FOR UPDATE SKIP LOCKED`).
 */
import type { AdapterLogger } from '../providers/provider-adapter.ts';

export interface RefreshLoopOptions {
  /** One round: lease due rows, refresh them, answer how many were leased. */
  round(): Promise<number>;
  /** A round that leased this many means more are due: the next one starts at once. */
  pageSize: number;
  intervalMs: number;
  logger: AdapterLogger;
  /** For the log line of a failed round, e.g. `batch refresher`. */
  name: string;
}

/** Runs `round` every `intervalMs` until stopped; the returned function waits for the round in flight. */
export function startRefreshLoop(options: RefreshLoopOptions): () => Promise<void> {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (stopped) return;
    running = options
      .round()
      .catch((error: unknown) => {
        options.logger.warn({ error: (error as Error).message }, `${options.name} round failed`);
        return 0;
      })
      .then((leased) => {
        if (!stopped) timer = setTimeout(tick, leased >= options.pageSize ? 0 : options.intervalMs);
      });
  };
  timer = setTimeout(tick, Math.min(options.intervalMs, 1000));
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}
