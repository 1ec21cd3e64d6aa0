/**
 * Espruino's globals as the harness's board gives them to the firmware:
 * `on`, `emit` and `removeAllListeners` on every object (`emit` queuing its
 * listeners), timers with Espruino's ids and rules on the board clock, `E`,
 * `require("crypto")` and `require("Wifi")`. Importing this module puts the
 * event methods on `Object.prototype`: only the board's Worker imports it.
 *
 * @example
 * ```ts
 * import type { E } from "./_harness_globals.ts";
 *
 * // The firmware turns bytes into a binary string with `E.toString(bytes)`;
 * // the harness counts those calls (`toStringCalls`). Importing the module for
 * // real would put `on` and `emit` on every object, so this only names its types.
 * const call: Parameters<typeof E.toString> = [Uint8Array.of(1, 2, 3)];
 * console.log(call.length); // 1
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { crc32 } from "../shared/crc32.ts";
import { binary, bytesOf } from "./_harness_binary.ts";
import {
  enqueue,
  type Fn,
  forget,
  guard,
  options,
  print,
  realClearInterval,
  realClearTimeout,
  realSetInterval,
  realSetTimeout,
  seenBuffers,
  stats,
  timers,
  wall,
} from "./_harness_board.ts";

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

export function setTimeout(callback: Fn | string, ms: number, ...args: unknown[]): number {
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

export function setInterval(fn: Fn, ms: number, ...args: unknown[]): number {
  const id = realSetInterval(
    () => guard(fn, undefined, args),
    Math.max(1, wall(ms)),
  ) as unknown as number;
  timers.push(id);
  return id;
}

export function clearTimer(name: string, count: number, id: unknown): void {
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

export const E = {
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
export const cryptoModule = {
  SHA1(data: string | Uint8Array): ArrayBuffer {
    const bytes = typeof data === "string" ? bytesOf(data) : data;
    return new Uint8Array(createHash("sha1").update(bytes).digest()).buffer;
  },
};

// ---------------------------------------------------------------- Wifi

export function wifiModule(): unknown {
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
