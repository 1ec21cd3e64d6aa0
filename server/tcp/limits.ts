/**
 * What the board port's connections share so that no client can exhaust or
 * starve the others: caps on connections (all, and per client address), a
 * budget of bytes buffered across every connection, and each connection's
 * share of the inference queue.
 *
 * The queue share: a connection may have at most
 * `max(minQueueShare, floor(maxQueued / busy))` digits waiting, where `busy`
 * counts the connections with digits waiting (itself included). A flood of
 * pipelined requests from a few connections thus fills their own shares and
 * gets `SERVER_BUSY` for the excess, while a connection that asks now and
 * then always finds room; a lone client may still use the whole queue.
 *
 * @example
 * ```ts
 * import { BoardLimits } from "./limits.ts";
 *
 * const limits = new BoardLimits({ maxConnections: 2, maxConnectionsPerAddress: 1,
 *   maxBufferedBytes: 1 << 20, maxQueued: 4096, minQueueShare: 16 });
 * console.log(limits.addAddress("10.0.0.7"), limits.addAddress("10.0.0.7")); // true false
 * const share = limits.queueShare();
 * console.log(share.admit()); // null: admitted
 * share.release();
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";

/** Why the board port closed, refused or limited a connection, for an observer. */
export type ConnectionReason =
  | "read-timeout"
  | "silent"
  | "idle-timeout"
  | "write-timeout"
  | "max-connections"
  | "max-per-address"
  | "buffer-budget"
  | "queue-share"
  | "fd-reserve";

/** A connection-level event: what `onConnection` receives. */
export interface ConnectionEvent {
  reason: ConnectionReason;
  /** The client (`host:port`; behind a trusted proxy, the real client). */
  peer: string;
}

/** A refusal decided before the protocol is known: sent once it is. */
export interface PendingRefusal {
  error: WireError;
  reason: ConnectionReason;
}

/** The limits, each a server option. */
export interface LimitOptions {
  /** Connections served at once; more are refused with `SERVER_BUSY`. */
  maxConnections: number;
  /** Connections served at once from one client address. */
  maxConnectionsPerAddress: number;
  /** Bytes of unfinished messages buffered across all connections. */
  maxBufferedBytes: number;
  /** The queue's size (`InferenceQueue`'s `maxQueued`), shared out between busy connections. */
  maxQueued: number;
  /** The smallest share of the queue a connection gets however many are busy. */
  minQueueShare: number;
}

/** Memory shared by every connection's unfinished messages (`--max-buffered-bytes`). */
export interface BufferBudget {
  /** Bytes held now. */
  readonly buffered: number;
  /** Changes the bytes held by `delta`; false (and no change) when a rise would pass the budget. */
  charge(delta: number): boolean;
  /** What a refusal says the budget is, when it is not the whole (`httpBudget`'s half). */
  readonly part?: string;
}

/**
 * The part of `limits`' buffer budget HTTP bodies may take: a body is
 * refused once the bytes held by every connection would pass half of
 * `--max-buffered-bytes`, so slow uploads (whose clients no per-address cap
 * bounds) never hold what the boards' messages need; they count in the whole.
 */
export function httpBudget(limits: BoardLimits): BufferBudget {
  const half = Math.floor(limits.options.maxBufferedBytes / 2);
  return {
    get buffered() {
      return limits.buffered;
    },
    charge: (delta) => limits.charge(delta, half),
    part: `the ${half} of its budget that HTTP bodies may take`,
  };
}

/** The error for a message (or body) that would pass `budget`. */
export function budgetSpent(budget: BufferBudget): WireError {
  return new WireError(
    Status.SERVER_BUSY,
    `the server is holding ${budget.buffered} bytes of unfinished messages, ` +
      `${budget.part ?? "its budget"}; try again shortly`,
  );
}

/** Shared counters of the board port's limits. */
export class BoardLimits implements BufferBudget {
  readonly options: LimitOptions;
  #open = 0;
  #perAddress = new Map<string, number>();
  #buffered = 0;
  #busy = 0;

  constructor(options: LimitOptions) {
    this.options = options;
  }

  /** Connections being served. */
  get open(): number {
    return this.#open;
  }

  /** Bytes buffered across all connections. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Connections with digits waiting. */
  get busy(): number {
    return this.#busy;
  }

  /** Takes a connection place; false when all are taken. */
  addConnection(): boolean {
    if (this.#open >= this.options.maxConnections) return false;
    this.#open++;
    return true;
  }

  removeConnection(): void {
    this.#open--;
  }

  /** Takes a place for one more connection from `address`; false when it has its cap. */
  addAddress(address: string): boolean {
    const n = this.#perAddress.get(address) ?? 0;
    if (n >= this.options.maxConnectionsPerAddress) return false;
    this.#perAddress.set(address, n + 1);
    return true;
  }

  removeAddress(address: string): void {
    const n = (this.#perAddress.get(address) ?? 1) - 1;
    if (n > 0) this.#perAddress.set(address, n);
    else this.#perAddress.delete(address);
  }

  /**
   * Changes a connection's buffered bytes by `delta`; false (and no change)
   * when a rise would pass `max` (the budget, or the part of it HTTP bodies may take).
   */
  charge(delta: number, max: number = this.options.maxBufferedBytes): boolean {
    if (delta > 0 && this.#buffered + delta > max) return false;
    this.#buffered += delta;
    return true;
  }

  /**
   * A new connection's share of the queue. `owner`: the connection, for
   * limits that keep its share elsewhere (a listener Worker's, whose queue
   * is on the main thread).
   */
  queueShare(_owner?: unknown): QueueShare {
    return new QueueShare(this);
  }

  /** @internal the share of a connection, counting it among the busy ones. */
  shareSize(countSelf: boolean): number {
    const busy = this.#busy + (countSelf ? 1 : 0);
    return Math.max(this.options.minQueueShare, Math.floor(this.options.maxQueued / busy));
  }

  /** @internal */
  busyChanged(delta: number): void {
    this.#busy += delta;
  }
}

/** One connection's digits in the queue, against its share. */
export class QueueShare {
  #limits: BoardLimits;
  #queued = 0;
  #waiters: (() => void)[] = [];

  constructor(limits: BoardLimits) {
    this.#limits = limits;
  }

  /** Digits of this connection waiting or running. */
  get queued(): number {
    return this.#queued;
  }

  /** Admits one more digit, or refuses it with `SERVER_BUSY` when the connection has its share. */
  admit(): WireError | null {
    const share = this.#limits.shareSize(this.#queued === 0);
    if (this.#queued >= share) {
      return new WireError(
        Status.SERVER_BUSY,
        `this connection already has ${this.#queued} digits waiting, its share of the queue; ` +
          "others are served first",
      );
    }
    if (this.#queued++ === 0) this.#limits.busyChanged(1);
    return null;
  }

  /** Whether the connection has its share waiting or running: its next digit would be refused. */
  get full(): boolean {
    return this.#queued >= this.#limits.shareSize(this.#queued === 0);
  }

  /** Resolves once the connection is under its share again (at the latest when its digits are answered). */
  whenUnder(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** One admitted digit has left the queue. */
  release(): void {
    if (--this.#queued === 0) this.#limits.busyChanged(-1);
    if (this.#waiters.length > 0 && !this.full) {
      for (const resolve of this.#waiters.splice(0)) resolve();
    }
  }
}
