/**
 * Per model version figures for Triton's statistics extension
 * (`GET /v2/models/{name}[/versions/{version}]/stats`), kept since the server
 * started, in the document's JSON shape: `{"model_stats": [...]}`, each with
 * `name`, `version`, `last_inference` (ms since the epoch),
 * `inference_count` (digits answered), `execution_count` (engine runs),
 * `inference_stats` and `batch_stats`, every duration a `{count, ns}` pair.
 *
 * As Triton counts them: a successful request adds its digits to
 * `inference_count` and one to each of `success`, `queue` and the three
 * `compute_*` figures; a failed one adds only to `fail`. An engine run adds
 * one to `execution_count` and to its batch size's row. The engine's time is
 * `compute_infer`; preparing inputs and reading outputs happen inside it
 * here, so `compute_input` and `compute_output` count without time.
 *
 * @example
 * ```ts
 * import { ModelStats } from "./model_stats.ts";
 *
 * const stats = new ModelStats();
 * stats.track("mnist", 1);
 * stats.run("mnist", 1, 8, 2_000_000);
 * stats.request("mnist", 1, { ok: true, digits: 8, queueNs: 50_000, computeNs: 2_000_000, totalNs: 2_400_000 });
 * console.log(stats.toJson("mnist")); // { model_stats: [{ name: "mnist", version: "1", inference_count: 8, ... }] }
 * console.log(stats.toJson("other")); // null: the route answers 404
 * ```
 * @module
 */

/** A count and the total time of what it counts, in nanoseconds. */
export interface DurationStat {
  count: number;
  ns: number;
}

/** The extension's `$inference_stats`. */
export interface InferenceStats {
  success: DurationStat;
  fail: DurationStat;
  queue: DurationStat;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
  cache_hit: DurationStat;
}

/** The extension's `$batch_stats`: the engine runs of one batch size. */
export interface BatchStat {
  batch_size: number;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
}

/** The extension's `$model_stat`: one model version. */
export interface ModelStat {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferenceStats;
  batch_stats: BatchStat[];
}

/** The extension's `$stats_model_response`. */
export interface ModelStatsDocument {
  model_stats: ModelStat[];
}

/** How one inference request ended and where its time went. */
export interface RequestOutcome {
  /** Answered (true) or failed (false). */
  ok: boolean;
  /** Digits answered. */
  digits: number;
  /** Waiting for an engine run. */
  queueNs: number;
  /** The engine's time for the request's digits. */
  computeNs: number;
  /** From the request's arrival to its answer. */
  totalNs: number;
}

const zero = (): DurationStat => ({ count: 0, ns: 0 });

function add(stat: DurationStat, ns: number): void {
  stat.count++;
  // Whole nanoseconds, as the document's integers; a clock that stepped back adds nothing.
  stat.ns += ns > 0 ? Math.round(ns) : 0;
}

function newStat(name: string, version: string): ModelStat {
  return {
    name,
    version,
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: {
      success: zero(),
      fail: zero(),
      queue: zero(),
      compute_input: zero(),
      compute_infer: zero(),
      compute_output: zero(),
      cache_hit: zero(),
    },
    batch_stats: [],
  };
}

/** Versions in numeric order ("2" before "10"), then as text. */
function byVersion(a: ModelStat, b: ModelStat): number {
  return Number(a.version) - Number(b.version) || a.version.localeCompare(b.version);
}

/** Copies a figure so a caller's document never changes with later traffic. */
function copy(stat: ModelStat): ModelStat {
  return structuredClone(stat);
}

/** The statistics extension's figures for every model version the server serves or served. */
export class ModelStats {
  #models = new Map<string, Map<string, ModelStat>>();
  #now: () => number;

  /** `now` gives ms since the epoch (`Date.now` unless a test gives a clock). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  #entry(name: string, version: string | number): ModelStat {
    const key = String(version);
    let versions = this.#models.get(name);
    if (!versions) this.#models.set(name, versions = new Map());
    let stat = versions.get(key);
    if (!stat) versions.set(key, stat = newStat(name, key));
    return stat;
  }

  /** A version that serves: it answers with zeros until traffic comes. */
  track(name: string, version: string | number): void {
    this.#entry(name, version);
  }

  /** Forgets a version that stopped serving, or every version of `name` without one. */
  forget(name: string, version?: string | number): void {
    if (version === undefined) this.#models.delete(name);
    else {
      this.#models.get(name)?.delete(String(version));
      if (this.#models.get(name)?.size === 0) this.#models.delete(name);
    }
  }

  /** One inference request answered or failed by `name` version `version`. */
  request(name: string, version: string | number, outcome: RequestOutcome): void {
    const stat = this.#entry(name, version);
    const s = stat.inference_stats;
    if (!outcome.ok) {
      add(s.fail, outcome.totalNs);
      return;
    }
    stat.inference_count += outcome.digits;
    stat.last_inference = Math.max(stat.last_inference, this.#now());
    add(s.success, outcome.totalNs);
    add(s.queue, outcome.queueNs);
    add(s.compute_input, 0);
    add(s.compute_infer, outcome.computeNs);
    add(s.compute_output, 0);
  }

  /** One engine run of `batchSize` digits that took `ns`. */
  run(name: string, version: string | number, batchSize: number, ns: number): void {
    const stat = this.#entry(name, version);
    stat.execution_count++;
    stat.last_inference = Math.max(stat.last_inference, this.#now());
    let row = stat.batch_stats.find((b) => b.batch_size === batchSize);
    if (!row) {
      row = {
        batch_size: batchSize,
        compute_input: zero(),
        compute_infer: zero(),
        compute_output: zero(),
      };
      stat.batch_stats.push(row);
      stat.batch_stats.sort((a, b) => a.batch_size - b.batch_size);
    }
    add(row.compute_input, 0);
    add(row.compute_infer, ns);
    add(row.compute_output, 0);
  }

  /**
   * The document for `GET /v2/models/{name}[/versions/{version}]/stats`
   * (every version of `name` without `version`; every model without `name`),
   * or null when no such model or version is known: the route answers 404.
   */
  toJson(name?: string, version?: string): ModelStatsDocument | null {
    if (name === undefined) {
      const names = [...this.#models.keys()].sort();
      return {
        model_stats: names.flatMap((n) => [...this.#models.get(n)!.values()].sort(byVersion))
          .map(copy),
      };
    }
    const versions = this.#models.get(name);
    if (!versions) return null;
    if (version === undefined) {
      return { model_stats: [...versions.values()].sort(byVersion).map(copy) };
    }
    const stat = versions.get(version);
    return stat ? { model_stats: [copy(stat)] } : null;
  }
}
