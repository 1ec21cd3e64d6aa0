/**
 * Which digits `--capture` keeps (`--capture-rule`): terms joined by commas,
 * a digit kept when any term holds.
 *
 * - `below:C` — the answering version's top score is below C (0..1): the
 *   digits the model was unsure of;
 * - `disagree` — a shadow candidate compared the digit and answered another
 *   digit than the version that served it (needs a shadow running);
 * - `sample:R` — a random share R (0..1) of every digit, so the captures also
 *   show what ordinary traffic looks like.
 *
 * The first term that holds, in the order below, disagree, sample, is the
 * record's `reason`.
 *
 * @example
 * ```ts
 * import { captureReason, parseCaptureRule } from "./capture_rule.ts";
 *
 * const rule = parseCaptureRule("below:0.6,disagree,sample:0.01");
 * console.log(captureReason(rule, { confidence: 0.4, disagrees: null })); // "below"
 * console.log(captureReason(rule, { confidence: 0.99, disagrees: true })); // "disagree"
 * ```
 * @module
 */

/** A checked `--capture-rule`. */
export interface CaptureRule {
  /** Keep digits whose answer's score is below this (null: no such term). */
  below: number | null;
  /** Keep digits a shadow candidate answered differently. */
  disagree: boolean;
  /** Keep this random share of every digit (0: none). */
  sample: number;
}

/** Why a digit was kept: the term that held. */
export type CaptureReason = "below" | "disagree" | "sample";

/** What a rule looks at for one digit. */
export interface CaptureView {
  /** The answering version's score for the digit it answered. */
  confidence: number;
  /** Whether a shadow candidate answered otherwise; null when no shadow compared the digit. */
  disagrees: boolean | null;
}

/** A `--capture-rule` that cannot be read; the message is one sentence. */
export class CaptureRuleError extends Error {
  override name = "CaptureRuleError";
}

const TERMS = "below:C, disagree and sample:R, joined by commas (e.g. below:0.6,disagree)";

/** Reads a rule such as `below:0.6,disagree,sample:0.05`; throws a `CaptureRuleError`. */
export function parseCaptureRule(text: string): CaptureRule {
  const fail = (message: string): never => {
    throw new CaptureRuleError(`--capture-rule "${text}": ${message}`);
  };
  const rule: CaptureRule = { below: null, disagree: false, sample: 0 };
  const seen = new Set<string>();
  const terms = text.split(",").map((term) => term.trim());
  if (terms.every((term) => term === "")) fail(`give at least one term: ${TERMS}`);
  for (const term of terms) {
    const [name, value, extra] = term.split(":").map((part) => part.trim());
    if (seen.has(name)) fail(`"${name}" is given twice`);
    seen.add(name);
    const fraction = (what: string): number => {
      const n = Number(value);
      if (value === undefined || value === "" || extra !== undefined || !(n >= 0 && n <= 1)) {
        fail(`${name} takes ${what} from 0 to 1 after a colon, as in ${name}:0.6, got "${term}"`);
      }
      return n;
    };
    if (name === "below") rule.below = fraction("a score");
    else if (name === "sample") rule.sample = fraction("a share");
    else if (name === "disagree") {
      if (value !== undefined) fail(`disagree takes no value, got "${term}"`);
      rule.disagree = true;
    } else fail(`unknown term "${term}"; the terms are ${TERMS}`);
  }
  return rule;
}

/** The rule as `parseCaptureRule` reads it back. */
export function formatCaptureRule(rule: CaptureRule): string {
  const terms: string[] = [];
  if (rule.below !== null) terms.push(`below:${rule.below}`);
  if (rule.disagree) terms.push("disagree");
  if (rule.sample > 0) terms.push(`sample:${rule.sample}`);
  return terms.join(",");
}

/** Which term keeps this digit, or null; `random` draws the sample (one draw, only when needed). */
export function captureReason(
  rule: CaptureRule,
  view: CaptureView,
  random: () => number = Math.random,
): CaptureReason | null {
  if (rule.below !== null && view.confidence < rule.below) return "below";
  if (rule.disagree && view.disagrees === true) return "disagree";
  if (rule.sample > 0 && random() < rule.sample) return "sample";
  return null;
}
