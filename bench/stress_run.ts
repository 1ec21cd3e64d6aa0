/**
 * One `bench:stress` run (`runStress`): the engine alone first with
 * `--compare-inference`, then the broker and the server it starts (none with
 * `--server`), the load pool, each protocol's warm-up and steps
 * (`stress_steps.ts`), and the report; everything started is stopped at the
 * end. A run against `--server` none of whose requests could connect is a
 * `NoServerError`.
 *
 * @module
 */
import { formatTable, Progress } from "./_cli.ts";
import { measureInference } from "./inference.ts";
import { formatInferenceTable, type InferenceReport } from "./inference_report.ts";
import { loadDigits } from "./digits.ts";
import { isHttp } from "./load_plan.ts";
import { LoadPool, type PoolResult, type RunPlan } from "./pool.ts";
import type { StressReport } from "./report.ts";
import { SWEEP_HEADER, sweepRows } from "./step_lines.ts";
import { type ServerProcess, spawnServer } from "../server/testing/server_process.ts";
import { runMqttLoad } from "./mqtt_load.ts";
import { Mosquitto } from "../server/testing/mosquitto.ts";
import type { StressOptions } from "./stress_args.ts";
import { serverInstances } from "./stress_compare.ts";
import { runSteps, type StepsContext } from "./stress_steps.ts";

/** A run against `--server` none of whose requests could connect: nothing there to measure. */
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
      durationSeconds: 2,
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
  /** With `--server` (not MQTT's broker), a `NoServerError` when no request of `plan` could connect. */
  const checkAnswered = (plan: Omit<RunPlan, "clients" | "requests">, result: PoolResult) => {
    if (server || plan.protocol === "mqtt") return;
    const where = `${plan.hostname}:${isHttp(plan.protocol) ? plan.httpPort : plan.port}`;
    const sentence = noServerSentence(result, where);
    if (sentence === null) return;
    progress.done();
    throw new NoServerError(sentence);
  };
  const steps: StepsContext = {
    options,
    progress,
    inference,
    server,
    report,
    run,
    checkAnswered,
    print,
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
    for (const protocol of options.protocols) await runSteps(steps, { ...base, protocol }, counts);
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
