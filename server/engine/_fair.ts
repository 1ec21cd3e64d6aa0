/**
 * A queue that serves its owners in turn: each owner (a connection, an HTTP
 * request) has its own first-in-first-out lane, and `take(n)` takes one item
 * from each lane in turn until it has `n`. A client that pipelines thousands
 * of digits then waits behind its own digits, not the other way round: a
 * board sending one digit at a time gets it into the next batch whatever the
 * flood beside it.
 *
 * An owner with nothing waiting that pushes starts a fresh lane, and fresh
 * lanes are served before the turn of the busy ones (fq_codel's "new flows"):
 * however many greedy connections share the turn, a board's one digit does
 * not wait behind one item of each; batches can then stay small (short runs,
 * short waits) without pushing a quiet client out of the next one.
 *
 * @module
 */

interface Lane<T> {
  items: T[];
  /** Index of the lane's first item not yet taken (shifting arrays is linear). */
  head: number;
}

/** Per-owner FIFO lanes, taken round-robin, lanes that were empty first. */
export class FairQueue<T> {
  /** Lanes whose owner had nothing waiting when it pushed, in arrival order. */
  #fresh = new Map<unknown, Lane<T>>();
  /** Lanes served at least once and still waiting, in turn. */
  #turn = new Map<unknown, Lane<T>>();
  #length = 0;
  /** Lanes with more than one item waiting: owners that queue ahead of their answers. */
  #deep = 0;

  /** Items waiting, over every lane. */
  get length(): number {
    return this.#length;
  }

  /** How many owners have more than one item waiting (pipelining clients, batch requests). */
  get deepLanes(): number {
    return this.#deep;
  }

  /** Items waiting in `owner`'s lane. */
  waiting(owner: unknown): number {
    const lane = this.#fresh.get(owner) ?? this.#turn.get(owner);
    return lane ? lane.items.length - lane.head : 0;
  }

  /** Adds `item` at the end of `owner`'s lane. */
  push(owner: unknown, item: T): void {
    let lane = this.#fresh.get(owner) ?? this.#turn.get(owner);
    if (!lane) {
      lane = { items: [], head: 0 };
      this.#fresh.set(owner, lane);
    }
    lane.items.push(item);
    this.#length++;
    if (lane.items.length - lane.head === 2) this.#deep++;
  }

  /**
   * Takes up to `n` items: one from each fresh lane, then one per lane of the
   * turn, round after round; a lane served goes to the back of the turn.
   */
  take(n: number): T[] {
    const out: T[] = [];
    this.#serve(this.#fresh, out, n);
    while (out.length < n && this.#length > 0) this.#serve(this.#turn, out, n);
    return out;
  }

  /** One item from each lane of `lanes` in order, until `out` has `n`; lanes left go to the back of the turn. */
  #serve(lanes: Map<unknown, Lane<T>>, out: T[], n: number): void {
    for (const [owner, lane] of lanes) {
      if (out.length === n) return;
      out.push(lane.items[lane.head++]);
      this.#length--;
      if (lane.items.length - lane.head === 1) this.#deep--;
      // Re-inserting moves the owner behind the others for the next turn.
      lanes.delete(owner);
      if (lane.head < lane.items.length) {
        if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
          lane.items = lane.items.slice(lane.head);
          lane.head = 0;
        }
        this.#turn.set(owner, lane);
      }
    }
  }
}
