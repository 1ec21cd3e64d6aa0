/**
 * `deno task train`'s flags (`parseTrainArgs`): its own, checked here (a
 * `UsageError` of one sentence), and train_mnist.py's, whose numbers are
 * checked here too before they are passed on, so a mistake is found before
 * any file is written. `train.ts` runs what they ask for.
 *
 * @module
 */
import { parseFlags, UsageError } from "../cli/args.ts";

/** `--held-out`, `--repeat` and the fine-tune's own epochs and peak learning rate. */
export const HELD_OUT_SHARE = 0.2;
export const REPEAT = 10;
export const FINE_TUNE = { epochs: "2", lr: "5e-4" };

/** train_mnist.py's options, passed on as given: string ones take a value. */
const PASSED_ON = {
  epochs: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  seed: { type: "string" },
  threads: { type: "string" },
  rotate: { type: "string" },
  shift: { type: "string" },
  "init-only": { type: "boolean" },
} as const;

/**
 * What train_mnist.py takes for each numeric option it is passed (`--seed`
 * is read here too, below): a whole number or any number, from `min` (or
 * above it, `above`). Checked here, so a mistake is one sentence before any
 * file is written, not Python's usage text after.
 */
const PASSED_ON_NUMBERS: Record<string, { whole: boolean; min: number; above?: true }> = {
  epochs: { whole: true, min: 1 },
  batch: { whole: true, min: 1 },
  lr: { whole: false, min: 0, above: true },
  threads: { whole: true, min: 1 },
  rotate: { whole: false, min: 0 },
  shift: { whole: false, min: 0 },
};

/** A `UsageError` unless `text` is what train_mnist.py takes for `--flag`. */
function checkPassedOn(flag: string, text: string): void {
  const kind = PASSED_ON_NUMBERS[flag];
  if (!kind) return;
  const n = Number(text);
  const form = kind.whole ? /^\d+$/ : /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
  if (!form.test(text) || !Number.isFinite(n) || !(kind.above ? n > kind.min : n >= kind.min)) {
    throw new UsageError(
      `--${flag} must be a ${kind.whole ? "whole number" : "number"} ` +
        `${kind.above ? "above" : "from"} ${kind.min}, got "${text}"`,
    );
  }
}

/** The flags this script reads, and train_mnist.py's to pass on; a `UsageError` for others. */
export function parseTrainArgs(args: string[]) {
  const { values, tokens } = parseFlags({
    args,
    tokens: true,
    options: {
      out: { type: "string" },
      captured: { type: "string" },
      "from-capture": { type: "string" },
      from: { type: "string" },
      stage: { type: "string" },
      "held-out": { type: "string" },
      repeat: { type: "string" },
      "mnist-digits": { type: "string" },
      labels: { type: "string" },
      help: { type: "boolean", short: "h" },
      ...PASSED_ON,
    },
  });
  const passOn: string[] = [];
  for (const token of tokens) {
    if (token.kind === "option" && token.name in PASSED_ON) {
      passOn.push(`--${token.name}`);
      if (token.value !== undefined) {
        checkPassedOn(token.name, token.value);
        passOn.push(token.value);
      }
    }
  }
  const number = (flag: string, text: string | undefined, fallback: number, whole: boolean) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    const fraction = flag === "held-out";
    if (!/^[\d.]+$/.test(text) || (whole ? !Number.isInteger(n) : !(n >= 0 && n < 1))) {
      throw new UsageError(
        `--${flag} must be ${
          fraction ? "a share from 0 up to 1" : "a whole number"
        }, got "${text}"`,
      );
    }
    return n;
  };
  if (values.stage !== undefined && !["candidate", "serving"].includes(values.stage)) {
    throw new UsageError(`--stage must be candidate or serving, got "${values.stage}"`);
  }
  const fromCapture = values["from-capture"];
  for (const flag of ["from", "held-out", "repeat", "mnist-digits"] as const) {
    if (values[flag] !== undefined && !fromCapture) {
      throw new UsageError(`--${flag} needs --from-capture DIR`);
    }
  }
  if (fromCapture && values.captured) {
    throw new UsageError(
      "--captured (train from scratch) and --from-capture (fine-tune) exclude each other",
    );
  }
  if (fromCapture) {
    for (const [flag, value] of Object.entries(FINE_TUNE)) {
      if (!passOn.includes(`--${flag}`)) passOn.push(`--${flag}`, value);
    }
  }
  return {
    help: values.help === true,
    out: values.out,
    captured: values.captured ?? fromCapture,
    fromCapture: fromCapture !== undefined,
    from: values.from,
    stage: values.stage ?? "candidate",
    heldOutShare: number("held-out", values["held-out"], HELD_OUT_SHARE, false),
    repeat: number("repeat", values.repeat, REPEAT, true),
    mnistDigits: number("mnist-digits", values["mnist-digits"], Infinity, true),
    seed: number("seed", values.seed, 0, true),
    labels: values.labels,
    passOn,
  };
}
