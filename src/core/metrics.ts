/**
 * Prometheus metrics (README "Running it"): requests and latency per route and status, upstream calls per
 * provider and outcome, managed files created/deleted, bytes uploaded. One registry per process.
 */
import { Counter, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { KeyedCounter, KeyedHistogram } from './keyed-metrics.ts';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'unifile_' });

// The per-request series (every chat completion records three): keyed-metrics.ts, same text as prom-client's.
const httpRequests = new KeyedCounter('unifile_http_requests_total', 'HTTP requests answered, by method, route and status.');
const httpDuration = new KeyedHistogram('unifile_http_request_duration_seconds', 'HTTP request latency, by method, route and status.', [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);
const upstreamCalls = new KeyedCounter('unifile_upstream_calls_total', 'Calls to providers, by provider, operation and outcome (HTTP status class or network_error).');
// Registered where prom-client's were (the order of /metrics: default metrics, then these).
metricsRegistry.registerMetric(httpRequests as unknown as Metric);
metricsRegistry.registerMetric(httpDuration as unknown as Metric);
metricsRegistry.registerMetric(upstreamCalls as unknown as Metric);
const managedFiles = new Counter({
  name: 'unifile_managed_files_total',
  help: 'Managed files created and deleted.',
  labelNames: ['event'] as const,
  registers: [metricsRegistry],
});
const bytesUploaded = new Counter({
  name: 'unifile_uploaded_bytes_total',
  help: 'File bytes received from clients.',
  registers: [metricsRegistry],
});

export function recordRequest(input: { method: string; route: string; status: number; seconds: number }): void {
  const key = `${input.method} ${input.route} ${input.status}`;
  const labels = () => ({ method: input.method, route: input.route, status: String(input.status) });
  httpRequests.inc(key, labels);
  httpDuration.observe(key, labels, input.seconds);
}

export function recordUpstreamCall(provider: string, operation: string, status: number | string): void {
  const outcome = typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
  upstreamCalls.inc(`${provider} ${operation} ${outcome}`, () => ({ provider, operation, outcome }));
}

export function recordManagedFile(event: 'created' | 'deleted'): void {
  managedFiles.inc({ event });
}

export function recordBytesUploaded(bytes: number): void {
  bytesUploaded.inc(bytes);
}
