import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry, type Metric } from 'prom-client';
import { KeyedCounter, KeyedHistogram } from './keyed-metrics.ts';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The same observations into prom-client's Counter and Histogram and into the keyed ones. */
function registries() {
  const theirs = new Registry();
  const counter = new Counter({ name: 'x_requests_total', help: 'Requests, "quoted" \\ and\nnew line.', labelNames: ['method', 'route', 'status'] as const, registers: [theirs] });
  const histogram = new Histogram({ name: 'x_seconds', help: 'Latency.', labelNames: ['method', 'route', 'status'] as const, buckets: BUCKETS, registers: [theirs] });
  const ours = new Registry();
  const keyedCounter = new KeyedCounter('x_requests_total', 'Requests, "quoted" \\ and\nnew line.');
  const keyedHistogram = new KeyedHistogram('x_seconds', 'Latency.', BUCKETS);
  ours.registerMetric(keyedCounter as unknown as Metric);
  ours.registerMetric(keyedHistogram as unknown as Metric);
  const record = (method: string, route: string, status: number, seconds: number) => {
    const labels = { method, route, status: String(status) };
    counter.inc(labels);
    histogram.observe(labels, seconds);
    const key = `${method} ${route} ${status}`;
    keyedCounter.inc(key, () => ({ method, route, status: String(status) }));
    keyedHistogram.observe(key, () => ({ method, route, status: String(status) }), seconds);
  };
  return { theirs, ours, record, counter, histogram, keyedCounter, keyedHistogram };
}

test('the keyed counter and histogram render the text prom-client renders', async () => {
  const { theirs, ours, record } = registries();
  assert.equal(await ours.metrics(), await theirs.metrics(), 'no series yet');
  // Series in a mixed order, values on bucket bounds, below the first and above the last,
  // sums of fractions that round, label values that need escaping.
  const values = [0.0004, 0.001, 0.0011, 0.1, 0.30000000000000004, 1e-9, 59.9, 60, 61, 1234.5, 0.2, 0.1];
  values.forEach((seconds, index) => {
    record('POST', '/v1/chat/completions', index % 3 === 0 ? 400 : 200, seconds);
    record('GET', '/v1/files/:fileId', 200, seconds / 7);
    if (index % 4 === 0) record('GET', 'a "quoted" \\ route\nx', 404, seconds * 3);
  });
  const text = await theirs.metrics();
  assert.match(text, /x_seconds_bucket\{le="0.001",method="POST",route="\/v1\/chat\/completions",status="400"\} 1/);
  assert.equal(await ours.metrics(), text);
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
});

test('reset empties the keyed series as it does prom-client’s', async () => {
  const { theirs, ours, record, counter, histogram, keyedCounter, keyedHistogram } = registries();
  record('POST', '/chat/completions', 200, 0.01);
  counter.reset();
  histogram.reset();
  keyedCounter.reset();
  keyedHistogram.reset();
  record('GET', '/metrics', 200, 0.02);
  assert.equal(await ours.metrics(), await theirs.metrics());
});
