/**
 * One protocol's part of a `bench:stress` run (`stress_run.ts`): the warm-up
 * (or, with `--warmup 0`, the load generator's own warm-up against an echo
 * server), then one step per client count, each measured, summarised
 * (`results.ts`), printed and added to the report, with the baselines a step
 * is compared with: the legacy tool's echo-plus-engine sum, one client's
 * echo floor, and the engine alone just before and after it.
 *
 * @module
 */
import { count, fixed, type Progress, progressText, thousands } from "./_cli.ts";
import { cpuDelta, groupThreads, type ThreadCpu, threadCpu } from "./cpu.ts";
import { bestRate, type InferenceReport } from "./inference_report.ts";
import { isHttp } from "./load_plan.ts";
import type { PoolResult, RunPlan } from "./pool.ts";
import type { StressReport } from "./report.ts";
import { summarizeStep } from "./results.ts";
import { formatStep } from "./step_lines.ts";
import type { ServerProcess } from "../server/testing/server_process.ts";
import { withEchoServer } from "./echo_listeners.ts";
import { echoFloor, formatEchoFloor } from "./echo_floor.ts";
import { legacyBaseline } from "./legacy_baseline.ts";
import type { StressOptions } from "./stress_args.ts";
import { compareLines, engineAloneNow } from "./stress_compare.ts";

/** What every step of a run shares: set up once by `runStress`. */
export interface StepsContext {
  options: StressOptions;
  progress: Progress;
  /** The engine alone, timed before the load (`--compare-inference`), or null. */
  inference: InferenceReport | null;
  /** The server the bench started, or null (`--server`). */
  server: ServerProcess | null;
  /** The run's report: each step is added to its `steps`. */
  report: StressReport;
  /** Runs a plan: MQTT through the broker, the others in the load pool. */
  run: (plan: RunPlan, onProgress: (done: number) => void) => Promise<PoolResult>;
  /** With `--server` (not MQTT's broker), a `NoServerError` when no request of `plan` could connect. */
  checkAnswered: (plan: Omit<RunPlan, "clients" | "requests">, result: PoolResult) => void;
  print: (line: string) => void;
}

/** Warm-up, then one step per client count, for one protocol. */
export async function runSteps(
  context: StepsContext,
  base: Omit<RunPlan, "clients" | "requests">,
  counts: number[],
): Promise<void> {
  const { options, progress, inference, server, report, run, checkAnswered, print } = context;
  if (options.warmup === 0 && base.protocol === "framed" && base.keepAlive) {
    await warmLoadGenerator(base, Math.max(...counts), run, print);
  }
  if (options.warmup > 0) {
    const clients = Math.min(options.warmup, Math.max(...counts));
    const requests = Math.ceil(options.warmup / clients);
    const warm = await run(
      { ...base, clients, requests, durationMs: Math.min(base.durationMs, 5000) },
      (done) => progress.update(`warm-up: ${thousands(done)}/${thousands(clients * requests)}`),
    );
    checkAnswered(base, warm);
    progress.done();
  }
  for (const [i, clients] of counts.entries()) {
    const total = clients * options.requests;
    const label = counts.length > 1 ? `step ${i + 1}/${counts.length}, ` : "";
    const alone = inference ? [await engineAloneNow(inference, options)] : [];
    const started = performance.now();
    const before = server ? threadCpu(server.pid) : [];
    // The server's CPU one second in: the first second's cost per request against the rest's.
    let atOneSecond: ThreadCpu[] = [];
    const oneSecond = server ? setTimeout(() => atOneSecond = threadCpu(server!.pid), 1000) : 0;
    const result = await run({ ...base, clients, requests: options.requests }, (done) => {
      const seconds = (performance.now() - started) / 1000;
      progress.update(
        `${label}${base.protocol}, ${count(clients, "client")}: ` +
          progressText(done, total, seconds, base.durationMs / 1000),
      );
    });
    clearTimeout(oneSecond);
    checkAnswered(base, result);
    const after = server ? threadCpu(server.pid) : [];
    const serverCpu = server && before.length
      ? groupThreads(
        cpuDelta(before, after),
        server.pid,
        options.serverListeners > 1 ? options.serverListeners : 0,
      )
      : null;
    progress.done();
    const step = summarizeStep(result, {
      clients,
      requests: options.requests,
      protocol: base.protocol,
      digits: options.digits,
      keepAlive: isHttp(base.protocol) || options.keepAlive,
      garbage: options.garbage,
    }, serverCpu);
    if (server && before.length && atOneSecond.length) {
      const first = groupThreads(cpuDelta(before, atOneSecond), server.pid).main / 1e3;
      const rest = groupThreads(cpuDelta(atOneSecond, after), server.pid).main / 1e3;
      step.eventLoopUsFirstSecond = first / step.firstSecondReqPerSec;
      step.eventLoopUsAfterFirstSecond = rest / (step.ok - step.firstSecondReqPerSec);
    }
    report.steps.push(step);
    if (counts.length > 1) print(`== ${count(clients, "client")}`);
    for (const line of formatStep(step)) print(line);
    if (base.protocol === "legacy" && server) {
      const plan = { ...base, clients, requests: options.requests };
      const { echoMs, engineMs } = await legacyBaseline(
        async (echoPort) =>
          summarizeStep(await run({ ...plan, port: echoPort }, () => {}), step, null).elapsedMs,
        total,
        // "500 engine runs": one run a digit, as a server without batching would make.
        await engineAloneNow(inference, options, 1),
      );
      step.legacyBaselineMs = echoMs + engineMs;
      print(
        `an echo server's total ${fixed(echoMs, 1)} ms + the engine alone for ` +
          `${thousands(total)} runs of one digit ${fixed(engineMs, 1)} ms; served total = ` +
          `${fixed(step.elapsedMs / step.legacyBaselineMs, 2)}× their sum`,
      );
    }
    if (
      clients === 1 && options.requests > 1 && server && !isHttp(base.protocol) &&
      base.protocol !== "mqtt"
    ) {
      const plan = { ...base, clients, requests: options.requests };
      step.echoRoundTripMs = await echoFloor(async (echoPort) =>
        summarizeStep(await run({ ...plan, port: echoPort }, () => {}), step, null).latency
      );
      print(formatEchoFloor(step.echoRoundTripMs, step.overhead.p50));
    }
    if (inference) {
      const via = options.serverEngine === "native" ? "native" : "engine";
      step.engineAloneBest = bestRate(inference, (c) => c.via === via)?.samplesPerSec;
      for (const line of compareLines(step, inference, options)) print(line);
      alone.push(await engineAloneNow(inference, options));
      const mean = (alone[0] + alone[1]) / 2;
      print(
        `the engine alone at the server's configuration just before and after the step: ` +
          `${thousands(alone[0])} and ${thousands(alone[1])}/s; served = ` +
          `${fixed((step.reqPerSec / mean) * 100, 1)}% of their mean` +
          (Number.isFinite(step.steadyReqPerSec)
            ? `, steady ${fixed((step.steadyReqPerSec / mean) * 100, 1)}%`
            : ""),
      );
    }
    print("");
  }
}

/** Requests the load generator sends an echo server before a fresh server's first step. */
const LOAD_GENERATOR_WARMUP = 20_000;

/**
 * With `--warmup 0` the server is measured fresh, but the load generator's own
 * code would be cold too, and on shared cores its first second's slowness would
 * be counted as the server's. So it first sends framed requests to an echo
 * server with no handler and no engine (`echo_listeners.ts`): the server under
 * test sees none of them.
 */
async function warmLoadGenerator(
  base: Omit<RunPlan, "clients" | "requests">,
  clients: number,
  run: (plan: RunPlan, onProgress: (done: number) => void) => Promise<unknown>,
  print: (line: string) => void,
): Promise<void> {
  const requests = Math.ceil(LOAD_GENERATOR_WARMUP / clients);
  await withEchoServer((port) => run({ ...base, port, clients, requests }, () => {}));
  print(
    `load generator warmed against an echo server (${
      thousands(LOAD_GENERATOR_WARMUP)
    } requests; the server saw none)`,
  );
}
