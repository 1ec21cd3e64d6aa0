/**
 * What a load runner (`load.ts`) records: one entry per request attempted,
 * in columns of typed arrays that grow as requests finish (latency, start,
 * status, the server's figures, whether the digit was right), and its
 * failures by kind.
 *
 * @example
 * ```ts
 * import { Columns, NO_REPLY } from "./load_record.ts";
 *
 * const columns = new Columns();
 * columns.push(0, 1.5, NO_REPLY, null, -1, true); // a request that got no reply
 * console.log(columns.count, columns.latencyMs[0], columns.status[0]); // 1 1.5 -1
 * ```
 * @module
 */
import type { DecodedReply } from "../shared/reply_codec.ts";

/** Status recorded for a request that got no reply at all (see `errors` for why). */
export const NO_REPLY = -1;

/** One runner's record: one entry per request attempted, in the order they finished. */
export interface LoadResult {
  count: number;
  /** Send to reply (or failure), in ms. */
  latencyMs: Float64Array;
  /** When the request started, in ms after `originMs`. */
  startMs: Float64Array;
  /** The reply's status (`Status`), or `NO_REPLY`. */
  status: Int16Array;
  /** The server's `timer_ms`: its run's inference time (the whole batch's). NaN without a reply. */
  inferenceMs: Float32Array;
  /** The server's `queue_ms` (framed only, else NaN). */
  queueMs: Float32Array;
  /** The server's `batch_size` (framed only, else 0). */
  batchSize: Uint16Array;
  /** 1 when the predicted digit matched the label, 0 when not, -1 when unknown. */
  correct: Int8Array;
  /** Failures by kind: status names (`SERVER_BUSY`, ...) and connection errors (`TIMEOUT`, ...). */
  errors: Record<string, number>;
  /** `performance.timeOrigin + performance.now()` when the run started: a clock all threads share. */
  originMs: number;
  /** From the start to the last request's end, in ms. */
  elapsedMs: number;
  /** CPU time of the thread that ran it, in ns (null where unknown). */
  cpuNs: number | null;
}

/** Growable columns of the record. */
export class Columns {
  count = 0;
  latencyMs = new Float64Array(1024);
  startMs = new Float64Array(1024);
  status = new Int16Array(1024);
  inferenceMs = new Float32Array(1024);
  queueMs = new Float32Array(1024);
  batchSize = new Uint16Array(1024);
  correct = new Int8Array(1024);

  push(
    start: number,
    latency: number,
    status: number,
    reply: DecodedReply | null,
    correct: number,
    framed: boolean,
  ): void {
    if (this.count === this.latencyMs.length) this.#grow();
    const i = this.count++;
    this.startMs[i] = start;
    this.latencyMs[i] = latency;
    this.status[i] = status;
    this.inferenceMs[i] = reply ? reply.inferenceMs : NaN;
    this.queueMs[i] = reply && framed ? reply.queueMs : NaN;
    this.batchSize[i] = reply && framed ? reply.batchSize : 0;
    this.correct[i] = correct;
  }

  #grow(): void {
    const grow = <T extends { length: number; set(a: T): void }>(a: T, make: (n: number) => T) => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.latencyMs = grow(this.latencyMs, (n) => new Float64Array(n));
    this.startMs = grow(this.startMs, (n) => new Float64Array(n));
    this.status = grow(this.status, (n) => new Int16Array(n));
    this.inferenceMs = grow(this.inferenceMs, (n) => new Float32Array(n));
    this.queueMs = grow(this.queueMs, (n) => new Float32Array(n));
    this.batchSize = grow(this.batchSize, (n) => new Uint16Array(n));
    this.correct = grow(this.correct, (n) => new Int8Array(n));
  }
}
