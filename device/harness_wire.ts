/**
 * The messages between the test harness (`harness.ts`) and its board's
 * Worker (`harness_worker.ts`), and the settings and counts they carry.
 *
 * @example
 * ```ts
 * import type { ToBoard, WorkerOptions } from "./harness_wire.ts";
 *
 * const options: WorkerOptions = { speed: 10, wifi: "none", boot: "ram", memoryUsage: 900, serial: "5ccf7f0a-1b2c" };
 * const start: ToBoard = { type: "start", code: "print('hi')", options };
 * console.log(start.type); // start
 * ```
 * @module
 */

/** What the harness sends. */
export type ToBoard =
  | { type: "start"; code: string; options: WorkerOptions }
  | { type: "eval"; id: number; code: string }
  | { type: "network"; settings: NetworkSettings }
  | { type: "stats"; id: number }
  | { type: "stop"; id: number };

/** What the board sends back. */
export type FromBoard =
  | { type: "print"; line: string }
  | { type: "result"; id: number; value?: string; error?: string }
  | { type: "stats"; id: number; stats: BoardStats }
  /** `load()`: the harness starts the board again on the same Storage (a reboot). */
  | { type: "reboot"; stats: BoardStats }
  /** The power went (`powerCut`): the harness stops the board where it is. */
  | { type: "dead" };

/** How the network behaves; changeable while the board runs. */
export interface NetworkSettings {
  /** Largest `data` event in bytes. */
  chunk?: number;
  /** Board ms before each `data` event: a slow server or link. */
  delayMs?: number;
  /** Whether `net.connect` throws at once, as Espruino on Linux does for a refused connection. */
  refuseAtOnce?: boolean;
  /** Flips the bits of the byte this many bytes into what the board receives from now on, once. */
  corruptAt?: number;
}

/** The board's fixed settings. */
export interface WorkerOptions extends NetworkSettings {
  /** Board time runs this many times faster than the wall clock. */
  speed: number;
  /** "none": no Wifi module; "saved": connects 1 s after start; "connected"; "never". */
  wifi: "none" | "saved" | "connected" | "never";
  /** "flash": the `init` event follows the code, as at boot from flash; "ram": no `init`. */
  boot: "flash" | "ram";
  /** What `process.memory().usage` reports: the harness cannot count variables. */
  memoryUsage: number;
  /** What `getSerial()` answers: an ESP8266 gives its station MAC as `5ccf7f0a-1b2c`. */
  serial: string;
  /**
   * The board's flash for `require("Storage")`: a JSON file of name → text,
   * so that a board started again on the same file is a reboot. Without it,
   * Storage starts empty and lives in memory.
   */
  storageFile?: string;
  /** "code" (default): run the code given; "storage": run `.bootcde` from Storage, as at power-on. */
  from?: "code" | "storage";
  /** Files to put into Storage before starting, when it has none of that name. */
  files?: Record<string, string>;
  /**
   * Cuts the power during the first write into this file at an offset above
   * 0: half of that piece reaches flash, then the board stops (`dead`).
   */
  powerCut?: string;
}

/** What the harness can count in place of variables. */
export interface BoardStats {
  /** `net.connect` calls. */
  connects: number;
  /** Sockets not yet closed. */
  openSockets: number;
  /** `E.toString` calls with a Uint8Array, and how many different buffers were under them. */
  toStringCalls: number;
  toStringBuffers: number;
  /** The most bytes one `write` took: a whole request copied into the socket at once shows here. */
  largestWrite: number;
  /** Timers and intervals pending. */
  timers: number;
  /** Bytes the firmware wrote to sockets. */
  bytesWritten: number;
  /** Bytes received with their bits flipped (`corruptAt`). */
  corrupted: number;
  /** The `ssid` and `password` of the last `Wifi.connect`, if any. */
  wifiConnect: { ssid: string; password?: string } | null;
}
