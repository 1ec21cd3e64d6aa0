/**
 * Deadlines that all last the same time, watched by one timer. Every HTTP
 * body the port reads has the same deadline from its start
 * (`--http-body-timeout-ms`), so the deadlines fall due in the order they
 * were added: they are kept in that order, in a list any one can leave at
 * once, and one timer waits for the oldest. A body costs no timer of its
 * own (a `setTimeout` and its `clearTimeout` per request were a few percent
 * of the event loop's time per HTTP inference).
 *
 * When the oldest leaves, the timer is not moved: it wakes at the old time,
 * finds the new oldest and sleeps again. Nor is it stopped when the list
 * empties: a body that arrives with its headers leaves the list at once, and
 * a timer stopped then would be started again by the next one, a timer per
 * request after all. It wakes at its time and, nothing waiting, stops then.
 * Meanwhile it is unref'd (`Deno.unrefTimer`, far cheaper than a new timer),
 * so an idle port (or a test that ends) is held by no timer; it holds the
 * process again while a deadline waits.
 *
 * @example
 * ```ts
 * import { DeadlineQueue } from "./deadline_queue.ts";
 *
 * const deadlines = new DeadlineQueue(20);
 * const kept = deadlines.add(() => console.log("late")); // prints "late" after 20 ms
 * const left = deadlines.add(() => console.log("never"));
 * deadlines.remove(left); // done in time: its callback never runs
 * await new Promise((resolve) => setTimeout(resolve, 40));
 * console.log(kept.expired, deadlines.size); // true 0
 * ```
 * @module
 */

/** One deadline in a `DeadlineQueue`. */
export interface QueuedDeadline {
  /** When it falls due, on `performance.now()`'s clock. */
  readonly at: number;
  /** Its callback has run. */
  readonly expired: boolean;
}

/** A deadline as its queue keeps it: a link in the list, oldest to newest. */
class Link implements QueuedDeadline {
  expired = false;
  /** In its queue's list (neither removed nor expired). */
  queued = true;
  prev: Link | null = null;
  next: Link | null = null;

  constructor(readonly at: number, readonly onExpire: () => void) {}
}

/** Deadlines of `ms` each, in the order they were added, with one timer. */
export class DeadlineQueue {
  readonly ms: number;
  #oldest: Link | null = null;
  #newest: Link | null = null;
  #size = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `ms`: how long each deadline lasts from `add`. */
  constructor(ms: number) {
    this.ms = ms;
  }

  /** Deadlines waiting. */
  get size(): number {
    return this.#size;
  }

  /** Calls `onExpire` once `ms` have passed, unless the deadline is removed first. */
  add(onExpire: () => void): QueuedDeadline {
    const deadline = new Link(performance.now() + this.ms, onExpire);
    deadline.prev = this.#newest;
    if (this.#newest) this.#newest.next = deadline;
    else this.#oldest = deadline;
    this.#newest = deadline;
    if (this.#timer === undefined) this.#arm(this.ms);
    else if (this.#size === 0) Deno.refTimer(this.#timer);
    this.#size++;
    return deadline;
  }

  /** Takes `deadline` out (the work finished in time): its callback will not run. A second call does nothing. */
  remove(deadline: QueuedDeadline): void {
    const link = deadline as Link;
    if (link.queued) this.#unlink(link);
  }

  #unlink(deadline: Link): void {
    deadline.queued = false;
    if (deadline.prev) deadline.prev.next = deadline.next;
    else this.#oldest = deadline.next;
    if (deadline.next) deadline.next.prev = deadline.prev;
    else this.#newest = deadline.prev;
    deadline.prev = deadline.next = null;
    if (--this.#size === 0 && this.#timer !== undefined) Deno.unrefTimer(this.#timer);
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => this.#due(), Math.max(0, Math.ceil(delay)));
  }

  /** Runs the callbacks of every deadline passed, oldest first, then waits for the next. */
  #due(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (let oldest = this.#oldest; oldest && oldest.at <= now; oldest = this.#oldest) {
      this.#unlink(oldest);
      oldest.expired = true;
      try {
        oldest.onExpire();
      } catch {
        // One callback's throw must not leave the later deadlines unwatched.
      }
    }
    if (this.#oldest && this.#timer === undefined) this.#arm(this.#oldest.at - now);
  }
}
