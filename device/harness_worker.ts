/**
 * The inside of the test harness's board: a Worker that plays the Espruino
 * interpreter's part for a built firmware bundle (see `harness.ts`, which
 * starts it). It gives the bundle Espruino's globals, behaving as Espruino
 * does where the firmware could go wrong:
 *
 * - `require("net").connect(options, callback)` returns a socket at once and
 *   connects a real Deno socket behind it. Sockets emit `connect`, `drain`
 *   (after connecting, and whenever what was written has gone out), `data`
 *   (binary strings, at most `chunk` bytes each: 268 on the ESP8266),
 *   `error` (`{code, message}`), `end` and `close`, in that order, queued as
 *   Espruino queues them. `write` takes a string of bytes; anything else is
 *   sent as its text (so a `Uint8Array` goes out as "1,2,3", as on a board);
 *   writing to a closed socket throws "This socket is closed". A refused
 *   connection is an `error` and a `close` (the ESP8266) or, while the
 *   harness refuses, an exception from `connect` (Espruino on Linux).
 * - `E.toString`, `E.toUint8Array`, `E.on`; `on`, `emit` and
 *   `removeAllListeners` on every object, `emit` queuing its listeners;
 *   listeners get the emitting object as `this`.
 * - Timers with Espruino's ids and rules (`clearTimeout(undefined)` throws,
 *   `clearTimeout()` clears every timer and is reported), on a board clock
 *   that can run faster than the wall clock (`speed`), with `getTime()` in
 *   board seconds.
 * - `require("Storage")`: `read`, `write`, `readJSON`, `writeJSON`, `erase`,
 *   `eraseAll`, `list`, backed by a file (`storageFile`), so that starting
 *   a board again on the same file is a reboot.
 * - `require("Wifi")`: missing (it throws, as on wired boards and Linux), or
 *   a stand-in that connects after a while, is connected already, or never
 *   connects.
 * - Globals Espruino lacks (Map, Set, Symbol, TextEncoder, ...) are
 *   undefined for the bundle; `Array.from`, `Math.fround`, `Math.imul` are
 *   deleted.
 *
 * An exception in a callback prints `Uncaught ...` and the board goes on, as
 * Espruino does. Everything printed goes to the harness line by line.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createHash } from "node:crypto";
import { MISSING_GLOBALS } from "./espruino.ts";
import { crc32 } from "../shared/crc32.ts";

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

// Originals, kept before the bundle's world loses them.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
const resolved = Promise.resolve();
/** Espruino's event queue: after the code that is running now, before any timer. */
function enqueue(fn: () => void): void {
  // Once halted (a restart or a power cut) nothing more runs.
  resolved.then(() => halted || fn());
}
const started = performance.now();

let options: WorkerOptions;
const network: Required<NetworkSettings> = {
  chunk: 268,
  delayMs: 0,
  refuseAtOnce: false,
  corruptAt: -1,
};
const stats: BoardStats = {
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
const seenBuffers: ArrayBufferLike[] = [];
/** Set by `load()` and a power cut: the interpreter stops. */
let halted = false;
const timers: number[] = [];

function post(message: FromBoard): void {
  self.postMessage(message);
}

function print(...args: unknown[]): void {
  post({ type: "print", line: args.map((a) => String(a)).join(" ") });
}

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;

/** Runs a callback as Espruino does: an exception is printed and the board goes on. */
function guard(fn: Fn, self: unknown, args: unknown[]): void {
  try {
    fn.apply(self, args);
  } catch (e) {
    print("Uncaught " + (e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
  }
}

/** Board ms to wall ms. */
function wall(ms: number): number {
  return Math.max(0, ms / options.speed);
}

function forget(id: number): void {
  const at = timers.indexOf(id);
  if (at >= 0) timers.splice(at, 1);
}

function sleep(boardMs: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, wall(boardMs)));
}

// ---------------------------------------------------------------- events

const LISTENERS = "\xffon";

function listeners(obj: object): Record<string, Fn[]> {
  const o = obj as Record<string, Record<string, Fn[]>>;
  if (!Object.prototype.hasOwnProperty.call(o, LISTENERS)) {
    Object.defineProperty(o, LISTENERS, { value: {}, enumerable: false, configurable: true });
  }
  return o[LISTENERS];
}

function define(name: string, value: Fn): void {
  Object.defineProperty(Object.prototype, name, {
    value,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

define("on", function (this: object, event: string, listener: Fn) {
  const all = listeners(this);
  (all[event] = all[event] || []).push(listener);
});
define("emit", function (this: object, event: string, ...args: unknown[]) {
  if (args.length > 4) throw new TypeError("Too many arguments (>4)");
  // Espruino queues the listeners; the ones registered now are the ones called.
  const fns = (listeners(this)[event] || []).slice();
  enqueue(() => {
    for (const fn of fns) guard(fn, this, args);
  });
});
define("removeAllListeners", function (this: object, event?: string) {
  const all = listeners(this);
  if (event === undefined) {
    for (const key of Object.keys(all)) delete all[key];
  } else {
    delete all[event];
  }
});

// ---------------------------------------------------------------- timers

function setTimeout(callback: Fn | string, ms: number, ...args: unknown[]): number {
  // Espruino also takes code as a string, run in the global scope.
  const fn: Fn = typeof callback === "string" ? () => (0, eval)(callback) : callback;
  // Deno's ids are numbers from 1 up, as Espruino's are.
  const id: number = realSetTimeout(() => {
    forget(id);
    guard(fn, undefined, args);
  }, wall(ms)) as unknown as number;
  timers.push(id);
  return id;
}

function setInterval(fn: Fn, ms: number, ...args: unknown[]): number {
  const id = realSetInterval(
    () => guard(fn, undefined, args),
    Math.max(1, wall(ms)),
  ) as unknown as number;
  timers.push(id);
  return id;
}

function clearTimer(name: string, count: number, id: unknown): void {
  if (count === 0) {
    // Legal on Espruino, and it stops everything: never what the firmware means.
    print(`HARNESS: ${name}() with no id clears every timer on the board`);
    for (const t of timers.splice(0)) {
      realClearTimeout(t);
      realClearInterval(t);
    }
    return;
  }
  if (id === undefined) {
    throw new Error(`${name}(undefined) not allowed. Use ${name}() instead`);
  }
  realClearTimeout(id as number);
  realClearInterval(id as number);
  forget(id as number);
}

// ---------------------------------------------------------------- E

function binary(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function bytesOf(s: string): Uint8Array {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 255;
  return bytes;
}

const E = {
  toString(...args: unknown[]): string {
    if (args.length === 1 && args[0] instanceof ArrayBuffer) return binary(new Uint8Array(args[0]));
    if (args.length === 1 && args[0] instanceof Uint8Array) {
      const u8 = args[0];
      stats.toStringCalls++;
      if (seenBuffers.indexOf(u8.buffer) < 0) seenBuffers.push(u8.buffer);
      stats.toStringBuffers = seenBuffers.length;
      return binary(u8);
    }
    let s = "";
    for (const a of args) {
      if (typeof a === "string") s += a;
      else if (typeof a === "number") s += String.fromCharCode(a & 255);
      else s += binary(new Uint8Array(a as ArrayLike<number>));
    }
    return s;
  },
  toUint8Array(s: string): Uint8Array {
    return bytesOf(String(s));
  },
  CRC32(data: string | Uint8Array): number {
    return crc32(typeof data === "string" ? bytesOf(data) : data);
  },
};

/** `require("crypto")`, as far as the ESP8266 build has it. */
const cryptoModule = {
  SHA1(data: string | Uint8Array): ArrayBuffer {
    const bytes = typeof data === "string" ? bytesOf(data) : data;
    return new Uint8Array(createHash("sha1").update(bytes).digest()).buffer;
  },
};

/** Stops everything the board runs: timers and sockets (they close with the Worker). */
function halt(): void {
  for (const t of timers.splice(0)) {
    realClearTimeout(t);
    realClearInterval(t);
  }
  halted = true;
}
/** The power goes: nothing more runs; the harness ends the Worker. */
function powerCut(): void {
  halt();
  post({ type: "dead" });
  throw new Error("power cut");
}

// ---------------------------------------------------------------- net

class Socket {
  conn: Deno.TcpConn | null = null;
  queue: Uint8Array[] = [];
  writing = false;
  closed = false;
  ending = false;

  write(data: unknown): boolean {
    if (halted) return false;
    if (this.closed || this.ending) throw new Error("This socket is closed");
    // Espruino writes the text of anything that is not a string.
    const bytes = bytesOf(typeof data === "string" ? data : String(data));
    stats.bytesWritten += bytes.length;
    stats.largestWrite = Math.max(stats.largestWrite, bytes.length);
    this.queue.push(bytes);
    this.flush();
    return false;
  }

  end(data?: unknown): void {
    if (data !== undefined) this.write(data);
    this.ending = true;
    this.flush();
  }

  async flush(): Promise<void> {
    if (this.writing || !this.conn) return;
    this.writing = true;
    try {
      while (this.queue.length) {
        const bytes = this.queue.shift() as Uint8Array;
        for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
      }
      // A socket the board ends closes as any other: `end`, then `close`.
      if (this.ending) this.finish(null);
      // Espruino's "drain": everything written so far has gone out.
      else (this as unknown as { emit: Fn }).emit("drain");
    } catch {
      // The server closed: the read loop reports it.
    } finally {
      this.writing = false;
    }
  }

  shut(): void {
    if (this.closed) return;
    this.closed = true;
    stats.openSockets--;
    try {
      this.conn?.close();
    } catch {
      // already closed
    }
  }

  /** The end of a connection, as Espruino reports it: error (if any), end, close. */
  finish(error: { code: number; message: string } | null): void {
    const emitter = this as unknown as { emit: Fn };
    if (error) emitter.emit("error", error);
    emitter.emit("end");
    emitter.emit("close", !!error);
    this.shut();
  }

  async read(conn: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(4096);
    const emitter = this as unknown as { emit: Fn };
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null || this.closed) break;
      if (network.corruptAt >= 0 && network.corruptAt < n) {
        buf[network.corruptAt] ^= 0xff;
        stats.corrupted++;
      }
      network.corruptAt = network.corruptAt < 0 ? -1 : Math.max(-1, network.corruptAt - n);
      const pieces: string[] = [];
      for (let at = 0; at < n; at += network.chunk) {
        pieces.push(binary(buf.subarray(at, Math.min(n, at + network.chunk))));
      }
      for (const piece of pieces) {
        // Each piece is its own event, some time apart, as from a radio.
        await sleep(network.delayMs);
        if (this.closed) return;
        emitter.emit("data", piece);
      }
    }
    if (!this.closed) this.finish(null);
  }
}

const net = {
  connect(opts: { host: string; port: number }, callback?: Fn): Socket {
    stats.connects++;
    if (network.refuseAtOnce) {
      const e = new Error("Unable to create socket");
      e.name = "InternalError";
      throw e;
    }
    const sock = new Socket();
    const emitter = sock as unknown as { on: Fn; emit: Fn };
    stats.openSockets++;
    if (callback) emitter.on("connect", callback);
    Deno.connect({ hostname: opts.host, port: opts.port }).then((conn) => {
      if (sock.ending || sock.closed) {
        conn.close();
        sock.shut();
        return;
      }
      conn.setNoDelay(true);
      sock.conn = conn;
      emitter.emit("connect", sock);
      // Espruino queues a "drain" with the "connect" when nothing waits to be sent.
      if (!sock.queue.length) emitter.emit("drain");
      sock.flush();
      sock.read(conn);
    }, () => {
      // What lwIP on the ESP8266 reports for a refused connection.
      sock.finish({ code: -9, message: "connection reset" });
    });
    return sock;
  },
};

// ---------------------------------------------------------------- Wifi

function wifiModule(): unknown {
  let ip = options.wifi === "connected" ? "192.168.4.2" : "0.0.0.0";
  const wifi = {
    connect(ssid: string, opts: { password?: string }, callback?: Fn) {
      stats.wifiConnect = { ssid, password: opts && opts.password };
      if (options.wifi === "never") return;
      setTimeout(() => {
        ip = "192.168.4.2";
        if (callback) callback(null);
        (wifi as unknown as { emit: Fn }).emit("connected", { ip });
      }, 1000);
    },
    getIP() {
      return { ip };
    },
  };
  if (options.wifi === "saved") {
    // The ESP8266 joins the saved network by itself, a while after boot.
    setTimeout(() => {
      ip = "192.168.4.2";
      (wifi as unknown as { emit: Fn }).emit("connected", { ip });
    }, 1000);
  }
  return wifi;
}

// ---------------------------------------------------------------- Storage

let memoryStorage: Record<string, string> = {};

function storageFiles(): Record<string, string> {
  if (!options.storageFile) return memoryStorage;
  try {
    return JSON.parse(Deno.readTextFileSync(options.storageFile));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
}

function keepStorage(files: Record<string, string>): void {
  if (options.storageFile) Deno.writeTextFileSync(options.storageFile, JSON.stringify(files));
  else memoryStorage = files;
}

/** Espruino's Storage: named files in flash (text here), kept across reboots. */
const storage = {
  read(name: string, offset = 0, length?: number): string | undefined {
    const file = storageFiles()[name];
    return file === undefined ? file : file.substr(offset, length ?? file.length);
  },
  /** As Espruino's: offset 0 makes the file anew (0xFF where unwritten); later offsets fill it in. */
  write(name: string, data: unknown, offset = 0, size = 0): boolean {
    const text = typeof data === "string" ? data : binary(data as Uint8Array);
    const files = storageFiles();
    let file = files[name];
    if (!offset) file = "\xff".repeat(size || text.length);
    if (file === undefined) throw new Error("Unable to find or create file");
    if (offset + text.length > file.length) throw new Error("Too much data for file size");
    if (!/^\xff*$/.test(file.slice(offset, offset + text.length))) {
      throw new Error("File already written with different data");
    }
    const cut = offset > 0 && name === options.powerCut;
    const written = cut ? text.slice(0, text.length >> 1) : text;
    files[name] = file.slice(0, offset) + written + file.slice(offset + written.length);
    keepStorage(files);
    if (cut) powerCut();
    return true;
  },
  readJSON(name: string, noExceptions?: boolean): unknown {
    const text = storageFiles()[name];
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      if (noExceptions) return undefined;
      throw e;
    }
  },
  writeJSON(name: string, data: unknown): boolean {
    return storage.write(name, JSON.stringify(data));
  },
  erase(name: string): void {
    const files = storageFiles();
    delete files[name];
    keepStorage(files);
  },
  eraseAll(): void {
    keepStorage({});
  },
  list(): string[] {
    return Object.keys(storageFiles());
  },
};

// ---------------------------------------------------------------- the board

function start(code: string): void {
  const g = globalThis as unknown as Record<string, unknown>;
  let wifi: unknown = null;
  if (options.wifi !== "none") wifi = wifiModule();
  Object.assign(g, {
    global: globalThis,
    print,
    E,
    getTime: () => (performance.now() - started) * options.speed / 1000,
    getSerial: () => options.serial,
    setTimeout,
    setInterval,
    clearTimeout(...args: unknown[]) {
      clearTimer("clearTimeout", args.length, args[0]);
    },
    clearInterval(...args: unknown[]) {
      clearTimer("clearInterval", args.length, args[0]);
    },
    process: { memory: () => ({ usage: options.memoryUsage, total: 1700 }) },
    // Espruino restarts when the code that runs now returns: the harness starts a new Worker.
    load() {
      enqueue(() => {
        if (halted) return;
        halt();
        post({ type: "reboot", stats: { ...stats } });
      });
    },
    require(name: string) {
      if (name === "net") return net;
      if (name === "Storage") return storage;
      if (name === "crypto") return cryptoModule;
      if (name === "Wifi" && wifi) return wifi;
      throw new Error(`Module "${name}" not found`);
    },
  });
  // The console is Espruino's too.
  console.log = print;
  // Deno's own runtime needs its globals, so the bundle sees the missing ones
  // as undefined parameters instead; the missing statics are deleted.
  delete (Array as unknown as Record<string, unknown>).from;
  for (const name of ["fround", "imul", "clz32"]) {
    delete (Math as unknown as Record<string, unknown>)[name];
  }
  const files = storageFiles();
  let seeded = false;
  for (const [name, text] of Object.entries(options.files ?? {})) {
    if (files[name] !== undefined) continue;
    files[name] = text;
    seeded = true;
  }
  if (seeded) keepStorage(files);
  if (options.from === "storage") code = files[".bootcde"] ?? "";
  try {
    // Top-level code runs in the global scope, as Espruino runs saved code.
    (0, eval)(`(function(${MISSING_GLOBALS.join(",")}){${code}\n})()`);
  } catch (e) {
    print("Uncaught " + e);
  }
  // At boot from flash the 'init' event follows the saved code.
  if (options.boot === "flash") (E as unknown as { emit: Fn }).emit("init");
}

self.onmessage = (event: MessageEvent<ToBoard>) => {
  const m = event.data;
  if (m.type === "start") {
    options = m.options;
    Object.assign(network, {
      chunk: m.options.chunk ?? network.chunk,
      delayMs: m.options.delayMs ?? network.delayMs,
      refuseAtOnce: m.options.refuseAtOnce ?? network.refuseAtOnce,
    });
    start(m.code);
  } else if (m.type === "network") {
    Object.assign(network, m.settings);
  } else if (m.type === "eval") {
    // The REPL: what Espruino runs when a line is typed.
    try {
      const value = (0, eval)(m.code);
      post({ type: "result", id: m.id, value: String(value) });
    } catch (e) {
      print("Uncaught " + e);
      post({ type: "result", id: m.id, error: String(e) });
    }
  } else if (m.type === "stats") {
    stats.timers = timers.length;
    post({ type: "stats", id: m.id, stats: { ...stats } });
  } else if (m.type === "stop") {
    for (const t of timers.splice(0)) {
      realClearTimeout(t);
      realClearInterval(t);
    }
    post({ type: "stats", id: m.id, stats: { ...stats } });
  }
};
