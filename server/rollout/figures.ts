/**
 * The figures of a rollout: per shadow candidate, how it compares with the
 * serving version on the same live digits (`ShadowFigures`); per version in
 * a canary, how its requests went (`VersionFigures`). Plain counters and
 * fixed-size histograms: constant memory however long a rollout runs.
 *
 * Low confidence: a digit whose top score is below `--low-confidence`. Score
 * difference: per digit, the largest absolute difference between the two
 * versions' 10 scores (0 = the same answer, 1 = opposite certainties).
 *
 * @example
 * ```ts
 * import { ShadowFigures } from "./figures.ts";
 *
 * const figures = new ShadowFigures(2, 0.1, 0.5);
 * const serving = { version: 1, predicted: 7, scores: new Float32Array(10).fill(0.1) };
 * const candidate = { version: 2, predicted: 2, scores: new Float32Array(10).fill(0.1) };
 * serving.scores[7] = 0.9;
 * candidate.scores[2] = 0.9;
 * figures.compare({ model: "mnist", deviceId: "kitchen", digitU8: new Uint8Array(784), digit: null, serving, candidate, agree: false });
 * console.log(figures.json().agreement, figures.json().confusion[0].count); // 0 1
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { Status } from "../../shared/errors.ts";
import type { ShadowEvent } from "./shadow_event.ts";

/** Examples kept per confusion pair. */
const EXAMPLES_PER_PAIR = 3;

/** Counts of values in 0..max, in `bins` equal bins: quantiles to a bin's width. */
export class BinnedQuantiles {
  #bins: Uint32Array;
  #max: number;
  count = 0;
  sum = 0;

  constructor(max: number, bins = 1000) {
    this.#max = max;
    this.#bins = new Uint32Array(bins);
  }

  add(value: number): void {
    const bins = this.#bins.length;
    const at = Math.min(bins - 1, Math.max(0, Math.floor((value / this.#max) * bins)));
    this.#bins[at]++;
    this.count++;
    this.sum += value;
  }

  mean(): number {
    return this.count ? this.sum / this.count : 0;
  }

  /** The upper edge of the bin holding quantile `q` (0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.#bins.length; i++) {
      seen += this.#bins[i];
      if (seen >= rank) return ((i + 1) * this.#max) / this.#bins.length;
    }
    return this.#max;
  }
}

/** The top score of 10 scores. */
export function topScore(scores: ArrayLike<number>): number {
  let top = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > top) top = scores[i];
  return top;
}

/** One confusion pair's count and a few of its digits. */
interface Confusion {
  count: number;
  examples: { device: string; pixels: string }[];
}

/** Per shadow candidate: the comparison with the serving version on live digits. */
export class ShadowFigures {
  readonly version: number;
  readonly sample: number;
  readonly started = Date.now();
  /** Digits picked for the candidate, and what became of them. */
  sampled = 0;
  compared = 0;
  agreed = 0;
  /** Not run: the idle lane was full (load). */
  dropped = 0;
  /** Run, but the candidate failed on them. */
  failed = 0;
  lowServing = 0;
  lowCandidate = 0;
  difference = new BinnedQuantiles(1);
  #confusion = new Map<string, Confusion>();
  #lowConfidence: number;

  constructor(version: number, sample: number, lowConfidence: number) {
    this.version = version;
    this.sample = sample;
    this.#lowConfidence = lowConfidence;
  }

  get agreement(): number {
    return this.compared ? this.agreed / this.compared : 1;
  }

  compare(event: ShadowEvent): void {
    const { serving, candidate } = event;
    this.compared++;
    if (event.agree) this.agreed++;
    let difference = 0;
    for (let i = 0; i < serving.scores.length; i++) {
      difference = Math.max(difference, Math.abs(serving.scores[i] - candidate.scores[i]));
    }
    this.difference.add(Math.min(1, difference));
    if (topScore(serving.scores) < this.#lowConfidence) this.lowServing++;
    if (topScore(candidate.scores) < this.#lowConfidence) this.lowCandidate++;
    if (event.agree) return;
    const key = `${serving.predicted}>${candidate.predicted}`;
    let pair = this.#confusion.get(key);
    if (!pair) this.#confusion.set(key, pair = { count: 0, examples: [] });
    pair.count++;
    if (pair.examples.length < EXAMPLES_PER_PAIR) {
      const pixels = event.digitU8 ?? Uint8Array.from(event.digit!, (v) => Math.round(v * 255));
      pair.examples.push({
        device: event.deviceId,
        pixels: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).toString("base64"),
      });
    }
  }

  /** The figures as `GET /v2/models/{m}/shadow` answers them. */
  json() {
    const share = (n: number) => this.compared ? n / this.compared : 0;
    return {
      version: this.version,
      sample: this.sample,
      started: new Date(this.started).toISOString(),
      sampled: this.sampled,
      compared: this.compared,
      dropped: this.dropped,
      failed: this.failed,
      agreement: this.agreement,
      score_difference: { mean: this.difference.mean(), p99: this.difference.quantile(0.99) },
      low_confidence: { serving: share(this.lowServing), candidate: share(this.lowCandidate) },
      confusion: [...this.#confusion].sort(([, a], [, b]) => b.count - a.count).map((
        [key, pair],
      ) => ({
        serving: Number(key.split(">")[0]),
        candidate: Number(key.split(">")[1]),
        count: pair.count,
        examples: pair.examples,
      })),
    };
  }
}

/** Codes that say the version failed a request (not the client's mistake, not load). */
const VERSION_FAILURES: readonly number[] = [Status.INTERNAL_ERROR, Status.MODEL_UNAVAILABLE];

/** Per version in a canary: its requests side by side with the other version's. */
export class VersionFigures {
  readonly version: number;
  requests = 0;
  /** Requests that got an error, by code. */
  errors: Record<string, number> = {};
  /** Errors the version is to blame for (`INTERNAL_ERROR`, `MODEL_UNAVAILABLE`). */
  failures = 0;
  digits = 0;
  lowConfidence = 0;
  /** Request latency from arrival to reply, ms (0..10 s in 1 ms bins; longer is the last bin). */
  latency = new BinnedQuantiles(10_000, 10_000);
  #lowConfidence: number;

  constructor(version: number, lowConfidence: number) {
    this.version = version;
    this.#lowConfidence = lowConfidence;
  }

  /** Empty figures of another version, judged alike (the serving version swapped under a canary). */
  fresh(version: number): VersionFigures {
    return new VersionFigures(version, this.#lowConfidence);
  }

  /** One request's outcome: its code, latency and answers (null on an error). */
  add(
    status: number,
    code: string,
    totalMs: number,
    results: readonly { scores: Float32Array }[] | null,
  ): void {
    this.requests++;
    this.latency.add(totalMs);
    if (status !== Status.OK) {
      this.errors[code] = (this.errors[code] ?? 0) + 1;
      if (VERSION_FAILURES.includes(status)) this.failures++;
      return;
    }
    for (const result of results ?? []) {
      this.digits++;
      if (topScore(result.scores) < this.#lowConfidence) this.lowConfidence++;
    }
  }

  get errorRate(): number {
    return this.requests ? this.failures / this.requests : 0;
  }

  get lowConfidenceRate(): number {
    return this.digits ? this.lowConfidence / this.digits : 0;
  }

  json() {
    return {
      version: this.version,
      requests: this.requests,
      errors: this.errors,
      error_rate: this.errorRate,
      latency_ms: { p50: this.latency.quantile(0.5), p99: this.latency.quantile(0.99) },
      digits: this.digits,
      low_confidence_rate: this.lowConfidenceRate,
    };
  }
}
