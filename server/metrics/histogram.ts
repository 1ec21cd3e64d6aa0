/**
 * A Prometheus histogram counted in plain numbers: `observe` finds the
 * value's bucket and adds to a typed array, and the registry reads the
 * series when `/metrics` is scraped, in the text prom-client's own
 * `Histogram` writes. Every request observes its latency: prom-client's
 * `observe` hashes and validates its labels on each call, which costs more
 * than the rest of a request's metrics together.
 *
 * @example
 * ```ts
 * import { CountedHistogram } from "./histogram.ts";
 * import { Registry } from "prom-client";
 *
 * const registry = new Registry();
 * const latency = new CountedHistogram({
 *   name: "latency_seconds",
 *   help: "Latency",
 *   buckets: [0.001, 0.01, 0.1],
 *   labelName: "protocol",
 *   registers: [registry],
 * });
 * latency.labels("framed").observe(0.004);
 * console.log(await registry.metrics()); // ... latency_seconds_bucket{le="0.01",protocol="framed"} 1 ...
 * ```
 * @module
 */
import type { Registry } from "prom-client";

/** One label value's series: a count per bucket (the last: over every bound), the sum, the count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts one value (a bucket holds values up to and including its bound). */
  observe(value: number): void {
    const bounds = this.#bounds;
    let b = 0;
    while (b < bounds.length && value > bounds[b]) b++;
    this.counts[b]++;
    this.sum += value;
    this.count++;
  }
}

/** What the registry reads of a metric (prom-client's own metrics give the same). */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** A histogram with at most one label, registered in prom-client registries. */
export class CountedHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  #bounds: readonly number[];
  #labelName: string | null;
  /** Series by label value, in the order first observed (as prom-client lists them). */
  #series = new Map<string, HistogramSeries>();

  constructor(
    options: {
      name: string;
      help: string;
      buckets: readonly number[];
      /** The one label's name; without it, one series with no label. */
      labelName?: string;
      registers: Registry[];
    },
  ) {
    this.name = options.name;
    this.help = options.help;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    this.#labelName = options.labelName ?? null;
    // An unlabelled series exists, at 0, from the first scrape (as prom-client's).
    if (!this.#labelName) this.labels();
    for (const registry of options.registers) {
      registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
    }
  }

  /** The series of a label value (look it up once and keep it: `observe` on it is the cheap path). */
  labels(value = ""): HistogramSeries {
    let series = this.#series.get(value);
    if (!series) {
      series = new HistogramSeries(this.#bounds);
      this.#series.set(value, series);
    }
    return series;
  }

  /** Counts one value of the unlabelled series. */
  observe(value: number): void {
    this.labels().observe(value);
  }

  /** The series as the registry formats them: cumulative buckets, `+Inf`, sum and count. */
  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [labelValue, series] of this.#series) {
      const own: Record<string, string> = this.#labelName ? { [this.#labelName]: labelValue } : {};
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += series.counts[i];
        values.push({ labels: { le, ...own }, value: acc, metricName: bucket });
      });
      values.push({ labels: { le: "+Inf", ...own }, value: series.count, metricName: bucket });
      values.push({ labels: own, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: own, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }
}
