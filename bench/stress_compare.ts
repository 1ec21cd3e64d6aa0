/**
 * `bench:stress --compare-inference`: the engines alone beside the served
 * rate. The engine instances the server runs, the engine alone at that
 * configuration timed right before and after a step (it follows the
 * machine's speed), and the lines that compare a step with it (and, for one
 * client, the round trip with a run of one digit).
 *
 * @example
 * ```ts
 * import { serverInstances } from "./stress_compare.ts";
 *
 * console.log(serverInstances({ port: null, serverInstances: 2 })); // 2
 * ```
 * @module
 */
import { fixed, thousands } from "./_cli.ts";
import { measureInference } from "./inference.ts";
import { bestRate, type InferenceReport } from "./inference_report.ts";
import type { StepSummary } from "./results.ts";
import type { StressOptions } from "./stress_args.ts";
import type { EngineKind } from "../server/config_spec.ts";
import { autoInstances } from "../server/config.ts";

/**
 * The engine instances the step's server runs: `--server-instances`, or the
 * server's default (`--instances auto`); 1 for a running server (`--server`),
 * whose count the bench cannot see.
 */
export function serverInstances(
  options: Pick<StressOptions, "port"> & {
    serverInstances?: number | null;
    serverEngine?: EngineKind | null;
  },
): number {
  if (options.port !== null) return 1;
  return options.serverInstances ?? autoInstances(options.serverEngine ?? "wasm");
}

/**
 * The engine alone at the server's instances × threads and the batch size
 * that was fastest in `inference` (128 without one; or `batch`), timed for about 2 s now: samples/s. Taken
 * right before and after a step, it follows the machine's speed, which on a
 * shared machine drifts more between minutes than within one.
 */
export async function engineAloneNow(
  inference: InferenceReport | null,
  options: Pick<StressOptions, "serverThreads" | "port"> & {
    serverEngine?: EngineKind | null;
    serverInstances?: number | null;
  },
  batch?: number,
): Promise<number> {
  const via = options.serverEngine === "native" ? "native" : "engine";
  const instances = serverInstances(options);
  const best = inference && bestRate(
    inference,
    (c) => c.via === via && c.threads === options.serverThreads && c.instances === instances,
  );
  const report = await measureInference({
    via: [via],
    threads: [options.serverThreads],
    instances: [instances],
    batches: [batch ?? best?.batch ?? 128],
    runs: 1_000_000,
    durationSeconds: 2,
    warmup: 5,
  });
  return report.cells[0].samplesPerSec;
}

/** How a step compares with the engine alone. */
export function compareLines(
  step: StepSummary,
  inference: InferenceReport,
  options: Pick<StressOptions, "serverThreads" | "port"> & {
    serverEngine?: EngineKind | null;
    serverInstances?: number | null;
  },
): string[] {
  const lines: string[] = [];
  const via = options.serverEngine === "native" ? "native" : "engine";
  const instances = serverInstances(options);
  const same = bestRate(
    inference,
    (c) => c.via === via && c.threads === options.serverThreads && c.instances === instances,
  );
  const any = bestRate(inference, (c) => c.via === via);
  const describe = (c: NonNullable<typeof any>) =>
    `${thousands(c.samplesPerSec)}/s, ${c.instances} × ${c.threads} thread(s), batch ${c.batch}`;
  if (same && any) {
    const configNote = options.port === null ? "the server's instances × threads" : "1 × 1";
    lines.push(
      `served ${thousands(step.reqPerSec)} req/s = ` +
        `${fixed((step.reqPerSec / same.samplesPerSec) * 100, 1)}% of the engine's best at ` +
        `${configNote} (${describe(same)}); ` +
        `${fixed((step.reqPerSec / any.samplesPerSec) * 100, 1)}% of the best at any (${
          describe(any)
        })`,
    );
  }
  const single = inference.cells.find((c) =>
    c.via === via && c.batch === 1 && c.threads === options.serverThreads
  );
  if (single && step.clients === 1) {
    lines.push(
      `one client: round trip p50 ${fixed(step.latency.p50, 3)} ms − engine batch-1 p50 ` +
        `${fixed(single.p50RunMs, 3)} ms = ${fixed(step.latency.p50 - single.p50RunMs, 3)} ms ` +
        `(per reply, round trip − its timer_ms: p50 ${fixed(step.overhead.p50, 3)} ms)`,
    );
  }
  return lines;
}
