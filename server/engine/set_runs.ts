/**
 * The runs under way of a queue's engine sets: a set a swap replaced is
 * retired, and handed back for closing once its last run ends; and whoever
 * waits for the queue to fall idle (nothing queued, nothing running).
 *
 * @example
 * ```ts
 * import { SetRuns } from "./set_runs.ts";
 *
 * const runs = new SetRuns();
 * const old = { engines: [], version: 1 };
 * runs.started(old);
 * const closing = runs.retire(old); // a swap replaced it mid-run
 * console.log(runs.busy, runs.ended(old), (await closing).version); // true true 1
 * ```
 * @module
 */
import type { EngineSet } from "./queue_options.ts";

/** Runs under way by set, retired sets, and idle waiters; see the module doc. */
export class SetRuns {
  /** Runs under way, by the set they were dispatched to. */
  #running = new Map<EngineSet, number>();
  #retired: { set: EngineSet; closed: () => void }[] = [];
  #idle: (() => void)[] = [];

  /** Whether a run of any set is under way. */
  get busy(): boolean {
    return this.#running.size > 0;
  }

  /** A run of `set` started. */
  started(set: EngineSet): void {
    this.#running.set(set, (this.#running.get(set) ?? 0) + 1);
  }

  /** A run of `set` ended: true when it was the set's last (a retired set is handed back then). */
  ended(set: EngineSet): boolean {
    const left = (this.#running.get(set) ?? 1) - 1;
    if (left > 0) {
      this.#running.set(set, left);
      return false;
    }
    this.#running.delete(set);
    const retired = this.#retired.findIndex((r) => r.set === set);
    if (retired >= 0) this.#retired.splice(retired, 1)[0].closed();
    return true;
  }

  /** Resolves with `old` once the runs it has under way have ended (at once with none). */
  retire(old: EngineSet): Promise<EngineSet> {
    if (!this.#running.get(old)) return Promise.resolve(old);
    return new Promise((resolve) => this.#retired.push({ set: old, closed: () => resolve(old) }));
  }

  /** Resolves at the next `idle()`. */
  waitIdle(): Promise<void> {
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Tells every waiter that the queue fell idle. */
  idle(): void {
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
