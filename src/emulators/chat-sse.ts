/**
 * Server-Sent Events out of an emulator: each event is flushed on its own, optionally with a
 * pause between events, so clients (and the gateway) can be seen streaming rather than
 * buffering. Stops writing as soon as the client went away.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmulatorExchange } from './emulator-exchange.ts';

export interface SseOptions {
  /** Each event's `data:` payload (already serialised). */
  events: string[];
  /** Pause before every event after the first, in milliseconds (0 = none). */
  delayMs: number;
  /** Event terminator: OpenAI uses "\n\n", Vertex "\r\n\r\n" (docs/wire-formats.md §3.3). */
  separator: '\n\n' | '\r\n\r\n';
  headers?: Record<string, string>;
}

export async function sendSse(exchange: EmulatorExchange, options: SseOptions): Promise<void> {
  const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...options.headers };
  await exchange.sendStream(200, headers, async (write) => {
    for (const [index, event] of options.events.entries()) {
      if (index > 0 && options.delayMs > 0) await sleep(options.delayMs);
      if (!(await write(`data: ${event}${options.separator}`))) return;
    }
  });
}
