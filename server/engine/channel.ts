/**
 * The shared memory between the engine and its worker. A run's digits go in,
 * its scores come out, and two counters in an `Int32Array` say whose turn it
 * is: the server bumps `REQUEST` and notifies; the worker, blocked in
 * `Atomics.wait`, runs the batch, sets `DONE` to the same number and
 * notifies back. Waking a thread this way costs a few microseconds where a
 * `postMessage` round trip costs about a tenth of a millisecond, which is
 * most of the server's own share of a single client's round trip.
 *
 * @module
 */

/** Int32 slots of the header. */
export const REQUEST = 0;
export const DONE = 1;
export const COUNT = 2;
export const FAILED = 3;
export const ERROR_LENGTH = 4;
/** Written to `REQUEST` to end the worker's loop. */
export const STOP = -1;

const HEADER_BYTES = 64;
const TIME_BYTES = 8;
const ERROR_BYTES = 1024;

/** Views of one shared buffer, built the same way on both sides. */
export interface EngineChannel {
  buffer: SharedArrayBuffer;
  header: Int32Array<SharedArrayBuffer>;
  /** The run's time in ms, written by the worker. */
  time: Float64Array<SharedArrayBuffer>;
  /** A failed run's message, ASCII. */
  error: Uint8Array<SharedArrayBuffer>;
  /** maxBatch × 784 floats. */
  input: Float32Array<SharedArrayBuffer>;
  /** maxBatch × 10 floats. */
  output: Float32Array<SharedArrayBuffer>;
  maxBatch: number;
}

/** Allocates a channel for batches of up to `maxBatch` digits. */
export function createChannel(maxBatch: number): EngineChannel {
  const bytes = HEADER_BYTES + TIME_BYTES + ERROR_BYTES + maxBatch * (784 + 10) * 4;
  return openChannel(new SharedArrayBuffer(bytes), maxBatch);
}

/** Views a channel's buffer (in the worker, after it was posted). */
export function openChannel(buffer: SharedArrayBuffer, maxBatch: number): EngineChannel {
  let at = 0;
  const header = new Int32Array(buffer, at, HEADER_BYTES / 4);
  at += HEADER_BYTES;
  const time = new Float64Array(buffer, at, 1);
  at += TIME_BYTES;
  const error = new Uint8Array(buffer, at, ERROR_BYTES);
  at += ERROR_BYTES;
  const input = new Float32Array(buffer, at, maxBatch * 784);
  at += maxBatch * 784 * 4;
  const output = new Float32Array(buffer, at, maxBatch * 10);
  return { buffer, header, time, error, input, output, maxBatch };
}

/** Stores a failed run's message (ASCII, cut to fit). */
export function writeError(channel: EngineChannel, message: string): void {
  const n = Math.min(message.length, channel.error.length);
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    channel.error[i] = c < 128 ? c : 63;
  }
  Atomics.store(channel.header, ERROR_LENGTH, n);
}

/** Reads a failed run's message. */
export function readError(channel: EngineChannel): string {
  const n = Atomics.load(channel.header, ERROR_LENGTH);
  return String.fromCharCode(...channel.error.subarray(0, n));
}
