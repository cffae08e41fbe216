/**
 * autocannon (programmatic API) for the unthrottled throughput runs, and for the comparison
 * run with its `overallRate` option. autocannon ships no types; the slice used here is typed
 * locally.
 *
 * Why the latency table does not come from autocannon: with `overallRate` every connection
 * sends its share of the second back to back and then waits for the next one-second tick
 * (lib/httpClient.js), so the load arrives in bursts at the top of each second, and its
 * latency histogram stores whole milliseconds (lib/histUtil.js: integer HDR histogram,
 * lowestDiscernibleValue 1), too coarse for a 1 ms budget. Its coordinated-omission
 * correction also uses an expected interval of ceil(1/rate) = 1 ms per connection.
 */
import { createRequire } from 'node:module';
import type { ChatScenario } from './fixed-rate.ts';

interface AutocannonRequest {
  onResponse?: (status: number, body: string) => void;
}

interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  pipelining?: number;
  overallRate?: number;
  requests?: AutocannonRequest[];
}

interface AutocannonLatency {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: AutocannonLatency;
  requests: { average: number; total: number; sent: number };
}

const autocannon = createRequire(import.meta.url)('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>;

export interface AutocannonRun {
  scenario: string;
  connections: number;
  durationS: number;
  overallRate?: number;
  /** Completed requests / duration. */
  requestsPerSecond: number;
  completed: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
  /** autocannon's own numbers, whole milliseconds. */
  latencyMs: AutocannonLatency;
  checked: number;
  checkFailures: number;
  firstFailure?: string;
}

/** Runs autocannon against a scenario; every `checkEvery`-th answer is verified with the scenario's check. */
export async function runAutocannon(options: {
  scenario: ChatScenario;
  connections: number;
  durationS: number;
  overallRate?: number;
  checkEvery?: number;
}): Promise<AutocannonRun> {
  const { scenario } = options;
  const checkEvery = options.checkEvery ?? 25;
  let seen = 0;
  let checked = 0;
  let checkFailures = 0;
  let firstFailure: string | undefined;
  const result = await autocannon({
    url: `${scenario.origin}${scenario.path}`,
    method: 'POST',
    headers: scenario.headers,
    body: scenario.body,
    connections: options.connections,
    duration: options.durationS,
    pipelining: 1,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requests: [
      {
        onResponse: (status, body) => {
          seen += 1;
          if (seen % checkEvery !== 0) return;
          checked += 1;
          const problem = status >= 200 && status < 300 ? scenario.check(status, body) : `HTTP ${status}: ${body.slice(0, 300)}`;
          if (problem) {
            checkFailures += 1;
            firstFailure ??= problem;
          }
        },
      },
    ],
  });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]));
  return {
    scenario: scenario.id,
    connections: options.connections,
    durationS: result.duration,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requestsPerSecond: result.requests.total / result.duration,
    completed: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    latencyMs: { average: result.latency.average, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    checked,
    checkFailures,
    ...(firstFailure ? { firstFailure } : {}),
  };
}
