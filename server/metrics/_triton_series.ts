/**
 * Triton's series of each model version (`nv_inference_*`, with Triton's
 * names and meanings: see `metrics.ts`), each version's children looked up
 * once and counted in plain numbers (`Tally`) that `ServerMetrics` hands to
 * prom-client when scraped.
 *
 * @module
 */
import { Counter, type Registry } from "prom-client";
import { Status } from "../../shared/errors.ts";
import type { Tally } from "./tally.ts";

/** The Triton series of one model version. */
export interface ModelSeries {
  labels: { model: string; version: string };
  success: { inc(n?: number): void };
  count: { inc(n?: number): void };
  exec: { inc(n?: number): void };
  requestUs: { inc(n?: number): void };
  queueUs: { inc(n?: number): void };
  computeUs: { inc(n?: number): void };
}

/** Triton's failure reason for a wire status. */
export function failureReason(status: number): "REJECTED" | "BACKEND" | "OTHER" {
  if (status === Status.SERVER_BUSY) return "REJECTED";
  if (status === Status.INTERNAL_ERROR) return "BACKEND";
  return "OTHER";
}

/** Triton's counters, by model and version. */
export class TritonSeries {
  #success: Counter<"model" | "version">;
  #failure: Counter<"model" | "version" | "reason">;
  #count: Counter<"model" | "version">;
  #exec: Counter<"model" | "version">;
  #requestUs: Counter<"model" | "version">;
  #queueUs: Counter<"model" | "version">;
  #computeUs: Counter<"model" | "version">;
  /** By model, then version. */
  #byModel = new Map<string, Map<number, ModelSeries>>();
  /** Counts a counter's child in a plain number, flushed when scraped. */
  #tally: (child: { inc(n?: number): void }) => Tally;

  constructor(
    registers: Registry[],
    tally: (child: { inc(n?: number): void }) => Tally,
  ) {
    this.#tally = tally;
    const labelNames = ["model", "version"] as const;
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.#success = counter(
      "nv_inference_request_success",
      "Number of successful inference requests, all batch sizes",
      labelNames,
    );
    this.#failure = counter(
      "nv_inference_request_failure",
      "Number of failed inference requests, all batch sizes (reason: REJECTED, a full queue; BACKEND, the engine failed; OTHER, any other refusal)",
      [...labelNames, "reason"] as const,
    );
    this.#count = counter(
      "nv_inference_count",
      "Number of inferences performed (digits; a request of N digits counts N)",
      labelNames,
    );
    this.#exec = counter(
      "nv_inference_exec_count",
      "Number of model executions performed (engine runs; one run infers a batch)",
      labelNames,
    );
    this.#requestUs = counter(
      "nv_inference_request_duration_us",
      "Cumulative inference request duration in microseconds (arrival to reply)",
      labelNames,
    );
    this.#queueUs = counter(
      "nv_inference_queue_duration_us",
      "Cumulative inference queuing duration in microseconds",
      labelNames,
    );
    this.#computeUs = counter(
      "nv_inference_compute_infer_duration_us",
      "Cumulative compute inference duration in microseconds",
      labelNames,
    );
  }

  /** The Triton series of one model version, looked up once. */
  of(model: string, version: number): ModelSeries {
    let versions = this.#byModel.get(model);
    if (!versions) this.#byModel.set(model, versions = new Map());
    let series = versions.get(version);
    if (series) return series;
    const mv = [model, String(version)];
    const counters = [
      this.#success,
      this.#count,
      this.#exec,
      this.#requestUs,
      this.#queueUs,
      this.#computeUs,
    ].map((c) => {
      const child = c.labels(...mv);
      child.inc(0); // the series exists, at 0, from the first scrape
      return this.#tally(child);
    });
    const [success, count, exec, requestUs, queueUs, computeUs] = counters;
    series = {
      labels: { model, version: String(version) },
      success,
      count,
      exec,
      requestUs,
      queueUs,
      computeUs,
    };
    versions.set(version, series);
    return series;
  }

  /** Counts a failed request of a model version, under Triton's reason for its status. */
  failed(series: ModelSeries, status: number): void {
    this.#failure.inc({ ...series.labels, reason: failureReason(status) });
  }
}
