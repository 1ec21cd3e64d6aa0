/**
 * The rollouts' Prometheus series, read from `Rollouts` when scraped. Labels
 * are the model and versions, never a device:
 *
 * - `mnist_shadow_agreement{model,candidate}`: argmax agreement of a running shadow;
 * - `mnist_shadow_score_difference{model,candidate,stat="mean"|"p99"}`;
 * - `mnist_shadow_low_confidence_ratio{model,candidate,version}`: per version compared;
 * - `mnist_shadow_compared_total`, `mnist_shadow_dropped_total{model,candidate}`;
 * - `mnist_canary_requests`, `mnist_canary_failures`,
 *   `mnist_canary_low_confidence_ratio{model,version}`: the running canary's two sides;
 * - `mnist_rollout_rollbacks_total{model,reason}` (reason: `api`, `shadow_agreement`,
 *   `canary_error_rate`, `canary_low_confidence`), `mnist_rollout_promotions_total{model}`.
 *
 * @example
 * ```ts
 * import { registerRolloutMetrics } from "./metrics.ts";
 * import { startServer } from "../server.ts";
 * import { Registry } from "prom-client";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * const registry = new Registry();
 * registerRolloutMetrics(registry, server.rollouts);
 * console.log(await registry.metrics());
 * await server.shutdown();
 * ```
 * @module
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { Rollouts } from "./rollouts.ts";

/** Adds the rollouts' series to `registry`. */
export function registerRolloutMetrics(registry: Registry, rollouts: Rollouts): void {
  const registers = [registry];
  const shadows = () => rollouts.active.filter((r) => r.shadow);
  const canaries = () => rollouts.active.filter((r) => r.canary);
  new Gauge({
    name: "mnist_shadow_agreement",
    help:
      "Share of compared digits on which a shadow candidate's argmax agrees with the serving version's",
    labelNames: ["model", "candidate"] as const,
    registers,
    collect() {
      this.reset();
      for (const r of shadows()) {
        this.set({ model: r.model, candidate: String(r.version) }, r.shadow!.agreement);
      }
    },
  });
  new Gauge({
    name: "mnist_shadow_score_difference",
    help: "Per compared digit, the largest absolute difference of the two versions' scores",
    labelNames: ["model", "candidate", "stat"] as const,
    registers,
    collect() {
      this.reset();
      for (const r of shadows()) {
        const labels = { model: r.model, candidate: String(r.version) };
        this.set({ ...labels, stat: "mean" }, r.shadow!.difference.mean());
        this.set({ ...labels, stat: "p99" }, r.shadow!.difference.quantile(0.99));
      }
    },
  });
  new Gauge({
    name: "mnist_shadow_low_confidence_ratio",
    help: "Share of compared digits each version answered with low confidence (--low-confidence)",
    labelNames: ["model", "candidate", "version"] as const,
    registers,
    collect() {
      this.reset();
      for (const r of shadows()) {
        const s = r.shadow!;
        const labels = { model: r.model, candidate: String(r.version) };
        const share = (n: number) => s.compared ? n / s.compared : 0;
        this.set({ ...labels, version: String(r.servingVersion) }, share(s.lowServing));
        this.set({ ...labels, version: String(r.version) }, share(s.lowCandidate));
      }
    },
  });
  for (
    const [name, help, key] of [
      ["mnist_shadow_compared_total", "Digits a shadow candidate ran and compared", "compared"],
      ["mnist_shadow_dropped_total", "Digits sampled for a shadow but dropped (load)", "dropped"],
    ] as const
  ) {
    new Counter({
      name,
      help,
      labelNames: ["model", "candidate"] as const,
      registers,
      collect() {
        this.reset();
        for (const [id, totals] of rollouts.counts.shadowTotals) {
          const [model, candidate] = id.split("\n");
          this.inc({ model, candidate }, totals[key]);
        }
      },
    });
  }
  const canarySide = (
    name: string,
    help: string,
    value: (side: { requests: number; failures: number; lowConfidenceRate: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["model", "version"] as const,
      registers,
      collect() {
        this.reset();
        for (const r of canaries()) {
          for (const side of [r.canary!.serving, r.canary!.candidate]) {
            this.set({ model: r.model, version: String(side.version) }, value(side));
          }
        }
      },
    });
  canarySide(
    "mnist_canary_requests",
    "Requests each version of the running canary answered",
    (s) => s.requests,
  );
  canarySide(
    "mnist_canary_failures",
    "Requests each version of the running canary failed (INTERNAL_ERROR, MODEL_UNAVAILABLE)",
    (s) => s.failures,
  );
  canarySide(
    "mnist_canary_low_confidence_ratio",
    "Share of digits each version of the running canary answered with low confidence",
    (s) => s.lowConfidenceRate,
  );
  new Counter({
    name: "mnist_rollout_rollbacks_total",
    help: "Rollbacks, by the API (api) or by a rule (shadow_agreement, canary_error_rate, " +
      "canary_low_confidence)",
    labelNames: ["model", "reason"] as const,
    registers,
    collect() {
      this.reset();
      for (const [model, reasons] of rollouts.counts.rollbacks) {
        for (const [reason, n] of reasons) this.inc({ model, reason }, n);
      }
    },
  });
  new Counter({
    name: "mnist_rollout_promotions_total",
    help: "Versions promoted through the API",
    labelNames: ["model"] as const,
    registers,
    collect() {
      this.reset();
      for (const [model, n] of rollouts.counts.promotions) this.inc({ model }, n);
    },
  });
}
