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
 * This file starts the bundle and answers the harness (`harness_wire.ts`);
 * the stand-ins are `_harness_globals.ts` (events, timers, `E`, crypto,
 * Wifi), `_harness_net.ts` and `_harness_storage.ts`, over the state they
 * share (`_harness_board.ts`).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { MISSING_GLOBALS } from "./espruino.ts";
import {
  configure,
  enqueue,
  type Fn,
  halt,
  halted,
  network,
  options,
  post,
  print,
  realClearInterval,
  realClearTimeout,
  started,
  stats,
  timers,
} from "./_harness_board.ts";
import {
  clearTimer,
  cryptoModule,
  E,
  setInterval,
  setTimeout,
  wifiModule,
} from "./_harness_globals.ts";
import { net } from "./_harness_net.ts";
import { keepStorage, storage, storageFiles } from "./_harness_storage.ts";
import type { ToBoard } from "./harness_wire.ts";

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
    configure(m.options);
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
