/**
 * An open-loop, fixed-rate load generator in the manner of wrk2: request i is due at
 * start + i/rate whatever happened to earlier requests, so a slow answer never delays the
 * requests behind it (no coordinated omission). Timestamps come from performance.now() and are
 * kept exactly (no histogram buckets), so sub-millisecond differences survive.
 *
 * Three latencies are kept per request:
 * - service: from handing the request to the client pool until the last byte of the body;
 * - fromIntended: from the moment it was due (includes any lateness of the sender itself and
 *   any wait for a free connection; this is the coordinated-omission-free number);
 * - headers: from handing it over until the response headers (time to first byte of a stream).
 */
import { Pool } from 'undici';
import { distribution, type Distribution } from './stats.ts';

export interface ChatScenario {
  /** Short id used in tables, e.g. "b". */
  id: string;
  label: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  stream: boolean;
  /** undefined when the answer is what it must be, else a description of what is wrong. */
  check(status: number, body: string): string | undefined;
}

export interface FixedRateResult {
  scenario: string;
  rate: number;
  durationMs: number;
  sent: number;
  completed: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  non2xx: number;
  /** Requests that failed without an HTTP answer (connection errors, timeouts). */
  errors: number;
  /** Answers whose status or body failed the scenario's check. */
  checkFailures: number;
  firstFailure?: string;
  /** Completed requests per second over the sending window. */
  achievedRate: number;
  service: Distribution;
  fromIntended: Distribution;
  headers: Distribution;
  /** How late the generator itself sent requests (timer granularity, its own GC). */
  senderLag: Distribution;
  /** The raw samples behind the distributions (for pooling rounds; not meant for JSON output). */
  samples: { service: Float64Array; fromIntended: Float64Array; headers: Float64Array; senderLag: Float64Array };
}

/** Several runs of one scenario as one: counts added up, distributions over all their samples. */
export function poolResults(results: FixedRateResult[]): FixedRateResult {
  if (results.length === 1) return results[0]!;
  const concat = (pick: (result: FixedRateResult) => Float64Array) => {
    const out = new Float64Array(results.reduce((sum, result) => sum + pick(result).length, 0));
    let offset = 0;
    for (const result of results) {
      out.set(pick(result), offset);
      offset += pick(result).length;
    }
    return out;
  };
  const sum = (pick: (result: FixedRateResult) => number) => results.reduce((total, result) => total + pick(result), 0);
  const statuses: Record<string, number> = {};
  for (const result of results) for (const [status, count] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  const samples = {
    service: concat((result) => result.samples.service),
    fromIntended: concat((result) => result.samples.fromIntended),
    headers: concat((result) => result.samples.headers),
    senderLag: concat((result) => result.samples.senderLag),
  };
  const firstFailure = results.find((result) => result.firstFailure)?.firstFailure;
  return {
    scenario: results[0]!.scenario,
    rate: results[0]!.rate,
    durationMs: sum((result) => result.durationMs),
    sent: sum((result) => result.sent),
    completed: sum((result) => result.completed),
    statuses,
    non2xx: sum((result) => result.non2xx),
    errors: sum((result) => result.errors),
    checkFailures: sum((result) => result.checkFailures),
    ...(firstFailure ? { firstFailure } : {}),
    achievedRate: sum((result) => result.achievedRate) / results.length,
    service: distribution(samples.service),
    fromIntended: distribution(samples.fromIntended),
    headers: distribution(samples.headers),
    senderLag: distribution(samples.senderLag),
    samples,
  };
}

export function createPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
}

export async function runFixedRate(options: {
  scenario: ChatScenario;
  pool: Pool;
  rate: number;
  durationMs: number;
}): Promise<FixedRateResult> {
  const { scenario, pool, rate, durationMs } = options;
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const service = new Float64Array(total);
  const fromIntended = new Float64Array(total);
  const headers = new Float64Array(total);
  const senderLag = new Float64Array(total);
  const statuses: Record<string, number> = {};
  let completed = 0;
  let errors = 0;
  let checkFailures = 0;
  let firstFailure: string | undefined;
  let inFlight = 0;
  let sent = 0;
  let lastSentAt = 0;
  let drained: (() => void) | undefined;

  const finish = () => {
    inFlight -= 1;
    if (inFlight === 0 && sent === total) drained?.();
  };
  const fail = (what: string) => {
    checkFailures += 1;
    firstFailure ??= what;
  };

  const fire = (index: number, intended: number) => {
    const sentAt = performance.now();
    lastSentAt = sentAt;
    senderLag[index] = sentAt - intended;
    inFlight += 1;
    pool.request({ method: 'POST', path: scenario.path, headers: scenario.headers, body: scenario.body }).then(
      async (response) => {
        const headersAt = performance.now();
        let text: string;
        try {
          text = await response.body.text();
        } catch (error) {
          errors += 1;
          firstFailure ??= `body read failed: ${(error as Error).message}`;
          finish();
          return;
        }
        const doneAt = performance.now();
        const slot = completed;
        completed += 1;
        service[slot] = doneAt - sentAt;
        fromIntended[slot] = doneAt - intended;
        headers[slot] = headersAt - sentAt;
        const status = response.statusCode;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status < 200 || status >= 300) fail(`HTTP ${status}: ${text.slice(0, 300)}`);
        else {
          const problem = scenario.check(status, text);
          if (problem) fail(problem);
        }
        finish();
      },
      (error: Error) => {
        errors += 1;
        firstFailure ??= `request failed: ${error.message}`;
        finish();
      },
    );
  };

  const startAt = performance.now() + 2;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && startAt + sent * interval <= now) {
        const index = sent;
        sent += 1;
        fire(index, startAt + index * interval);
      }
      if (sent < total) setTimeout(tick, Math.max(0, startAt + sent * interval - performance.now()));
      else resolve();
    };
    setTimeout(tick, 2);
  });
  const sendWindow = lastSentAt - startAt;
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 60_000);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const non2xx = Object.entries(statuses).reduce((sum, [status, count]) => sum + (Number(status) >= 200 && Number(status) < 300 ? 0 : count), 0);
  return {
    scenario: scenario.id,
    rate,
    durationMs,
    sent,
    completed,
    statuses,
    non2xx,
    errors,
    checkFailures,
    ...(firstFailure ? { firstFailure } : {}),
    achievedRate: sendWindow > 0 ? (completed * 1000) / (sendWindow + interval) : Number.NaN,
    service: distribution(service.subarray(0, completed)),
    fromIntended: distribution(fromIntended.subarray(0, completed)),
    headers: distribution(headers.subarray(0, completed)),
    senderLag: distribution(senderLag.subarray(0, sent)),
    samples: {
      service: service.subarray(0, completed),
      fromIntended: fromIntended.subarray(0, completed),
      headers: headers.subarray(0, completed),
      senderLag: senderLag.subarray(0, sent),
    },
  };
}
