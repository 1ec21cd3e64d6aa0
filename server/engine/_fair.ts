/**
 * A queue that serves its owners in turn: each owner (a connection, an HTTP
 * request) has its own first-in-first-out lane, and `take(n)` takes one item
 * from each lane in turn until it has `n`. A client that pipelines thousands
 * of digits then waits behind its own digits, not the other way round: a
 * board sending one digit at a time gets it into the next batch whatever the
 * flood beside it.
 *
 * @module
 */

interface Lane<T> {
  items: T[];
  /** Index of the lane's first item not yet taken (shifting arrays is linear). */
  head: number;
}

/** Per-owner FIFO lanes, taken round-robin. */
export class FairQueue<T> {
  #lanes = new Map<unknown, Lane<T>>();
  #length = 0;

  /** Items waiting, over every lane. */
  get length(): number {
    return this.#length;
  }

  /** Items waiting in `owner`'s lane. */
  waiting(owner: unknown): number {
    const lane = this.#lanes.get(owner);
    return lane ? lane.items.length - lane.head : 0;
  }

  /** Adds `item` at the end of `owner`'s lane. */
  push(owner: unknown, item: T): void {
    let lane = this.#lanes.get(owner);
    if (!lane) {
      lane = { items: [], head: 0 };
      this.#lanes.set(owner, lane);
    }
    lane.items.push(item);
    this.#length++;
  }

  /** Takes up to `n` items, one per lane in turn; a lane served goes to the back of the turn. */
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.#length > 0) {
      for (const [owner, lane] of this.#lanes) {
        out.push(lane.items[lane.head++]);
        this.#length--;
        // Re-inserting moves the owner behind the others for the next turn.
        this.#lanes.delete(owner);
        if (lane.head < lane.items.length) {
          if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
            lane.items = lane.items.slice(lane.head);
            lane.head = 0;
          }
          this.#lanes.set(owner, lane);
        }
        if (out.length === n) break;
      }
    }
    return out;
  }
}
