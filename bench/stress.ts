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
 * Without `--server` it starts the server itself, as `deno task serve` would,
 * in a subprocess on a free port, and stops it at the end; with `--server HOST:PORT`, a
 * warm-up or step none of whose requests could connect ends the run with one
 * sentence and exit 2 (no server there). Every run is
 * bounded: clients, requests, `--duration` per step and `--timeout` per request.
 * Its flags are `stress_args.ts`'s; one run is `stress_run.ts`'s.
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
 * deno task bench:stress --server 127.0.0.1:32001 --clients 20   # against a running server
 * ```
 * @module
 */
import { parseOrExit } from "./_cli.ts";
import { formatChecks, stepChecks } from "./checks.ts";
import { exitWithError } from "../cli/args.ts";
import { renderReport, type StressReport } from "./report.ts";
import { ServerStartError } from "../server/testing/server_process.ts";
import { parseStressArgs, type StressOptions } from "./stress_args.ts";
import { USAGE } from "./stress_usage.ts";
import { formatTargets, targetSteps, withExpected } from "./stress_targets.ts";
import { NoServerError, runStress } from "./stress_run.ts";

/** The one line for a server the bench started that did not start: its own sentence. */
export function startSentence(e: ServerStartError): string {
  return `the server did not start: ${e.sentence}`;
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
