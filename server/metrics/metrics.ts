/**
 * The server's Prometheus registry (npm `prom-client`), exposed at
 * `GET /metrics`. Where a figure means what one of NVIDIA Triton's does, it
 * has Triton's name and meaning, so dashboards made for Triton work:
 *
 * - `nv_inference_request_success` / `nv_inference_request_failure{reason}`:
 *   inference requests (an HTTP request of N digits is one request);
 *   reasons are Triton's (`REJECTED` a full queue, `BACKEND` the engine
 *   failed, `OTHER` bad input or any other refusal; Triton's `CANCELED` is
 *   not used);
 * - `nv_inference_count`: digits inferred; `nv_inference_exec_count`: engine runs;
 * - `nv_inference_{request,queue,compute_infer}_duration_us`: cumulative µs.
 *
 * Our own series are `mnist_*`. No label carries a per-device value: fleets
 * are large, and per-device figures live on the dashboard. The series read
 * from the running server when scraped are `sources.ts`'s; the Triton series
 * of each model version are `_triton_series.ts`'s.
 *
 * @example
 * ```ts
 * import { ServerMetrics } from "./metrics.ts";
 *
 * const metrics = new ServerMetrics({ model: "mnist", version: "1" });
 * metrics.observeRun("mnist", 1, 8);
 * console.log(await metrics.expose());
 * ```
 * @module
 */
import { Counter, Registry } from "prom-client";
import { Status, statusName } from "../../shared/errors.ts";
import { type MetricSources, registerSourceMetrics } from "./sources.ts";
import { Tally } from "./tally.ts";
import { CountedHistogram, type HistogramSeries } from "./histogram.ts";
import { TritonSeries } from "./_triton_series.ts";

import type { Protocol } from "../core/request.ts";

/** One finished request, as metrics see it. */
export interface RequestFigures {
  protocol: Protocol;
  /** An inference was asked for (not stats, metadata or a page). */
  inference: boolean;
  /** `Status` of the reply (0 = OK). */
  status: number;
  /** Digits inferred (0 when it failed). */
  digits: number;
  /** From the request's arrival to its reply, in ms. */
  durationMs: number;
  /** Time its digits waited for a run, in ms (0 without inference). */
  queueMs: number;
  /** Time of the run(s) its digits were in, in ms. */
  computeMs: number;
  /** The model that did the work, or would have ("" when the request reached none). */
  model: string;
  /** The version that answered, or served when it was refused; null when none. */
  version: number | null;
  bytesIn: number;
  bytesOut: number;
}

/** The series a request of one protocol and status counts in. */
interface ProtocolSeries {
  requests: { inc(n?: number): void };
  bytesIn: { inc(n?: number): void };
  bytesOut: { inc(n?: number): void };
  latency: HistogramSeries;
}

const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.002,
  0.005,
  0.01,
  0.02,
  0.05,
  0.1,
  0.2,
  0.5,
  1,
  2,
  5,
];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** The registry and every series the server exposes. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly contentType: string;
  /** Triton's series, by model version. */
  #triton: TritonSeries;
  #requests: Counter<"protocol" | "status">;
  #bytesIn: Counter<"protocol">;
  #bytesOut: Counter<"protocol">;
  #latency: CountedHistogram;
  #queueTime: HistogramSeries;
  #batch: HistogramSeries;
  #loadFailures: Counter<"model" | "reason">;
  /** By protocol, then status: no key is made per request. */
  #cache = new Map<Protocol, ProtocolSeries[]>();
  /** Every counter counted per request: flushed into prom-client by `expose()`. */
  #tallies: Tally[] = [];

  /** `model`: a version served from the start, whose series start at 0. */
  constructor(model: { model: string; version: string } | null, sources: MetricSources = {}) {
    this.contentType = this.registry.contentType;
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.#triton = new TritonSeries(registers, (child) => this.#tally(child));
    this.#requests = counter(
      "mnist_requests_total",
      "Requests answered, by protocol (legacy, framed, http, mqtt) and wire status (OK, SERVER_BUSY, ...)",
      ["protocol", "status"] as const,
    );
    this.#bytesIn = counter(
      "mnist_received_bytes_total",
      "Request bytes received, by protocol",
      ["protocol"] as const,
    );
    this.#bytesOut = counter(
      "mnist_sent_bytes_total",
      "Reply bytes sent, by protocol",
      ["protocol"] as const,
    );
    // Observed per request and per run: counted in plain numbers, read when scraped.
    this.#latency = new CountedHistogram({
      name: "mnist_request_duration_seconds",
      help: "Inference request latency in the server, arrival to reply, by protocol",
      labelName: "protocol",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#queueTime = new CountedHistogram({
      name: "mnist_queue_duration_seconds",
      help: "Time a digit waited in the queue before its run",
      buckets: LATENCY_BUCKETS,
      registers,
    }).labels();
    this.#batch = new CountedHistogram({
      name: "mnist_batch_size",
      help: "Digits per engine run",
      buckets: BATCH_BUCKETS,
      registers,
    }).labels();
    registerSourceMetrics(this.registry, sources);
    this.#loadFailures = new Counter({
      name: "mnist_model_load_failures_total",
      help:
        "Model versions refused (reason: no_model_file, unreadable, empty, metadata, checksum, " +
        "corrupt, shape, warmup)",
      labelNames: ["model", "reason"] as const,
      registers,
    });
    if (model) this.modelServed(model.model, Number(model.version));
  }

  /**
   * A model version starts serving: its Triton series start at 0, so rates
   * work from the first scrape (series with labels appear only once
   * incremented).
   */
  modelServed(model: string, version: number): void {
    this.#triton.of(model, version);
  }

  /** Counts a refused model version. */
  loadFailure(model: string, reason: string): void {
    this.#loadFailures.inc({ model, reason });
  }

  /** Records one finished request. */
  observeRequest(r: RequestFigures): void {
    const c = this.#children(r.protocol, r.status);
    c.requests.inc();
    if (r.bytesIn > 0) c.bytesIn.inc(r.bytesIn);
    if (r.bytesOut > 0) c.bytesOut.inc(r.bytesOut);
    if (r.inference) c.latency.observe(r.durationMs / 1000);
    if (!r.inference || r.model === "" || r.version === null) return;
    const m = this.#triton.of(r.model, r.version);
    if (r.status === Status.OK) {
      m.success.inc();
      m.count.inc(r.digits);
      m.queueUs.inc(Math.round(r.queueMs * 1000));
      m.computeUs.inc(Math.round(r.computeMs * 1000));
      // Durations are of successful requests, as Triton's: duration / success is the mean.
      m.requestUs.inc(Math.round(r.durationMs * 1000));
      this.#queueTime.observe(r.queueMs / 1000);
    } else {
      this.#triton.failed(m, r.status);
    }
  }

  /**
   * The labelled series of a protocol and status, looked up once: prom-client
   * hashes a label object on every call, which costs more than the count.
   */
  #children(protocol: Protocol, status: number) {
    let byStatus = this.#cache.get(protocol);
    if (!byStatus) this.#cache.set(protocol, byStatus = []);
    let c = byStatus[status];
    if (!c) {
      c = {
        requests: this.#tally(this.#requests.labels(protocol, statusName(status))),
        bytesIn: this.#tally(this.#bytesIn.labels(protocol)),
        bytesOut: this.#tally(this.#bytesOut.labels(protocol)),
        latency: this.#latency.labels(protocol),
      };
      byStatus[status] = c;
    }
    return c;
  }

  /** Records one engine run of `batchSize` digits by a model version. */
  observeRun(model: string, version: number, batchSize: number): void {
    this.#triton.of(model, version).exec.inc();
    this.#batch.observe(batchSize);
  }

  /** The exposition text. */
  expose(): Promise<string> {
    for (const tally of this.#tallies) tally.flush();
    return this.registry.metrics();
  }

  /** A counter's child counted in a plain number, handed to prom-client when scraped. */
  #tally(child: { inc(n?: number): void }): Tally {
    const tally = new Tally(child);
    this.#tallies.push(tally);
    return tally;
  }
}
