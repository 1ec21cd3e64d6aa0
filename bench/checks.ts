/**
 * `bench:stress --check`: the ratios the speed targets are written in, from
 * the steps of one run, each against its target; the bench exits non-zero
 * when one misses. Ratios, not absolute figures, so that a run on a shared
 * or a different machine still says something:
 *
 * - no failed request, in every step;
 * - fairness: p99/p50 latency at most 2 in a step of 500 clients or more;
 * - HTTP at least 0.8 of framed at the same client count (both in the run);
 * - a fresh server (the run's first step, `--warmup 0`) serves at least 0.95
 *   of its steady rate in its first second;
 * - with `--baseline-us N` (the event loop's microseconds per request of the
 *   code before, from its own run): at most a quarter of it.
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
    if (step.clients >= 500) atMost(`${label}: p99/p50 latency`, step.fairness.p99OverP50, 2);
    const us = eventLoopUsPerRequest(step);
    if (options.baselineUs !== null && Number.isFinite(us)) {
      atMost(`${label}: event loop us per request / baseline`, us / options.baselineUs, 0.25);
    }
  }
  for (const http of steps.filter((s) => s.protocol === "http")) {
    const framed = steps.find((s) => s.protocol === "framed" && s.clients === http.clients);
    if (framed) {
      atLeast(
        `http / framed req/s at ${count(http.clients, "client")}`,
        http.reqPerSec / framed.reqPerSec,
        0.8,
      );
    }
  }
  const first = steps[0];
  if (options.fresh && first && Number.isFinite(first.firstSecondReqPerSec)) {
    atLeast(
      `${first.protocol}: a fresh server's first second / its steady rate`,
      first.firstSecondReqPerSec / first.steadyReqPerSec,
      0.95,
    );
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
