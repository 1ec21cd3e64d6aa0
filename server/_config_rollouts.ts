/**
 * The option table's rows of the "Shadow, canary and rollback" group: a shadow's sample and the rules that roll a shadow or canary back.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import type { OptionSpec } from "./config_spec.ts";

/** The "Shadow, canary and rollback" rows, in the order `--help` lists them. */
export const ROLLOUT_OPTIONS = [
  {
    flag: "shadow-sample",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.1",
    value: "R",
    help: "fraction of live digits a shadow candidate also runs, when its engines are idle",
    details: "`POST /v2/models/{m}/shadow` may give its own `sample`",
  },
  {
    flag: "low-confidence",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.5",
    value: "P",
    help: "an answer whose top score is below P counts as low-confidence in rollout figures",
  },
  {
    flag: "shadow-min-agreement",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.99",
    value: "A",
    help: "roll a shadow back when its argmax agreement falls below A; 0: never",
  },
  {
    flag: "canary-max-error-rate",
    kind: { type: "number", min: 0, max: 1 },
    group: "rollouts",
    server: true,
    default: "0.01",
    value: "E",
    help: "roll a canary back when the candidate fails more than E of its requests; 1: never",
    details: "failures: INTERNAL_ERROR and MODEL_UNAVAILABLE replies",
  },
  {
    flag: "canary-max-low-confidence-ratio",
    kind: { type: "number", min: 0, max: 1000 },
    group: "rollouts",
    server: true,
    default: "2",
    value: "X",
    help:
      "roll a canary back when its low-confidence rate exceeds X times the serving version's; 0: never",
  },
  {
    flag: "rollout-min-samples",
    kind: { type: "int", min: 1, max: 1_000_000_000 },
    group: "rollouts",
    server: true,
    default: "200",
    value: "N",
    help:
      "the rules above judge a shadow or canary only after N digits (compared, or each version's)",
  },
] as const satisfies readonly OptionSpec[];
