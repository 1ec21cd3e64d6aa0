/**
 * Made-up records for the bench tests: a `PoolResult` with chosen latencies
 * and statuses, and a `StressReport` of a small sweep. Private to `bench/`.
 *
 * @example
 * ```ts
 * import { fakeReport } from "./_fixtures.ts";
 *
 * console.log(fakeReport().steps.length); // 3
 * ```
 * @module
 */
import type { PoolResult } from "./pool.ts";
import type { StressReport } from "./report.ts";
import { summarizeStep } from "./results.ts";

/** A record of `latencies.length` requests, one every ms; `status[i]` defaults to OK. */
export function fakeResult(
  latencies: number[],
  options: { status?: number[]; batch?: number; errors?: Record<string, number> } = {},
): PoolResult {
  const n = latencies.length;
  return {
    count: n,
    latencyMs: Float64Array.from(latencies),
    startMs: Float64Array.from(latencies, (_, i) => i),
    status: Int16Array.from(latencies, (_, i) => options.status?.[i] ?? 0),
    inferenceMs: Float32Array.from(latencies, () => 0.25),
    queueMs: Float32Array.from(latencies, (l) => (options.batch ? l / 2 : NaN)),
    batchSize: Uint16Array.from(latencies, () => options.batch ?? 0),
    correct: Int8Array.from(latencies, (_, i) => (i % 10 === 0 ? 0 : 1)),
    errors: options.errors ?? {},
    originMs: 0,
    elapsedMs: n + 1,
    workerCpuMs: [12.5],
    processCpuMs: 20,
    workers: 1,
  };
}

/** A sweep of 1, 10 and 100 framed keep-alive clients, with one error kind. */
export function fakeReport(): StressReport {
  const steps = [1, 10, 100].map((clients) =>
    summarizeStep(
      fakeResult(Array.from({ length: 200 }, (_, i) => clients * 0.1 + (i % 20) * 0.05), {
        batch: Math.min(clients, 128),
        status: clients === 100 ? [5] : [],
        errors: clients === 100 ? { SERVER_BUSY: 1 } : {},
      }),
      {
        clients,
        requests: 200 / clients,
        protocol: "framed",
        digits: "u8",
        keepAlive: true,
        garbage: false,
      },
      { main: 5e7, workers: 9e7, listeners: 0, v8: 1e6, other: 0 },
    )
  );
  return {
    date: "2025-01-01T00:00:00.000Z",
    command: 'deno task bench:stress --sweep 1,10,100 <&> "quoted"',
    environment: {
      deno: "2.9.6",
      v8: "15.0",
      typescript: "6.0",
      os: "linux x86_64",
      cpus: 2,
      cpuModel: "AMD EPYC",
    },
    server: { describe: "listening on 127.0.0.1:1234", spawned: true, threads: 1, maxBatch: 128 },
    inference: {
      model: "models/mnist/1/model.onnx",
      runtime: "onnxruntime-web 1.30.0",
      runs: 10,
      loads: [{ via: "engine", threads: 1, ms: 250 }],
      cells: [{
        via: "engine",
        threads: 1,
        instances: 1,
        batch: 128,
        runs: 10,
        msPerInference: 0.22,
        msPerRun: 29,
        p50RunMs: 29,
        samplesPerSec: 4400,
      }],
    },
    steps,
  };
}
