/**
 * The option table's rows of the "Model repository and capture" group: checksums, repository polling and the capture of digits.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import type { OptionSpec } from "./config_spec.ts";

/** The "Model repository and capture" rows, in the order `--help` lists them. */
export const MODEL_OPTIONS = [
  {
    flag: "allow-checksum-mismatch",
    kind: { type: "boolean" },
    group: "models",
    help: "serve versions whose sha256 is missing or differs",
    details: "or that have no metadata; the start line says so",
  },
  {
    flag: "poll-seconds",
    kind: { type: "int", min: 0, max: 86_400 },
    group: "models",
    server: true,
    default: "0",
    value: "S",
    help: "also rescan the repository every S seconds (NFS); 0: never",
    details: "file events, SIGHUP and HTTP load rescan anyway",
  },
  {
    flag: "capture",
    kind: { type: "string" },
    group: "models",
    value: "DIR",
    help: "keep the digits --capture-rule picks in DIR, for labelling and retraining",
    details: "with the device and the scores of every version that saw each digit",
  },
  {
    flag: "capture-rule",
    kind: { type: "string" },
    group: "models",
    default: "below:0.5,disagree,sample:0.01",
    value: "RULE",
    help: "which digits --capture keeps: terms joined by commas, any one keeps a digit",
    details:
      "below:C the answer's score is below C; disagree a shadow candidate answered another " +
      "digit; sample:R a random share R of all digits",
  },
  {
    flag: "capture-max-mb",
    kind: { type: "int", min: 1, max: 1_000_000 },
    group: "models",
    default: "100",
    value: "MB",
    help: "most megabytes of captures kept; past it the oldest files are deleted",
  },
] as const satisfies readonly OptionSpec[];
