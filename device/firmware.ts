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
 *
 * Settings are fixed at build time (`deno task build`, see `settings.ts`):
 * esbuild replaces the `declare`d constants below with their values. This
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
import type { EspruinoE, EspruinoProcess, Listener, Wifi } from "./espruino.ts";
import { Inference } from "./inference.ts";
import { unpackSample } from "./samples.ts";

// Settings, replaced by their values at build time.
declare const SERVER_HOST: string;
declare const SERVER_PORT: number;
declare const PROTOCOL: string;
declare const WIFI_SSID: string;
declare const WIFI_PASSWORD: string;
declare const POLL_SECONDS: number;
declare const FIRMWARE_VERSION: string;
/** The bundled digits, packed by `samples.ts`. */
declare const SAMPLES: string;
declare const SAMPLE_COUNT: number;

// Espruino's globals.
declare const E: EspruinoE;
declare const global: Record<string, unknown>;
declare const process: EspruinoProcess;
declare function print(...text: unknown[]): void;
declare function require(name: "Wifi"): Wifi;
declare function setTimeout(callback: Listener, ms: number): number;
declare function clearTimeout(id: number): void;
declare function setInterval(callback: Listener, ms: number): number;
declare function clearInterval(id: number): void;
declare function getTime(): number;
declare function atob(base64: string): string;

/** The Wifi module retries silently on most failures: stop waiting for it after this, ms. */
const WIFI_TIMEOUT = 30000;
/** From code running to start-up, ms: the 'init' that follows boot code finds it pending. */
const BOOT_DELAY = 10;

const server = new Inference({ host: SERVER_HOST, port: SERVER_PORT });
/** The digit to send: one buffer for every request. */
const pixels = new Uint8Array(DIGIT_PIXELS);
/** The bundled sample `test()` sends next. */
let sample = 0;
/** The label of the digit in flight; -1 for the caller's own. */
let expected = -1;
let poller = 0;
let booting = 0;
let ready = false;
let wifi: Wifi | null = null;
let wifiTimer = 0;

server.on("reply", (scores: Float32Array, inferenceMs: number, ms: number) => {
  // The block the earlier firmware printed, line for line, then the verdict.
  let best = 0;
  print("======== Results ========");
  print("Inference time in ms: " + inferenceMs.toFixed(3));
  for (let i = 0; i < CLASSES; i++) {
    if (scores[i] > scores[best]) best = i;
    print("out[" + i + "]: " + scores[i].toFixed(6));
  }
  print("Transaction time: " + Math.round(ms) + " ms");
  print("Predicted: " + best + (expected < 0 ? "" : ", expected: " + expected));
});
server.on("error", print);

/** REPL: sends the next bundled digit, or `own` (784 bytes 0..255), once. */
function test(own?: ArrayLike<number>): void {
  if (server.busy) return print("Busy");
  if (own) {
    if (own.length != DIGIT_PIXELS) return print("Need " + DIGIT_PIXELS + " bytes");
    pixels.set(own);
    expected = -1;
  } else {
    expected = unpackSample(E.toUint8Array(atob(SAMPLES)), sample, pixels);
    sample = (sample + 1) % SAMPLE_COUNT;
  }
  server.send(pixels);
}

/** A poll: skipped while a request is in flight or while backing off after a failure. */
function tick(): void {
  if (!server.busy && getTime() >= server.retryAt) test();
}

/** REPL: sends a digit now and then every `seconds`; replaces an earlier `start`. */
function start(seconds: number): void {
  if (!(seconds > 0)) return print("Need seconds > 0");
  // clearInterval() with no id would clear every timer on the board.
  if (poller) clearInterval(poller);
  poller = setInterval(tick, seconds * 1000);
  print("Polling every " + seconds + " s");
  tick();
}

/** REPL: stops polling; a request in flight still prints its result. */
function stop(): void {
  if (poller) clearInterval(poller);
  poller = 0;
  print("Stopped");
}

function boot(): void {
  if (!booting) booting = setTimeout(startUp, BOOT_DELAY);
}

function startUp(): void {
  booting = 0;
  ready = false;
  // After a restart from a saved RAM image the socket in the saved state is dead.
  server.reset();
  print("mnist-device " + global.VERSION + " " + PROTOCOL + " " + SERVER_HOST + ":" + SERVER_PORT);
  if (!wifi) {
    print("No WiFi module");
    return online();
  }
  if (WIFI_SSID) {
    wifi.connect(WIFI_SSID, { password: WIFI_PASSWORD }, (error: string | null) => {
      if (error) print("WiFi: " + error);
      else wifiConnected();
    });
  } else if (ip()) {
    return wifiConnected();
  }
  print("WiFi: connecting");
  if (wifiTimer) clearTimeout(wifiTimer);
  wifiTimer = setTimeout(() => {
    wifiTimer = 0;
    print("WiFi: no IP in " + WIFI_TIMEOUT / 1000 + " s");
    online();
  }, WIFI_TIMEOUT);
}

/** The station's IP address, "" while there is none. */
function ip(): string {
  const address = (wifi as Wifi).getIP().ip;
  return address && address != "0.0.0.0" ? address : "";
}

function wifiConnected(): void {
  // Before start-up it is start-up that looks at the IP; after it, once is enough.
  if (booting || ready) return;
  if (wifiTimer) clearTimeout(wifiTimer);
  print("WiFi: IP " + ip());
  online();
}

function online(): void {
  if (ready) return;
  ready = true;
  print("Ready, " + process.memory().usage + " vars used");
  if (POLL_SECONDS) start(POLL_SECONDS);
}

try {
  wifi = require("Wifi");
  (wifi as Wifi).on("connected", wifiConnected);
} catch (_) {
  // Wired boards and Espruino on Linux have no Wifi module: the network is as it is.
}
global.test = test;
global.start = start;
global.stop = stop;
global.VERSION = FIRMWARE_VERSION;
E.on("init", boot);
boot();
