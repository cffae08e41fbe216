/**
 * Prometheus metrics (README "Running it"): requests and latency per route and status, upstream calls per
 * provider and outcome, managed files created/deleted, bytes uploaded. One registry per process.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'unifile_' });

const httpRequests = new Counter({
  name: 'unifile_http_requests_total',
  help: 'HTTP requests answered, by method, route and status.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});
const httpDuration = new Histogram({
  name: 'unifile_http_request_duration_seconds',
  help: 'HTTP request latency, by method, route and status.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [metricsRegistry],
});
const upstreamCalls = new Counter({
  name: 'unifile_upstream_calls_total',
  help: 'Calls to providers, by provider, operation and outcome (HTTP status class or network_error).',
  labelNames: ['provider', 'operation', 'outcome'] as const,
  registers: [metricsRegistry],
});
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
  const labels = { method: input.method, route: input.route, status: String(input.status) };
  httpRequests.inc(labels);
  httpDuration.observe(labels, input.seconds);
}

export function recordUpstreamCall(provider: string, operation: string, status: number | string): void {
  const outcome = typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
  upstreamCalls.inc({ provider, operation, outcome });
}

export function recordManagedFile(event: 'created' | 'deleted'): void {
  managedFiles.inc({ event });
}

export function recordBytesUploaded(bytes: number): void {
  bytesUploaded.inc(bytes);
}
