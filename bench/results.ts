/**
 * What a load test's raw record comes to: throughput, latency percentiles,
 * fairness ratios, errors by kind, the server's own figures (inference,
 * queue time, batch size), accuracy against the digits' labels, and the CPU
 * each side used. The lines `bench:stress` prints of it are
 * `step_lines.ts`'s.
 *
 * @example
 * ```ts
 * import { summarizeStep } from "./results.ts";
 * import type { PoolResult } from "./pool.ts";
 *
 * // `result` is what `LoadPool.run` recorded for 500 one-shot legacy clients.
 * export function okPerSecond(result: PoolResult): number {
 *   const step = summarizeStep(result, { clients: 500, requests: 1, protocol: "legacy",
 *     digits: "float", keepAlive: false, garbage: false });
 *   return step.reqPerSec; // replies with status OK per second
 * }
 * ```
 * @module
 */
import { type ThreadGroups } from "./cpu.ts";
import type { EchoFloor } from "./echo_floor.ts";
import { type DigitKind, type LoadProtocol } from "./load_plan.ts";
import { NO_REPLY } from "./load_record.ts";
import type { PoolResult } from "./pool.ts";
import { type Histogram, histogram, summarize, type Summary } from "./stats.ts";

/** The load one step put on the server. */
export interface StepLoad {
  clients: number;
  /** Requests per client asked for (the duration may cut it short). */
  requests: number;
  protocol: LoadProtocol;
  digits: DigitKind;
  keepAlive: boolean;
  garbage: boolean;
}

/** CPU time (ms) and share of one core (%) over the step. */
export interface CpuFigure {
  ms: number;
  percent: number;
}

/** One step of a run (one concurrency), summarised. */
export interface StepSummary extends StepLoad {
  /** Requests attempted. */
  attempted: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** From the start of the first request to the end of the last, as the old tool timed it. */
  elapsedMs: number;
  /** Replies with status OK per second of `elapsedMs`. */
  reqPerSec: number;
  /**
   * Replies with status OK per second while the load is steady: the middle 80% of them (from the
   * 10th to the 90th percentile of their end times), leaving out the ramp while clients connect and
   * the drain as they finish (NaN under 10 replies, or when each client sends one request: a burst
   * has no steady state).
   */
  steadyReqPerSec: number;
  /**
   * Replies with status OK in the step's first second, per second (NaN for a step under 2 s):
   * against `steadyReqPerSec`, how far a fresh server is from its warm rate at first.
   */
  firstSecondReqPerSec: number;
  /** Round-trip latency of the OK requests, ms. */
  latency: Summary;
  /** p99 / p50 and max / p50 of the latency. */
  fairness: { p99OverP50: number; maxOverP50: number };
  /** The mean `timer_ms` of the replies: the old tool's "Average server inference time" (a whole run's time). */
  serverInferenceMs: number;
  /** Mean `timer_ms / batch_size` (framed only). */
  perSampleInferenceMs: number | null;
  /** Round trip minus the reply's `timer_ms`: what the network, the server and the queue added. */
  overhead: Summary;
  /** The server's `queue_ms` (framed only). */
  queueMs: Summary | null;
  /** The server's `batch_size` (framed only). */
  batchSize: Summary | null;
  /** Predictions checked against known labels. */
  accuracy: { correct: number; known: number };
  cpu: {
    /** Each load runner's thread (NaN where unknown). */
    loadWorkers: CpuFigure[];
    /** The whole bench process: load runners, its main thread, V8 helpers. */
    benchProcess: CpuFigure;
    /** The server subprocess's threads by role, when the bench started it. */
    server: Record<keyof ThreadGroups, CpuFigure> | null;
  };
  workers: number;
  /** Latency histogram of the OK requests (40 bins). */
  histogram: Histogram;
  /** Replies (OK) finished per time bin over the step: `binMs` wide. */
  timeline: { binMs: number; counts: number[] };
  /** The best engine-alone rate at any configuration, digits/s (`--compare-inference`). */
  engineAloneBest?: number;
  /**
   * One client, on a server the bench started: the same client's round trip against an echo
   * server (no handler, no engine), p50 and p99 in ms: the loopback's floor (`echo_floor.ts`).
   */
  echoRoundTripMs?: EchoFloor;
  /** Legacy: an echo server's total for the same load plus the engine alone's time for its digits, ms. */
  legacyBaselineMs?: number;
  /**
   * The server's event loop CPU per reply in the step's first second and after it, us (a
   * server the bench started): a cold server's first second costs more per request.
   */
  eventLoopUsFirstSecond?: number;
  eventLoopUsAfterFirstSecond?: number;
}

function cpuFigure(ms: number, elapsedMs: number): CpuFigure {
  return { ms, percent: elapsedMs > 0 ? (ms / elapsedMs) * 100 : NaN };
}

/** Summarises a step's record; `serverCpuNs` is the server's CPU by role, when known. */
export function summarizeStep(
  result: PoolResult,
  load: StepLoad,
  serverCpuNs: ThreadGroups | null = null,
): StepSummary {
  const ok: number[] = [];
  const overhead: number[] = [];
  const queue: number[] = [];
  const batch: number[] = [];
  let inferenceSum = 0;
  let perSampleSum = 0;
  let correct = 0;
  let known = 0;
  let lastEnd = 0;
  let firstStart = Infinity;
  for (let i = 0; i < result.count; i++) {
    firstStart = Math.min(firstStart, result.startMs[i]);
    lastEnd = Math.max(lastEnd, result.startMs[i] + result.latencyMs[i]);
    if (result.status[i] !== 0) continue;
    const latency = result.latencyMs[i];
    ok.push(latency);
    overhead.push(latency - result.inferenceMs[i]);
    inferenceSum += result.inferenceMs[i];
    if (result.batchSize[i] > 0) {
      batch.push(result.batchSize[i]);
      queue.push(result.queueMs[i]);
      perSampleSum += result.inferenceMs[i] / result.batchSize[i];
    }
    if (result.correct[i] >= 0) {
      known++;
      correct += result.correct[i];
    }
  }
  const elapsedMs = result.count > 0 ? lastEnd - Math.min(firstStart, 0) : result.elapsedMs;
  const ends = new Float64Array(ok.length);
  const latency = summarize(ok);
  const failed = result.count - ok.length;
  const bins = 50;
  const binMs = Math.max(elapsedMs / bins, 1e-3);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0, k = 0; i < result.count; i++) {
    if (result.status[i] !== 0) continue;
    const end = result.startMs[i] + result.latencyMs[i];
    ends[k++] = end;
    counts[Math.max(0, Math.min(bins - 1, Math.floor(end / binMs)))]++;
  }
  return {
    ...load,
    attempted: result.count,
    ok: ok.length,
    failed,
    errors: result.errors,
    elapsedMs,
    reqPerSec: elapsedMs > 0 ? (ok.length / elapsedMs) * 1000 : NaN,
    steadyReqPerSec: load.requests > 1 ? steadyRate(ends) : NaN,
    firstSecondReqPerSec: elapsedMs >= 2000 ? ends.filter((end) => end <= 1000).length : NaN,
    latency,
    fairness: { p99OverP50: latency.p99 / latency.p50, maxOverP50: latency.max / latency.p50 },
    serverInferenceMs: ok.length ? inferenceSum / ok.length : NaN,
    perSampleInferenceMs: batch.length ? perSampleSum / batch.length : null,
    overhead: summarize(overhead),
    queueMs: queue.length ? summarize(queue) : null,
    batchSize: batch.length ? summarize(batch) : null,
    accuracy: { correct, known },
    cpu: {
      loadWorkers: result.workerCpuMs.map((ms) => cpuFigure(ms, elapsedMs)),
      benchProcess: cpuFigure(result.processCpuMs, elapsedMs),
      server: serverCpuNs
        ? {
          main: cpuFigure(serverCpuNs.main / 1e6, elapsedMs),
          workers: cpuFigure(serverCpuNs.workers / 1e6, elapsedMs),
          listeners: cpuFigure(serverCpuNs.listeners / 1e6, elapsedMs),
          v8: cpuFigure(serverCpuNs.v8 / 1e6, elapsedMs),
          other: cpuFigure(serverCpuNs.other / 1e6, elapsedMs),
        }
        : null,
    },
    workers: result.workers,
    histogram: histogram(ok, 40),
    timeline: { binMs, counts },
  };
}

/** Replies per second between the 10th and 90th percentile of `ends` (ms), sorted here. */
function steadyRate(ends: Float64Array): number {
  if (ends.length < 10) return NaN;
  ends.sort();
  const first = Math.floor(ends.length * 0.1);
  const last = Math.ceil(ends.length * 0.9) - 1;
  const spanMs = ends[last] - ends[first];
  return spanMs > 0 ? ((last - first) / spanMs) * 1000 : NaN;
}

/** `NO_REPLY` is -1; a status name otherwise. Re-exported for readers of the JSON. */
export { NO_REPLY };

/** CPU time of the server's event loop (main thread) per answered request, in microseconds. */
export function eventLoopUsPerRequest(step: StepSummary): number {
  const main = step.cpu.server?.main;
  if (!main || step.ok === 0) return NaN;
  return (main.percent / 100) * step.elapsedMs * 1000 / step.ok;
}
