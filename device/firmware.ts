/**
 * The firmware: what runs on the ESP8266 (or any Espruino board). It starts
 * when its code runs, joins WiFi, and then answers at the REPL:
 *
 * - `test()` sends the next bundled MNIST digit (one per class, in turn) and
 *   prints the result block, the predicted digit and the expected one;
 *   `test(pixels)` sends 784 bytes of the caller's own.
 * - `start(5)` sends a digit every 5 s (any positive number; calling it again
 *   replaces the interval); `stop()` stops.
 * - `VERSION` is the firmware's version and build, which `deno task flash`
 *   reads back to check an upload.
 * - `setServer("192.168.1.10", 32001, "legacy")` and `setToken("...")`
 *   change the server (its port and protocol, the built-in ones when left
 *   out) and the token, and keep them in the board's Storage (`mnist.json`),
 *   read at every boot; `config()` prints what is in use.
 *
 * Update builds (`--updates`, every `--release`; TCP only) also take new
 * code over the air (`updater.ts`) and run from Storage under the boot
 * file (`boot.ts`); the other builds carry none of it. They speak framed
 * only (`setServer(..., "legacy")` prints `Need framed`) and carry no
 * token or WiFi credentials: the token is in Storage (`mnist.json`).
 *
 * The built-in settings (`deno task build`, see `settings.ts`) are the
 * defaults: esbuild replaces the `declare`d constants below with their values. This
 * file is bundled, never run by Deno, and keeps to the Espruino subset that
 * `check_subset.ts` enforces.
 *
 * Start-up runs once per boot, whichever way the code was stored: code saved
 * to flash (`SAVE_ON_SEND`) runs at every boot and is followed by the `init`
 * event; a RAM image saved with `save()` does not run again, only `init`
 * fires. Both call `boot()`, which starts up once.
 *
 * @example
 * ```ts
 * // Not imported: built and flashed. At the board's REPL:
 * //   >test()
 * //   ======== Results ========
 * //   Inference time in ms: 0.482
 * //   ...
 * //   >start(5)
 * //   >stop()
 * import { buildFirmware } from "./build.ts";
 *
 * const { size } = await buildFirmware({
 *   host: "192.168.1.10",
 *   port: 32001,
 *   protocol: "framed",
 *   ssid: "",
 *   password: "",
 *   token: "",
 *   poll: 0,
 * });
 * console.log(size);
 * ```
 * @module
 */
import { CLASSES, DIGIT_PIXELS } from "../shared/codec.ts";
import type { EspruinoE, EspruinoProcess, Listener, Storage, Wifi } from "./espruino.ts";
import { TcpClient } from "./tcp_client.ts";
import { MqttClient } from "./mqtt_client.ts";
import { unpackSample } from "./samples.ts";
import { File } from "./boot_state.ts";
import { storage, updater } from "./updater.ts";

// Settings, replaced by their values at build time.
declare const SERVER_HOST: string;
declare const SERVER_PORT: number;
declare const PROTOCOL: string;
/** True in a build for MQTT (`--transport mqtt`): the TCP code is left out, and the reverse. */
declare const MQTT: boolean;
/**
 * True in a build with updates over the air (`--updates`, and every
 * `--release` build; TCP only): the updater, and the digits read from
 * Storage (`File.DIGITS`) rather than bundled, as the boot file runs the
 * application from Storage (`boot.ts`).
 */
declare const UPDATES: boolean;
/** MQTT builds: the board's id in the topics, "" for its serial. */
declare const DEVICE: string;
declare const WIFI_SSID: string;
declare const WIFI_PASSWORD: string;
declare const POLL_SECONDS: number;
/** The token built in: 32 characters, or "". */
declare const TOKEN: string;
declare const FIRMWARE_VERSION: string;
/** The bundled digits, packed by `samples.ts` ("" in update builds, which read `File.DIGITS`). */
declare const SAMPLES: string;
declare const SAMPLE_COUNT: number;

// Espruino's globals.
declare const E: EspruinoE;
declare const global: Record<string, unknown>;
/** Set on `global` below; read as a global, which is shorter in the bundle. */
declare const VERSION: string;
declare const process: EspruinoProcess;
declare function print(...text: unknown[]): void;
declare function require(name: "Wifi"): Wifi;
declare function require(name: "Storage"): Storage;
// Espruino's timers pass their arguments after `ms` on to the callback.
declare function setTimeout(callback: Listener, ms: number, arg?: unknown): number;
declare function clearTimeout(id: number): void;
declare function setInterval(callback: Listener, ms: number, arg?: unknown): number;
declare function clearInterval(id: number): void;
declare function getTime(): number;
declare function atob(base64: string): string;
declare function getSerial(): string;

/** Times in ms (a `const enum`: inlined, no variables on the board). */
const enum T {
  /** The Wifi module retries silently on most failures: stop waiting for it after this. */
  WIFI_TIMEOUT = 30000,
  /** From code running to start-up: the 'init' that follows boot code finds it pending. */
  BOOT_DELAY = 10,
}

// The board's state: few globals, as each costs variables on the board.

/**
 * What `setServer` and `setToken` saved; the built-in values stand for what
 * is missing. Its keys are written quoted: the build shortens `host`, `port`
 * and `token` elsewhere (`OWN_PROPERTIES`), never in Storage.
 */
const saved: {
  host?: string;
  port?: number;
  protocol?: string;
  token?: string;
  broker?: string;
  brokerPort?: number;
  device?: string;
} = (UPDATES ? storage : require("Storage")).readJSON(File.SETTINGS, true) || {};
const server = MQTT
  ? new MqttClient({
    host: saved.broker || SERVER_HOST,
    port: saved.brokerPort || SERVER_PORT,
    token: saved["token"] != null ? saved["token"] : TOKEN,
    // 0, not "", for none: one variable less.
    device: saved.device || DEVICE || 0,
  })
  : new TcpClient({
    host: saved["host"] || SERVER_HOST,
    port: saved["port"] || SERVER_PORT,
    token: saved["token"] != null ? saved["token"] : TOKEN,
    // Update builds speak framed only (offers never ride legacy replies).
    legacy: +(!UPDATES && (saved.protocol || PROTOCOL) == "legacy"),
  });
/** The bundled sample `test()` sends next. */
let sample = 0;
/** The label of the digit in flight; -1 for the caller's own. */
let expected = -1;
let poller = 0;
/** The start-up timer, then 0; -1 once ready. */
let booting = 0;
/** The Wifi module, 0 where there is none (0 rather than null: one variable less). */
let wifi: Wifi | 0 = 0;
let wifiTimer = 0;

server.on("reply", (scores: Float32Array, inferenceMs: number, ms: number) => {
  // The block legacy firmware printed, line for line, then the verdict.
  let best = 0;
  print("======== Results ========\nInference time in ms: " + inferenceMs.toFixed(3));
  for (let i = 0; i < CLASSES; i++) {
    if (scores[i] > scores[best]) best = i;
    print("out[" + i + "]: " + scores[i].toFixed(6));
  }
  print(
    // Whole ms, cut rather than rounded: shorter in the bundle.
    "Transaction time: " + (ms | 0) + " ms\nPredicted: " + best +
      (expected < 0 ? "" : ", expected: " + expected),
  );
});
server.on("error", print);
/** Update builds: every framed reply goes to the updater, which is idle without an offer. */
if (UPDATES) (server as TcpClient).done = updater;

/**
 * REPL: sends the next bundled digit, or `own` (784 bytes 0..255), once.
 * Polling calls it with `true`: then only when idle and not backing off.
 */
function test(own?: ArrayLike<number> | true | 0): void {
  if (own === true) {
    if (server.busy || getTime() < server.retryAt) return;
    own = 0;
  }
  if (server.busy) return print("Busy");
  if (own) {
    // DIGIT_PIXELS, written out: esbuild does not fold the codec's constant into the text.
    if (own.length != DIGIT_PIXELS) return print("Need 784 bytes");
    server.digit().set(own);
    expected = -1;
  } else {
    // Straight into the request: no copy of the digit. Update builds read
    // one from flash each time, its label and its 784 bytes as they are
    // (`storedSampleDigits`): no unpacking code in the bundle.
    if (UPDATES) {
      const digit = storage.read(File.DIGITS, sample * 785, 785);
      if (!digit) return print("No digits");
      const into = server.digit();
      for (let i = 0; i < DIGIT_PIXELS; i++) into[i] = digit.charCodeAt(i + 1);
      expected = digit.charCodeAt(0);
    } else expected = unpackSample(E.toUint8Array(atob(SAMPLES)), sample, server.digit());
    sample = (sample + 1) % SAMPLE_COUNT;
  }
  server.send();
}

/** REPL: sends a digit now and then every `seconds`; replaces an earlier `start`. */
function start(seconds: number): void {
  if (!(seconds > 0)) return print("Need seconds > 0");
  stop(true);
  poller = setInterval(test, seconds * 1000, true);
  print("Polling every " + seconds + " s");
  test(true);
}

/** REPL: stops polling; a request in flight still prints its result. */
function stop(quiet?: boolean): void {
  // clearInterval() with no id would clear every timer on the board.
  if (poller) clearInterval(poller);
  poller = 0;
  if (!quiet) print("Stopped");
}

/**
 * REPL: the server to use from now on, kept across reboots: where, and how
 * to talk to it ("framed" or "legacy"); what is left out is the built-in
 * value. A bad value changes nothing.
 */
function setServer(host: string, port?: number, protocol?: string): void {
  if (!host || typeof host != "string") return print("Need host");
  port = port || SERVER_PORT;
  if (!(port > 0 && port < 65536)) return print("Need port 1..65535");
  // A build speaks MQTT or TCP, not both; an update build framed only.
  if (UPDATES) {
    if (protocol && protocol != "framed") return print("Need framed");
  } else {
    protocol = protocol || PROTOCOL;
    if (MQTT ? protocol != "mqtt" : protocol != "framed" && protocol != "legacy") {
      return print(MQTT ? "Need mqtt" : "Need framed or legacy");
    }
  }
  saved[MQTT ? "broker" : "host"] = server.host = host;
  saved[MQTT ? "brokerPort" : "port"] = server.port = port;
  if (!MQTT && !UPDATES) {
    saved.protocol = protocol;
    (server as TcpClient).legacy = +(protocol == "legacy");
  }
  keep();
}

/**
 * REPL: the device's token (32 characters, "" for none), kept across
 * reboots; kept with legacy too, which cannot send it, for a switch back.
 */
function setToken(token: string): void {
  if (typeof token != "string" || token && token.length != 32) {
    return print('Need 32 chars or ""');
  }
  server.token = saved["token"] = token;
  keep();
}

/** After a change: the next request connects anew; Storage keeps it for start-up after a reboot. */
function keep(): void {
  server.reset();
  (UPDATES ? storage : require("Storage")).writeJSON(File.SETTINGS, saved);
  config();
}

/** REPL: prints the settings in use; "saved" when they come from Storage, not the build. */
function config(): void {
  print(
    "server " + server.host + ":" + server.port +
      (saved[MQTT ? "broker" : "host"] ? " (saved)" : "") + ", " +
      (MQTT
        ? "mqtt, device " + ((server as MqttClient).device || getSerial())
        : !UPDATES && (server as TcpClient).legacy
        ? "legacy"
        : "framed") +
      ", token " + (server.token ? "set" : "none") +
      (saved["token"] != null ? " (saved)" : "") +
      (!MQTT && !UPDATES && (server as TcpClient).legacy && server.token
        ? ", not sent in legacy"
        : ""),
  );
}

/** At every boot: start-up once, after the code and the `init` that follows it. */
function boot(): void {
  // (Not in update builds: esbuild drops it, unused.)
  // No argument: `why` undefined, start-up.
  if (booting <= 0) booting = setTimeout(online, T.BOOT_DELAY);
}

/**
 * Start-up (`why` absent), then every way of going online (the `connected`
 * event's details or 1 when the station has an IP, "timeout"): prints where
 * it stands, and `Ready` once.
 */
function online(why: unknown): void {
  if (!why) {
    booting = 0;
    // After a restart from a saved RAM image the socket in the saved state is
    // dead (update builds never start from one). A fresh start has made no
    // connection state yet (`up` absent): none to make, 9 variables less.
    if (!UPDATES && (MQTT || (server as TcpClient).up != null)) server.reset();
    print("mnist-device", VERSION);
    config();
    if (!wifi) print("No WiFi module");
    else {
      if (WIFI_SSID) {
        wifi.connect(WIFI_SSID, { password: WIFI_PASSWORD }, (error: string | null) => {
          if (error) print("WiFi: " + error);
          else online(1);
        });
      }
      const ip = wifi.getIP().ip;
      if (WIFI_SSID || !ip || ip == "0.0.0.0") {
        print("WiFi: connecting");
        // Update builds start up once per boot: no timer of an earlier start-up.
        if (!UPDATES && wifiTimer) clearTimeout(wifiTimer);
        wifiTimer = setTimeout(online, T.WIFI_TIMEOUT, "timeout");
        return;
      }
      why = 1;
    }
  } // Before start-up it is start-up that looks at the IP; after it, once is enough.
  else if (booting) return;
  if (why) {
    // From its own callback too: harmless, Espruino removes the timer after the call.
    if (wifiTimer) clearTimeout(wifiTimer);
    // T.WIFI_TIMEOUT, written out: cheaper than working it out on the board.
    print(why == "timeout" ? "WiFi: no IP in 30 s" : "WiFi: IP " + (wifi as Wifi).getIP().ip);
  }
  wifiTimer = 0;
  booting = -1;
  print("Ready, " + process.memory().usage + " vars used");
  // Update builds: a report the boot file left, if any.
  if (UPDATES) (server as TcpClient).done();
  if (POLL_SECONDS) start(POLL_SECONDS);
}

try {
  wifi = require("Wifi");
  // Its details object is `why`: anything but "timeout" means an IP.
  (wifi as Wifi).on("connected", online);
} catch (_) {
  // Wired boards and Espruino on Linux have no Wifi module: the network is as it is.
}
Object.assign(global, {
  test,
  start,
  stop,
  setServer,
  setToken,
  config,
  VERSION: FIRMWARE_VERSION,
});
// Update builds run only as the boot file runs them, at every boot, never
// from a saved RAM image: no `init` to wait for.
if (UPDATES) booting = setTimeout(online, T.BOOT_DELAY);
else {
  E.on("init", boot);
  boot();
}
