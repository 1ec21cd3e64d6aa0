/**
 * The state of the harness's board Worker that every stand-in shares: its
 * settings, the network's behaviour, the counts the harness reads, the
 * board clock, Espruino's event queue and timers, printing, and halting
 * (a reboot or a power cut).
 *
 * @example
 * ```ts
 * import { configure, wall } from "./_harness_board.ts";
 *
 * configure({ speed: 10, wifi: "none", boot: "ram", memoryUsage: 0, serial: "" });
 * console.log(wall(1000)); // 100: a board second passes in a tenth of a second
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import type { BoardStats, FromBoard, NetworkSettings, WorkerOptions } from "./harness_wire.ts";

// Originals, kept before the bundle's world loses them.
export const realSetTimeout = globalThis.setTimeout;
export const realClearTimeout = globalThis.clearTimeout;
export const realSetInterval = globalThis.setInterval;
export const realClearInterval = globalThis.clearInterval;
const resolved = Promise.resolve();
/** Espruino's event queue: after the code that is running now, before any timer. */
export function enqueue(fn: () => void): void {
  // Once halted (a restart or a power cut) nothing more runs.
  resolved.then(() => halted || fn());
}
export const started = performance.now();

export let options: WorkerOptions;
export const network: Required<NetworkSettings> = {
  chunk: 268,
  delayMs: 0,
  refuseAtOnce: false,
  corruptAt: -1,
};
export const stats: BoardStats = {
  connects: 0,
  openSockets: 0,
  toStringCalls: 0,
  toStringBuffers: 0,
  largestWrite: 0,
  timers: 0,
  bytesWritten: 0,
  corrupted: 0,
  wifiConnect: null,
};
export const seenBuffers: ArrayBufferLike[] = [];
/** Set by `load()` and a power cut: the interpreter stops. */
export let halted = false;
export const timers: number[] = [];

/** Takes the board's fixed settings (the harness's `start`). */
export function configure(settings: WorkerOptions): void {
  options = settings;
}

export function post(message: FromBoard): void {
  self.postMessage(message);
}

export function print(...args: unknown[]): void {
  post({ type: "print", line: args.map((a) => String(a)).join(" ") });
}

// deno-lint-ignore no-explicit-any
export type Fn = (...args: any[]) => unknown;

/** Runs a callback as Espruino does: an exception is printed and the board goes on. */
export function guard(fn: Fn, self: unknown, args: unknown[]): void {
  try {
    fn.apply(self, args);
  } catch (e) {
    print("Uncaught " + (e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
  }
}

/** Board ms to wall ms. */
export function wall(ms: number): number {
  return Math.max(0, ms / options.speed);
}

export function forget(id: number): void {
  const at = timers.indexOf(id);
  if (at >= 0) timers.splice(at, 1);
}

export function sleep(boardMs: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, wall(boardMs)));
}

/** Stops everything the board runs: timers and sockets (they close with the Worker). */
export function halt(): void {
  for (const t of timers.splice(0)) {
    realClearTimeout(t);
    realClearInterval(t);
  }
  halted = true;
}
/** The power goes: nothing more runs; the harness ends the Worker. */
export function powerCut(): void {
  halt();
  post({ type: "dead" });
  throw new Error("power cut");
}
