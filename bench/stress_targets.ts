/**
 * `bench:stress --targets`: every speed target's ratio in one run. Each
 * target is measured by the step it is defined on (500 framed keep-alive
 * clients for the event loop and fairness, 100 keep-alive clients for HTTP
 * against framed, one client at a time, a fresh server, 500 legacy
 * clients), each step against a server of its own started for it, the
 * native engine where the target names it. The checks of every step are
 * printed after it, and all of them again at the end under their step's
 * name, so one command shows where the server stands; with `--check` it
 * exits 1 when any misses. Memory per instance is `bench:memory`'s, and
 * listener scaling on pinned cores is in docs/performance.md.
 *
 * @example
 * ```ts
 * import { targetSteps } from "./stress_targets.ts";
 * import { parseStressArgs } from "./stress_args.ts";
 *
 * const steps = targetSteps(parseStressArgs(["--targets"]));
 * console.log(steps.map((s) => s.label).length > 5); // true
 * ```
 * @module
 */
import type { Check } from "./checks.ts";
import { autoInstances, autoThreads } from "../server/config.ts";
import type { StressOptions } from "./stress_args.ts";
import type { EngineKind } from "../server/config_spec.ts";

/** One step of `--targets`: what it measures, and the options it runs with. */
export interface TargetStep {
  label: string;
  options: StressOptions;
  /** Checks the step is run for (a part of each one's name): one it could not measure is a miss. */
  expects: string[];
}

/** What a step sets; the rest is the command line's (quiet, workers, digits, `--server-main`...). */
type StepSettings = Partial<StressOptions> & { serverEngine: EngineKind | null };

/** 500 framed keep-alive clients, warmed: where the event loop, engine-alone and fairness targets are defined. */
const FRAMED_500: Partial<StressOptions> = {
  protocols: ["framed"],
  keepAlive: true,
  clients: 500,
  requests: 40,
  warmup: 20_000,
};

/**
 * One framed client, one request at a time, warmed as the 500 clients are:
 * the target is the steady round trip, and a server fresh to one-at-a-time
 * traffic (batches of one: the code run once per batch compiled late, on
 * cores its compiles share) keeps a p99 three to four times its p50 for its
 * first few thousand such requests (docs/performance.md, "One client at a time").
 */
const ONE_CLIENT: Partial<StressOptions> = {
  protocols: ["framed"],
  keepAlive: true,
  clients: 1,
  requests: 3_000,
  warmup: 20_000,
};

/** The steps, in order: each target on the step it is defined on. */
const STEPS: { label: string; settings: StepSettings; expects?: string[] }[] = [
  {
    label: "event loop, served / engine alone, fairness: 500 framed keep-alive, native",
    settings: {
      ...FRAMED_500,
      serverEngine: "native",
      compareInference: true,
    },
  },
  {
    label: "the main thread with 2 listener Workers: 500 framed keep-alive, native",
    settings: {
      ...FRAMED_500,
      serverEngine: "native",
      serverListeners: 2,
    },
  },
  {
    label: "fairness: 500 framed keep-alive, WASM (the default engine)",
    settings: {
      ...FRAMED_500,
      serverEngine: null,
    },
  },
  {
    label: "HTTP JSON and binary against framed: 100 keep-alive clients, native",
    settings: {
      protocols: ["framed", "http", "http-binary"],
      keepAlive: true,
      clients: 100,
      requests: 150,
      warmup: 5_000,
      serverEngine: "native",
    },
  },
  {
    label: "one client at a time, WASM (the default engine)",
    settings: { ...ONE_CLIENT, serverEngine: null },
  },
  { label: "one client at a time, native", settings: { ...ONE_CLIENT, serverEngine: "native" } },
  {
    label: "a fresh server's first second against the warm one's: 500 framed keep-alive, native",
    settings: {
      protocols: ["framed", "framed"],
      keepAlive: true,
      clients: 500,
      // Past 2 s on a fast machine too: a shorter step has no first second to compare.
      requests: 300,
      warmup: 0,
      serverEngine: "native",
    },
    expects: ["a fresh server's first second"],
  },
  {
    label: "500 legacy clients against an echo server and the engine's runs, WASM",
    settings: {
      protocols: ["legacy"],
      keepAlive: false,
      clients: 500,
      requests: 1,
      serverEngine: null,
    },
  },
];

/** `--targets`'s steps, each the command line's options with the step's settings. */
export function targetSteps(base: StressOptions): TargetStep[] {
  return STEPS.map(({ label, settings, expects = [] }) => {
    const options: StressOptions = {
      ...base,
      targets: false,
      compareInference: false,
      serverListeners: 1,
      ...settings,
      protocol: settings.protocols![0],
      digits: settings.protocols![0] === "legacy" ? "float" : "u8",
      sweep: null,
    };
    // The started server's own --threads auto for this step's engine.
    const engine = options.serverEngine ?? "wasm";
    options.serverThreads = autoThreads(engine, options.serverInstances ?? autoInstances(engine));
    return { label, options, expects };
  });
}

/** `checks` and a miss for each expected check missing from them (`TargetStep.expects`): not measured. */
export function withExpected(checks: Check[], expects: string[]): Check[] {
  const missing = expects.filter((part) => !checks.some((c) => c.name.includes(part)));
  return checks.concat(missing.map((part) => ({
    name: `${part}: not measured (the step ended too soon: give it more requests)`,
    value: NaN,
    target: "measured",
    ok: false,
  })));
}

/** The checks of every step, under its label, and a verdict over them all. */
export function formatTargets(results: { label: string; checks: Check[] }[]): string[] {
  const lines = ["", "Every target (bench:stress --targets):"];
  let missed = 0;
  let total = 0;
  for (const { label, checks } of results) {
    lines.push(`  ${label}`);
    for (const c of checks) {
      lines.push(
        `    ${c.ok ? "ok  " : "MISS"} ${c.name}: ${+c.value.toFixed(3)} (target ${c.target})`,
      );
      if (!c.ok) missed++;
      total++;
    }
  }
  lines.push(missed ? `${missed} of ${total} checks missed` : `all ${total} checks met`);
  return lines;
}
