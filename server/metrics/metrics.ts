/**
 * The server's Prometheus registry (npm `prom-client`), exposed at
 * `GET /metrics`. Where a figure means what one of NVIDIA Triton's does, it
 * has Triton's name and meaning, so dashboards made for Triton work:
 *
 * - `nv_inference_request_success` / `nv_inference_request_failure{reason}`:
 *   inference requests (an HTTP request of N digits is one request);
 *   reasons are Triton's (`REJECTED` a full queue, `BACKEND` the engine
 *   failed, `CANCELED`, `OTHER` bad input);
 * - `nv_inference_count`: digits inferred; `nv_inference_exec_count`: engine runs;
 * - `nv_inference_{request,queue,compute_infer}_duration_us`: cumulative µs.
 *
 * Our own series are `mnist_*`. No label carries a per-device value: fleets
 * are large, and per-device figures live on the dashboard.
 *
 * @example
 * ```ts
 * import { ServerMetrics } from "./metrics.ts";
 *
 * const metrics = new ServerMetrics({ model: "mnist", version: "1" });
 * metrics.observeRun(8, 0.4);
 * console.log(await metrics.expose());
 * ```
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { Status, statusName } from "../../shared/errors.ts";

/** How a request reached the server. */
export type Protocol = "legacy" | "framed" | "http";

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
  bytesIn: number;
  bytesOut: number;
}

/** Live values read at scrape time. */
export interface MetricSources {
  /** Digits waiting for a run. */
  queueDepth?: () => number;
  /** Engine workers replaced since start. */
  engineRestarts?: () => number;
  /** Open connections by protocol. */
  connections?: () => Record<string, number>;
  /** Readiness, as `GET /v2/health/ready` answers it. */
  ready?: () => boolean;
}

/** Triton's failure reason for a wire status. */
export function failureReason(status: number): "REJECTED" | "BACKEND" | "OTHER" {
  if (status === Status.SERVER_BUSY) return "REJECTED";
  if (status === Status.INTERNAL_ERROR) return "BACKEND";
  return "OTHER";
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
  #model: { model: string; version: string };
  #success: Counter<"model" | "version">;
  #failure: Counter<"model" | "version" | "reason">;
  #count: Counter<"model" | "version">;
  #exec: Counter<"model" | "version">;
  #requestUs: Counter<"model" | "version">;
  #queueUs: Counter<"model" | "version">;
  #computeUs: Counter<"model" | "version">;
  #requests: Counter<"protocol" | "status">;
  #bytesIn: Counter<"protocol">;
  #bytesOut: Counter<"protocol">;
  #latency: Histogram<"protocol">;
  #queueTime: Histogram;
  #batch: Histogram;
  #loadFailures: Counter<"model" | "reason">;
  #cache = new Map<string, {
    requests: { inc(n?: number): void };
    bytesIn: { inc(n?: number): void };
    bytesOut: { inc(n?: number): void };
    latency: { observe(v: number): void };
  }>();
  #byModel: Record<
    "success" | "count" | "exec" | "requestUs" | "queueUs" | "computeUs",
    { inc(n?: number): void }
  >;

  constructor(model: { model: string; version: string }, sources: MetricSources = {}) {
    this.#model = model;
    this.contentType = this.registry.contentType;
    const registers = [this.registry];
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
      "Number of failed inference requests, all batch sizes (reason: REJECTED, CANCELED, BACKEND, OTHER)",
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
    this.#requests = counter(
      "mnist_requests_total",
      "Requests answered, by protocol (legacy, framed, http) and wire status (OK, SERVER_BUSY, ...)",
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
    this.#latency = new Histogram({
      name: "mnist_request_duration_seconds",
      help: "Inference request latency in the server, arrival to reply, by protocol",
      labelNames: ["protocol"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#queueTime = new Histogram({
      name: "mnist_queue_duration_seconds",
      help: "Time a digit waited in the queue before its run",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#batch = new Histogram({
      name: "mnist_batch_size",
      help: "Digits per engine run",
      buckets: BATCH_BUCKETS,
      registers,
    });
    new Gauge({
      name: "mnist_queue_depth",
      help: "Digits waiting for an engine run",
      registers,
      collect() {
        this.set(sources.queueDepth?.() ?? 0);
      },
    });
    new Gauge({
      name: "mnist_connections_open",
      help: "Open client connections on the board port, by protocol",
      labelNames: ["protocol"] as const,
      registers,
      collect() {
        this.reset();
        for (const [protocol, n] of Object.entries(sources.connections?.() ?? {})) {
          this.set({ protocol }, n);
        }
      },
    });
    new Gauge({
      name: "mnist_ready",
      help: "1 while GET /v2/health/ready answers 200",
      registers,
      collect() {
        this.set(sources.ready?.() ? 1 : 0);
      },
    });
    let restartsSeen = 0;
    new Counter({
      name: "mnist_engine_restarts_total",
      help: "Engine workers replaced (a hung or failed run)",
      registers,
      collect() {
        const now = sources.engineRestarts?.() ?? 0;
        if (now > restartsSeen) this.inc(now - restartsSeen);
        restartsSeen = now;
      },
    });
    this.#loadFailures = new Counter({
      name: "mnist_model_load_failures_total",
      help:
        "Model versions refused (reason: no_model_file, unreadable, empty, metadata, checksum, " +
        "corrupt, shape, warmup)",
      labelNames: ["model", "reason"] as const,
      registers,
    });
    this.#byModel = this.#label(model);
  }

  /** The model version the Triton series are labelled with now (a swap changes it). */
  setModel(model: { model: string; version: string }): void {
    this.#byModel = this.#label(model);
  }

  /** Counts a refused model version. */
  loadFailure(model: string, reason: string): void {
    this.#loadFailures.inc({ model, reason });
  }

  #label(model: { model: string; version: string }) {
    this.#model = model;
    // Series with labels appear only once incremented; start the ones a
    // dashboard expects at 0 so rates work from the first scrape.
    for (
      const c of [
        this.#success,
        this.#count,
        this.#exec,
        this.#requestUs,
        this.#queueUs,
        this.#computeUs,
      ]
    ) c.inc(model, 0);
    const mv = [model.model, model.version];
    return {
      success: this.#success.labels(...mv),
      count: this.#count.labels(...mv),
      exec: this.#exec.labels(...mv),
      requestUs: this.#requestUs.labels(...mv),
      queueUs: this.#queueUs.labels(...mv),
      computeUs: this.#computeUs.labels(...mv),
    };
  }

  /** Records one finished request. */
  observeRequest(r: RequestFigures): void {
    const c = this.#children(r.protocol, r.status);
    c.requests.inc();
    if (r.bytesIn > 0) c.bytesIn.inc(r.bytesIn);
    if (r.bytesOut > 0) c.bytesOut.inc(r.bytesOut);
    if (!r.inference) return;
    const m = this.#byModel;
    if (r.status === Status.OK) {
      m.success.inc();
      m.count.inc(r.digits);
      m.queueUs.inc(Math.round(r.queueMs * 1000));
      m.computeUs.inc(Math.round(r.computeMs * 1000));
      // Durations are of successful requests, as Triton's: duration / success is the mean.
      m.requestUs.inc(Math.round(r.durationMs * 1000));
      this.#queueTime.observe(r.queueMs / 1000);
    } else {
      this.#failure.inc({ ...this.#model, reason: failureReason(r.status) });
    }
    c.latency.observe(r.durationMs / 1000);
  }

  /**
   * The labelled series of a protocol and status, looked up once: prom-client
   * hashes a label object on every call, which costs more than the count.
   */
  #children(protocol: Protocol, status: number) {
    const key = `${protocol} ${status}`;
    let c = this.#cache.get(key);
    if (!c) {
      c = {
        requests: this.#requests.labels(protocol, statusName(status)),
        bytesIn: this.#bytesIn.labels(protocol),
        bytesOut: this.#bytesOut.labels(protocol),
        latency: this.#latency.labels(protocol),
      };
      this.#cache.set(key, c);
    }
    return c;
  }

  /** Records one engine run of `batchSize` digits. */
  observeRun(batchSize: number, _runMs: number): void {
    this.#byModel.exec.inc();
    this.#batch.observe(batchSize);
  }

  /** The exposition text. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }
}
