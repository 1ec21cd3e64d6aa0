/**
 * `bench:stress`'s target ratios: from the steps of one run, each figure the
 * speed targets are written in, against its target; with `--check` the bench
 * exits non-zero when one misses. Ratios, not absolute figures (but one), so
 * that a run on a shared or a different machine still says something:
 *
 * - no failed request, in every step;
 * - fairness: p99/p50 latency at most 2 in a step of 500 clients or more;
 * - the event loop's µs per answered request at 500 framed clients or more:
 *   at most 15 (the one absolute figure, this project's 2-core machine's), and
 *   with `--baseline-us N` (the code before's, from its own run) at most a
 *   quarter of it;
 * - served at least 0.7 of the best engine-alone rate (`--compare-inference`)
 *   in a step of 100 clients or more sending more than one request each;
 * - HTTP (JSON and binary tensors) at least 0.8 of framed at the same client
 *   count (both in the run);
 * - one client at a time: the part of the round trip that is not inference
 *   (round trip − the reply's `timer_ms`, medians) at most 0.15 of it, and
 *   p99/p50 latency at most 2;
 * - a fresh server (the run's first step, `--warmup 0`) serves at least 0.95
 *   of its warm rate in its first second, and (a server the bench started)
 *   its event loop spends at most 1/0.95 of the warm µs per request in it.
 *   The warm rate is the first second of the same step repeated later in the
 *   run (`--protocol framed,framed`), which opens the same connections; in a
 *   run without one, the step's own steady rate and the rest of the step.
 *
 * @example
 * ```ts
 * import { formatChecks, stepChecks } from "./checks.ts";
 *
 * const checks = stepChecks([], { baselineUs: null, fresh: false });
 * console.log(formatChecks(checks).length); // 0
 * ```
 * @module
 */
import { count, fixed } from "./_cli.ts";
import { isHttp } from "./load_plan.ts";
import { eventLoopUsPerRequest, type StepSummary } from "./results.ts";

/** What the checks compare against. */
export interface CheckOptions {
  /** The event loop's us per request of the code before (`--baseline-us`); null: not checked. */
  baselineUs: number | null;
  /** The run's first step met a fresh server (`--warmup 0`). */
  fresh: boolean;
}

/** One ratio against its target. */
export interface Check {
  name: string;
  value: number;
  /** The target, as printed (`<= 2`, `>= 0.8`). */
  target: string;
  ok: boolean;
}

/** The targets. */
export const TARGETS = {
  fairness: 2,
  eventLoopUs: 15,
  eventLoopOfBaseline: 0.25,
  servedOfEngineAlone: 0.7,
  httpOfFramed: 0.8,
  oneClientNotInference: 0.15,
  oneClientP99OverP50: 2,
  firstSecondOfSteady: 0.95,
  legacyOfBaseline: 1.1,
} as const;

/**
 * The share of one client's round trip that is not inference: the median of
 * (round trip − the reply's `timer_ms`) over the median round trip; NaN where
 * replies carry no timings (HTTP).
 */
export function notInferenceShare(step: StepSummary): number {
  if (!Number.isFinite(step.serverInferenceMs)) return NaN;
  return step.overhead.p50 / step.latency.p50;
}

/** Every check the steps allow. */
export function stepChecks(steps: StepSummary[], options: CheckOptions): Check[] {
  const checks: Check[] = [];
  const atMost = (name: string, value: number, max: number) =>
    checks.push({ name, value, target: `<= ${max}`, ok: value <= max });
  const atLeast = (name: string, value: number, min: number) =>
    checks.push({ name, value, target: `>= ${min}`, ok: value >= min });
  for (const step of steps) {
    const label = `${step.protocol}, ${count(step.clients, "client")}`;
    atMost(`${label}: failed requests`, step.failed, 0);
    if (step.clients >= 500) {
      atMost(`${label}: p99/p50 latency`, step.fairness.p99OverP50, TARGETS.fairness);
    }
    const us = eventLoopUsPerRequest(step);
    if (Number.isFinite(us) && step.clients >= 500 && step.protocol === "framed") {
      atMost(`${label}: event loop us per request`, us, TARGETS.eventLoopUs);
    }
    if (options.baselineUs !== null && Number.isFinite(us)) {
      atMost(
        `${label}: event loop us per request / baseline`,
        us / options.baselineUs,
        TARGETS.eventLoopOfBaseline,
      );
    }
    const alone = step.engineAloneBest ?? NaN;
    if (Number.isFinite(alone) && step.clients >= 100 && step.requests > 1) {
      atLeast(
        `${label}: served / the best engine alone`,
        step.reqPerSec / alone,
        TARGETS.servedOfEngineAlone,
      );
    }
    if (step.legacyBaselineMs !== undefined) {
      atMost(
        `${label}: total / (an echo server's total + the engine's runs)`,
        step.elapsedMs / step.legacyBaselineMs,
        TARGETS.legacyOfBaseline,
      );
    }
    if (step.clients === 1 && step.requests > 1) {
      const share = notInferenceShare(step);
      if (Number.isFinite(share)) {
        atMost(`${label}: not inference / round trip`, share, TARGETS.oneClientNotInference);
      }
      atMost(`${label}: p99/p50 latency`, step.fairness.p99OverP50, TARGETS.oneClientP99OverP50);
    }
  }
  for (const http of steps.filter((s) => isHttp(s.protocol))) {
    const framed = steps.find((s) => s.protocol === "framed" && s.clients === http.clients);
    if (framed) {
      atLeast(
        `${http.protocol} / framed req/s at ${count(http.clients, "client")}`,
        http.reqPerSec / framed.reqPerSec,
        TARGETS.httpOfFramed,
      );
    }
  }
  const first = steps[0];
  if (options.fresh && first && Number.isFinite(first.firstSecondReqPerSec)) {
    // Against the same step on the then warm server when the run repeats it (`--protocol
    // framed,framed`): both first seconds open the same connections, so what differs is warmth.
    const warm = steps.slice(1).find((s) =>
      s.protocol === first.protocol && s.clients === first.clients &&
      s.requests === first.requests && Number.isFinite(s.firstSecondReqPerSec)
    );
    const against = warm ? "the warm server's first second" : "its steady rate";
    atLeast(
      `${first.protocol}: a fresh server's first second / ${against}`,
      first.firstSecondReqPerSec / (warm ? warm.firstSecondReqPerSec : first.steadyReqPerSec),
      TARGETS.firstSecondOfSteady,
    );
    // The same target in CPU, which other jobs on the machine do not move: the first second's
    // event loop us per request at most 1/0.95 of the warm server's first second's (or the rest's).
    const cold = (first.eventLoopUsFirstSecond ?? NaN) /
      ((warm ? warm.eventLoopUsFirstSecond : first.eventLoopUsAfterFirstSecond) ?? NaN);
    if (Number.isFinite(cold)) {
      atMost(
        `${first.protocol}: the first second's event loop us per request / ${
          warm ? "the warm server's first second's" : "the rest's"
        }`,
        cold,
        Number((1 / TARGETS.firstSecondOfSteady).toFixed(3)),
      );
    }
  }
  return checks;
}

/** One line per check, then a verdict. */
export function formatChecks(checks: Check[]): string[] {
  if (checks.length === 0) return [];
  const lines = checks.map((c) =>
    `${c.ok ? "ok  " : "MISS"} ${c.name}: ${fixed(c.value, 3)} (target ${c.target})`
  );
  const missed = checks.filter((c) => !c.ok).length;
  lines.push(
    missed ? `${missed} of ${checks.length} checks missed` : `all ${checks.length} checks met`,
  );
  return lines;
}
