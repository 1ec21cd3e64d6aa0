/**
 * Which column of the shared limits (`SharedBoardLimits`) each listener
 * Worker's place counts in. Column 0 is the main thread's; place i (thread
 * i + 1) counts in column i + 1 at first, and there is one spare column per
 * place. A hung Worker that does not stop keeps its column (its sockets are
 * open, its connections counted), so its replacement counts in a spare; the
 * stuck one's column is given back when it stops, to a place waiting for one
 * or to the spares. A place never shares a column with a live Worker: a
 * release would wipe that Worker's counts.
 *
 * @example
 * ```ts
 * import { LimitColumns } from "./limit_columns.ts";
 *
 * const columns = new LimitColumns(2); // columns 0-4: the main thread's, two places', two spares
 * console.log(columns.of(1), columns.count); // 1 5
 * columns.moveToSpare(1); // thread 1's Worker is stuck: its replacement counts in a spare
 * console.log(columns.of(1)); // 4
 * console.log(columns.freed(1)); // undefined: no place waited, column 1 is a spare now
 * ```
 * @module
 */

/** Each place's column in the shared limits, the spare ones, and the places waiting for one. */
export class LimitColumns {
  /** Columns in all: the main thread's, one per place, one spare per place. */
  readonly count: number;
  #columns: number[];
  #spares: number[];
  /** Places (threads) waiting for a column to start a Worker in: every spare is a stuck Worker's. */
  #waiting: number[] = [];

  constructor(places: number) {
    this.count = 2 * places + 1;
    this.#columns = Array.from({ length: places }, (_, i) => i + 1);
    this.#spares = Array.from({ length: places }, (_, i) => places + 1 + i);
  }

  /**
   * The column `thread`'s place counts in now. While the place waits
   * (`moveToSpare` returned false) this is still the stuck Worker's column:
   * nothing is started there until `freed` returns the thread.
   */
  of(thread: number): number {
    return this.#columns[thread - 1];
  }

  /**
   * `thread`'s Worker is stuck and keeps its column: the place moves to a
   * spare. False when none is left: the place waits (`freed` gives it one).
   */
  moveToSpare(thread: number): boolean {
    const spare = this.#spares.pop();
    if (spare === undefined) {
      this.#waiting.push(thread);
      return false;
    }
    this.#columns[thread - 1] = spare;
    return true;
  }

  /**
   * A stuck Worker's `column`, released now that it has stopped: the first
   * waiting place takes it (its thread returned, to start a Worker in), or
   * it becomes a spare (undefined returned). `giveToWaiting` false (the
   * Workers are stopping): always a spare.
   */
  freed(column: number, giveToWaiting = true): number | undefined {
    const waiting = giveToWaiting ? this.#waiting.shift() : undefined;
    if (waiting === undefined) {
      this.#spares.push(column);
      return undefined;
    }
    this.#columns[waiting - 1] = column;
    return waiting;
  }
}
