/**
 * The shared memory between an engine and its worker, and the messages that
 * set it up. A run's digits go in, its scores come out, and counters in an
 * `Int32Array` say whose turn it is: the engine bumps `REQUEST` and notifies;
 * the worker runs the batch, sets `DONE` to the same number and notifies
 * back. Waking a thread this way costs a few microseconds where a
 * `postMessage` round trip costs about a tenth of a millisecond.
 *
 * Run numbers wrap around the whole Int32 range: stopping is its own slot
 * (`STOP`), never a reserved run number, so no run can be mistaken for it.
 *
 * @example
 * ```ts
 * import { createChannel, openChannel, REQUEST } from "./channel.ts";
 *
 * const channel = createChannel(8);
 * const seen = openChannel(channel.buffer, 8); // what the worker does with the posted buffer
 * Atomics.store(channel.header, REQUEST, 1);
 * console.log(Atomics.load(seen.header, REQUEST)); // 1
 * ```
 * @module
 */

/** Int32 slots of the header. */
export const REQUEST = 0;
export const DONE = 1;
export const COUNT = 2;
export const FAILED = 3;
export const ERROR_LENGTH = 4;
/** Set to 1 to end the worker's loop. */
export const STOP = 5;
/** Advanced by the worker as it works: the watchdog judges a hang by it, not by the clock alone. */
export const HEARTBEAT = 6;
/**
 * 1: the run's digits are bytes in `bytes`, and the worker makes them floats
 * (`floatsFromBytes`) before it runs; 0: they are floats in `input`. Bytes
 * cost the engine's caller, the event loop, a copy instead of 784 divisions
 * a digit.
 */
export const INPUT_BYTES = 7;

const HEADER_BYTES = 64;
const TIME_BYTES = 8;
const ERROR_BYTES = 1024;

/** What the worker found out about the model. */
export interface ModelShape {
  input: string;
  output: string;
  /** Input dims, -1 for symbolic ones. */
  inputDims: number[];
  outputDims: number[];
  /** The largest batch one `session.run` takes (Infinity for a symbolic batch). */
  maxBatch: number;
  /** The runtime and its version, e.g. "onnxruntime-web 1.30.0 (wasm, 1 thread)". */
  runtime: string;
}

/** The one message to the worker: load this model, then serve runs through `buffer`. */
export interface EngineLoad {
  model: Uint8Array;
  threads: number;
  buffer: SharedArrayBuffer;
  maxBatch: number;
  /** The runtime's WebAssembly, compiled once for every worker (the WASM engine's; `ort_wasm.ts`). */
  runtimeModule?: WebAssembly.Module;
}

/** The worker's answer to `EngineLoad`. */
export type EngineReply =
  | { type: "loaded"; shape: ModelShape }
  | { type: "error"; message: string };

/** Views of one shared buffer, built the same way on both sides. */
export interface EngineChannel {
  buffer: SharedArrayBuffer;
  header: Int32Array<SharedArrayBuffer>;
  /** The run's time in ms, written by the worker. */
  time: Float64Array<SharedArrayBuffer>;
  /** A failed run's message, UTF-8. */
  error: Uint8Array<SharedArrayBuffer>;
  /** maxBatch × 784 floats. */
  input: Float32Array<SharedArrayBuffer>;
  /** maxBatch × 784 bytes, a run's digits when `INPUT_BYTES` is 1. */
  bytes: Uint8Array<SharedArrayBuffer>;
  /** maxBatch × 10 floats. */
  output: Float32Array<SharedArrayBuffer>;
  maxBatch: number;
}

/** Allocates a channel for batches of up to `maxBatch` digits. */
export function createChannel(maxBatch: number): EngineChannel {
  const size = HEADER_BYTES + TIME_BYTES + ERROR_BYTES + maxBatch * ((784 + 10) * 4 + 784);
  return openChannel(new SharedArrayBuffer(size), maxBatch);
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
  at += maxBatch * 10 * 4;
  const bytes = new Uint8Array(buffer, at, maxBatch * 784);
  return { buffer, header, time, error, input, output, bytes, maxBatch };
}

/** A byte's pixel as the engine takes it: `b / 255`, rounded to float32 as a division stored there is. */
const BYTE_TO_FLOAT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** Writes `count` byte pixels of `bytes` into `out` from `at` as floats in 0..1 (`b / 255`). */
export function bytesToFloats(
  bytes: Uint8Array,
  out: Float32Array,
  at: number,
  count: number,
): void {
  // A table read costs a third of a division.
  for (let i = 0; i < count; i++) out[at + i] = BYTE_TO_FLOAT[bytes[i]];
}

/** Makes the first `n` digits of the channel's `bytes` floats in its `input` (the worker, before a byte run). */
export function floatsFromBytes(channel: EngineChannel, n: number): void {
  bytesToFloats(channel.bytes, channel.input, 0, n * 784);
}

/** The run number after `run`, wrapping within Int32 and skipping 0 (the header's initial value). */
export function nextRun(run: number): number {
  const next = (run + 1) | 0;
  return next === 0 ? 1 : next;
}

/** Stores a failed run's message (UTF-8, cut to fit on a character boundary). */
export function writeError(channel: EngineChannel, message: string): void {
  const { written } = new TextEncoder().encodeInto(message, channel.error);
  Atomics.store(channel.header, ERROR_LENGTH, written);
}

/** Reads a failed run's message. */
export function readError(channel: EngineChannel): string {
  const n = Atomics.load(channel.header, ERROR_LENGTH);
  // TextDecoder does not read shared memory: copy the bytes out first.
  return new TextDecoder().decode(channel.error.slice(0, n));
}
