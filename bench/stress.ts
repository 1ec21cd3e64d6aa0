/**
 * `deno task bench:stress`: the load test in the manner of the legacy
 * C++ stress tool (N threads, one request each, "Total elapsed time" and
 * "Average server inference time"). Simulated devices, spread over Deno
 * Workers, send inferences to a server on loopback: the legacy protocol (a
 * connection per request), the framed one (keep-alive or not) or HTTP (Open
 * Inference Protocol JSON, keep-alive), real MNIST digits by default; several
 * protocols in one run compare them on the same server. It prints the old tool's two lines, then req/s, latency
 * percentiles, fairness ratios, errors by kind, the server's queue time and
 * batch size (framed), and the CPU both sides used.
 *
 * Without `--port` it starts the server itself, as `deno task serve` would,
 * in a subprocess on a free port, and stops it at the end; with `--port`, a
 * warm-up or step none of whose requests could connect ends the run with one
 * sentence and exit 2 (no server there). Every run is
 * bounded: clients, requests, `--duration` per step and `--timeout` per request.
 * Its flags are `stress_args.ts`'s.
 *
 * @example
 * ```sh
 * deno task bench:stress --clients 500                       # the old tool's run: 500 legacy clients
 * deno task bench:stress --protocol framed --keep-alive --clients 500 --requests 40 --warmup 20000 \
 *   --compare-inference                                      # a warm server against its engines alone
 * deno task bench:stress --protocol framed --keep-alive --requests 200 --duration 3 \
 *   --sweep 1,10,100,500,2000 --report /tmp/stress.html --json /tmp/stress.json
 * deno task bench:stress --protocol framed,http --keep-alive --clients 100 --requests 100
 * deno task bench:stress --protocol framed,mqtt --keep-alive --clients 100 --requests 100
 *                                                            # MQTT through a Mosquitto it starts
 * deno task bench:stress --port 32001 --clients 20           # against a running server
 * ```
 * @module
 */
import {
  count,
  fixed,
  formatTable,
  parseOrExit,
  Progress,
  progressText,
  thousands,
} from "./_cli.ts";
import { formatChecks, stepChecks } from "./checks.ts";
import { cpuDelta, groupThreads, type ThreadCpu, threadCpu } from "./cpu.ts";
import { loadDigits } from "./digits.ts";
import { measureInference } from "./inference.ts";
import { bestRate, formatInferenceTable, type InferenceReport } from "./inference_report.ts";
import { exitWithError } from "../cli/args.ts";
import { isHttp } from "./load.ts";
import { LoadPool, type PoolResult, type RunPlan } from "./pool.ts";
import { renderReport, type StressReport } from "./report.ts";
import { formatStep, summarizeStep, SWEEP_HEADER, sweepRows } from "./results.ts";
import {
  type ServerProcess,
  ServerStartError,
  spawnServer,
} from "../server/testing/server_process.ts";
import { withEchoServer } from "./echo_listeners.ts";
import { echoFloor, formatEchoFloor } from "./echo_floor.ts";
import { legacyBaseline } from "./legacy_baseline.ts";
import { runMqttLoad } from "./mqtt_load.ts";
import { Mosquitto } from "../server/testing/mosquitto.ts";
import { parseStressArgs, type StressOptions, USAGE } from "./stress_args.ts";
import { compareLines, engineAloneNow, serverInstances } from "./stress_compare.ts";
import { formatTargets, targetSteps, withExpected } from "./stress_targets.ts";

export { compareLines } from "./stress_compare.ts";
export {
  MAX_CLIENTS,
  MAX_STEP_REQUESTS,
  parseStressArgs,
  type StressOptions,
  USAGE,
} from "./stress_args.ts";

/** A run against `--port` none of whose requests could connect: nothing there to measure. */
export class NoServerError extends Error {
  override name = "NoServerError";
}

/**
 * The sentence for a run (failures by kind) against `where` when every one
 * of its requests was refused a connection, else null. It names no count:
 * the run may be the warm-up, whose count is not one the command line gave.
 */
export function noServerSentence(
  result: Pick<PoolResult, "count" | "errors">,
  where: string,
): string | null {
  const refused = result.errors.CONNECTION_REFUSED ?? 0;
  if (result.count === 0 || refused < result.count) return null;
  return `no server answered on ${where}: every connection was refused (CONNECTION_REFUSED)`;
}

/** The one line for a server the bench started that did not start: its own sentence. */
export function startSentence(e: ServerStartError): string {
  return `the server did not start: ${e.sentence}`;
}

function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return info.match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? "";
  } catch {
    return "";
  }
}

/** Runs the whole test: inference comparison, server, warm-up, steps; prints as it goes. */
export async function runStress(
  options: StressOptions,
  print: (line: string) => void = console.log,
): Promise<StressReport> {
  const progress = new Progress(!options.quiet);
  const digits = await loadDigits(options.digitSource);

  let inference: InferenceReport | null = null;
  if (options.compareInference) {
    inference = await measureInference({
      via: [options.serverEngine === "native" ? "native" : "engine"],
      threads: [...new Set([1, 2, options.serverThreads])].sort(),
      instances: [...new Set([1, serverInstances(options)])].sort(),
      batches: [1, 8, 32, 128],
      runs: options.inferenceRuns,
      maxSeconds: 2,
      onProgress: (t) => progress.update(`inference: ${t}`),
    });
    progress.done();
    print("Inference alone (bench:inference, engine path), before the load:");
    print(formatInferenceTable(inference));
    print("");
  }

  let server: ServerProcess | null = null;
  let broker: Mosquitto | null = null;
  let mqttUrl = options.mqtt;
  if (options.protocols.includes("mqtt") && mqttUrl === null) {
    progress.update("starting Mosquitto", true);
    broker = await Mosquitto.start();
    mqttUrl = broker.url;
    progress.done();
    print(`broker: mosquitto at ${mqttUrl}`);
  }
  if (options.port === null) {
    progress.update("starting the server", true);
    server = await spawnServer({
      threads: options.serverThreads,
      instances: options.serverInstances ?? undefined,
      engine: options.serverEngine ?? undefined,
      maxBatch: options.serverMaxBatch ?? undefined,
      main: options.serverMain ?? undefined,
      v8Flags: options.serverV8Flags,
      listeners: options.serverListeners,
      cpus: options.serverCpus ?? undefined,
      extraArgs: mqttUrl !== null ? ["--mqtt", mqttUrl] : undefined,
    });
    progress.done();
    print(`server (subprocess pid ${server.pid}): ${server.describe}`);
  }
  const port = server ? server.port : options.port!;
  const httpPort = server ? server.httpPort ?? 0 : options.httpPort;
  const hostname = server ? server.hostname : options.host;
  const report: StressReport = {
    date: new Date().toISOString(),
    command: `deno task bench:stress ${Deno.args.join(" ")}`.trim(),
    environment: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      os: `${Deno.build.os} ${Deno.build.arch}`,
      cpus: navigator.hardwareConcurrency,
      cpuModel: cpuModel(),
    },
    server: {
      describe: server?.describe ?? `${hostname}:${port}`,
      spawned: server !== null,
      threads: server ? options.serverThreads : null,
      maxBatch: server ? options.serverMaxBatch ?? 128 : null,
      main: options.serverMain,
    },
    inference,
    steps: [],
  };

  const pool = await LoadPool.create(options.workers, digits);
  const run = (plan: RunPlan, onProgress: (done: number) => void) =>
    plan.protocol === "mqtt"
      ? runMqttLoad({ ...plan, url: mqttUrl!, qos: options.mqttQos }, digits, onProgress)
      : pool.run(plan, onProgress);
  /** With `--port` (not MQTT's broker), a `NoServerError` when no request of `plan` could connect. */
  const checkAnswered = (plan: Omit<RunPlan, "clients" | "requests">, result: PoolResult) => {
    if (server || plan.protocol === "mqtt") return;
    const where = `${plan.hostname}:${isHttp(plan.protocol) ? plan.httpPort : plan.port}`;
    const sentence = noServerSentence(result, where);
    if (sentence === null) return;
    progress.done();
    throw new NoServerError(sentence);
  };
  /** Warm-up, then one step per client count, for one protocol. */
  const runSteps = async (base: Omit<RunPlan, "clients" | "requests">, counts: number[]) => {
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
  };
  try {
    const base: Omit<RunPlan, "clients" | "requests"> = {
      hostname,
      port,
      httpPort,
      protocol: options.protocol,
      digits: options.digits,
      keepAlive: options.keepAlive,
      garbage: options.garbage,
      durationMs: options.duration * 1000,
      timeoutMs: options.timeout * 1000,
    };
    const counts = options.sweep ?? [options.clients];
    for (const protocol of options.protocols) await runSteps({ ...base, protocol }, counts);
  } finally {
    pool.close();
    if (server) {
      const code = await server.stop();
      if (server.killed) {
        print("the server did not stop within 5 s of SIGTERM (its queue never drained): killed");
      } else if (code !== 0) print(`the server exited with ${code}: ${server.stderr().trim()}`);
    }
    await broker?.stop();
  }
  if (report.steps.length > 1) print(formatTable(SWEEP_HEADER, sweepRows(report.steps)));
  return report;
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

async function main(): Promise<void> {
  const options = parseOrExit("bench:stress", parseStressArgs, Deno.args, USAGE);
  if (options.targets) return await allTargets(options);
  let report: StressReport;
  try {
    report = await runStress(options);
  } catch (e) {
    if (e instanceof NoServerError) exitWithError("bench:stress", e.message);
    if (e instanceof ServerStartError) {
      exitWithError("bench:stress", startSentence(e), e.code === 2 ? 2 : 1);
    }
    throw e;
  }
  if (options.json) {
    await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
    console.log(`wrote ${options.json}`);
  }
  if (options.report) {
    await Deno.writeTextFile(options.report, renderReport(report));
    console.log(`wrote ${options.report}`);
  }
  // The target ratios are printed on every run; --check makes a miss the exit status.
  const checks = stepChecks(report.steps, {
    baselineUs: options.baselineUs,
    fresh: options.warmup === 0,
  });
  for (const line of formatChecks(checks)) console.log(line);
  if (options.check && checks.some((c) => !c.ok)) Deno.exit(1);
}

/** `--targets`: each target's step against a server of its own, then every check again. */
async function allTargets(options: StressOptions): Promise<void> {
  const results = [];
  for (const { label, options: step, expects } of targetSteps(options)) {
    console.log(`\n== ${label}`);
    const report = await runStress(step);
    const checks = withExpected(
      stepChecks(report.steps, { baselineUs: options.baselineUs, fresh: step.warmup === 0 }),
      expects,
    );
    for (const line of formatChecks(checks)) console.log(line);
    results.push({ label, checks });
  }
  for (const line of formatTargets(results)) console.log(line);
  if (options.check && results.some((r) => r.checks.some((c) => !c.ok))) Deno.exit(1);
}

if (import.meta.main) await main();
