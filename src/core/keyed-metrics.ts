/**
 * A counter and a histogram for the per-request metrics, rendered by prom-client's Registry as
 * its own Counter and Histogram are (https://github.com/siimon/prom-client: a registered metric is
 * any object with `name`, `help`, `type`, `aggregator` and `get()`; the registry formats what
 * `getForPromString()`/`get()` return). prom-client's own metrics hash and validate the label object
 * on every call; these find a series by a key the caller builds from the label values (one string,
 * one Map lookup), and make the label object only for a new series. Series are kept in the order
 * they first appeared, values summed in the order they came: the text is prom-client's, byte for
 * byte (keyed-metrics.test.ts compares both).
 */

type Labels = Record<string, string>;

interface ValuePair {
  labels: Labels;
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
  exemplar?: null | undefined;
}

interface MetricData {
  name: string;
  help: string;
  type: string;
  values: ValuePair[];
  aggregator: string;
}

export class KeyedCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Adds `by` to the series `key`; `labels` makes its label object the first time. */
  inc(key: string, labels: () => Labels, by = 1): void {
    const found = this.series.get(key);
    if (found) found.value += by;
    else this.series.set(key, { labels: labels(), value: by });
  }

  get(): MetricData {
    const values = [...this.series.values()].map(({ labels, value }) => ({ value, labels }));
    return { help: this.help, name: this.name, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series = new Map();
  }
}

interface HistogramSeries {
  labels: Labels;
  /** Observations per bucket (not cumulative), by the index of its upper bound. */
  buckets: number[];
  sum: number;
  count: number;
}

export class KeyedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending (prom-client's `buckets`). */
    private readonly bounds: readonly number[],
  ) {}

  observe(key: string, labels: () => Labels, value: number): void {
    let found = this.series.get(key);
    if (!found) {
      found = { labels: labels(), buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, found);
    }
    const bounds = this.bounds;
    for (let index = 0; index < bounds.length; index += 1) {
      if (value <= bounds[index]!) {
        found.buckets[index]! += 1;
        break;
      }
    }
    found.sum += value;
    found.count += 1;
  }

  /** What prom-client's Histogram hands the registry: le first, the series' labels after it. */
  getForPromString(): MetricData {
    const values: ValuePair[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += series.buckets[index]!;
        values.push({ labels: { le: bound as unknown as string }, sharedLabels: series.labels, value: cumulative, metricName: bucketName, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucketName, exemplar: null });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The same values with the series' labels after `le` in one object (prom-client's `get()`). */
  get(): MetricData {
    const data = this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }

  reset(): void {
    this.series = new Map();
  }
}
