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
 * An item may stand for several digits (an HTTP request's batch, which one
 * version must answer whole): lengths and `take(n)` count digits, and an item
 * is never split; one larger than `n` is taken alone.
 *
 * @module
 */

interface Lane<T> {
  items: T[];
  /** Index of the lane's first item not yet taken (shifting arrays is linear). */
  head: number;
  /** Digits waiting in the lane. */
  size: number;
}

/** Per-owner FIFO lanes, taken round-robin, lanes that were empty first. */
export class FairQueue<T> {
  /** Lanes whose owner had nothing waiting when it pushed, in arrival order. */
  #fresh = new Map<unknown, Lane<T>>();
  /** Lanes served at least once and still waiting, in turn. */
  #turn = new Map<unknown, Lane<T>>();
  #length = 0;
  /** Lanes with more than one digit waiting: owners that queue ahead of their answers. */
  #deep = 0;
  #sizeOf: (item: T) => number;

  /** `sizeOf` tells how many digits an item stands for (default: one each). */
  constructor(sizeOf: (item: T) => number = () => 1) {
    this.#sizeOf = sizeOf;
  }

  /** Digits waiting, over every lane. */
  get length(): number {
    return this.#length;
  }

  /** How many owners have more than one digit waiting (pipelining clients, batch requests). */
  get deepLanes(): number {
    return this.#deep;
  }

  /** Digits waiting in `owner`'s lane. */
  waiting(owner: unknown): number {
    const lane = this.#fresh.get(owner) ?? this.#turn.get(owner);
    return lane ? lane.size : 0;
  }

  /** Adds `item` at the end of `owner`'s lane. */
  push(owner: unknown, item: T): void {
    let lane = this.#fresh.get(owner) ?? this.#turn.get(owner);
    if (!lane) {
      lane = { items: [], head: 0, size: 0 };
      this.#fresh.set(owner, lane);
    }
    const size = this.#sizeOf(item);
    lane.items.push(item);
    this.#length += size;
    if (lane.size < 2 && lane.size + size >= 2) this.#deep++;
    lane.size += size;
  }

  /**
   * Takes items of up to `n` digits in all: one from each fresh lane, then one
   * per lane of the turn, round after round; a lane served goes to the back
   * of the turn. A lane whose next item does not fit what is left waits for
   * the next take, except that the first item taken may be larger than `n`.
   */
  take(n: number): T[] {
    const out: T[] = [];
    this.#taken = 0;
    this.#serve(this.#fresh, out, n);
    while (this.#taken < n && this.#length > 0) {
      const before = this.#taken;
      this.#serve(this.#turn, out, n);
      if (this.#taken === before) break; // every next item is too large for what is left
    }
    return out;
  }

  /** Digits in the items the current `take` has taken. */
  #taken = 0;

  /** One item from each lane of `lanes` in order, while `n` digits are not taken; lanes served go to the back of the turn. */
  #serve(lanes: Map<unknown, Lane<T>>, out: T[], n: number): void {
    for (const [owner, lane] of lanes) {
      if (this.#taken >= n) return;
      const item = lane.items[lane.head];
      const size = this.#sizeOf(item);
      if (out.length > 0 && this.#taken + size > n) continue;
      out.push(item);
      lane.items[lane.head++] = undefined as T; // the queue holds no answered item
      this.#taken += size;
      this.#length -= size;
      if (lane.size >= 2 && lane.size - size < 2) this.#deep--;
      lane.size -= size;
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
