/**
 * The boot file: the board's Storage `.bootcde`, which Espruino runs at every
 * start (power on, reset, `load()`), and which runs the application. It is
 * its own file, at most 1,024 bytes, because it must outlive a broken
 * application: `deno task flash` writes it once, updates never touch it.
 *
 * It reads the boot state (`boot_state.ts`, `mnist.boot`) and runs the
 * application file `a` (`mnist0.js`, the one `flash` writes, when there is
 * no state) with `eval` of the file as Storage reads it from flash, at the
 * top level, as Espruino runs saved code: the functions stay in flash.
 * While `a` is on trial (`t`, set by the updater after a verified download)
 * it counts the boots and gives each a time limit (`trialMs`): the new code
 * must reach the server (its `UPDATED` report answered, which ends the
 * trial) before the limit, or the board restarts; after `tries` boots, or
 * at once when the new code throws while starting, it goes back to the
 * previous file `b` and leaves the report `ROLLED_BACK` for it to send.
 *
 * The switch to new code is one write of the boot state after the whole
 * file is verified, so power lost while fetching boots the code it had.
 *
 * @example
 * ```ts
 * import { bootCode } from "./boot.ts";
 *
 * const code = await bootCode();
 * console.log(code.length <= 1024); // true
 * ```
 * @module
 */
import { loadEsbuild, ToolPackageError } from "../tools/packages.ts";
import { File, UpdateState } from "./boot_state.ts";

/** The most bytes the boot file may have. */
export const BOOT_BUDGET = 1024;

/** How the boot file judges new code; both have defaults. */
export interface TrialOptions {
  /** Board ms a boot on trial may take to reach the server (default 60,000). */
  trialMs?: number;
  /** Boots on trial before going back (default 3). */
  tries?: number;
}

/**
 * The boot file's code, minified. It leaves no global behind: it costs the
 * application no variables.
 */
export async function bootCode(options: TrialOptions = {}): Promise<string> {
  const trialMs = options.trialMs ?? 60000;
  const tries = options.tries ?? 3;
  const state = JSON.stringify(File.STATE);
  const app = JSON.stringify(File.APP0);
  // One expression at the top level: the function that decides runs and is
  // gone, and the application's code is evaluated in the global scope, as
  // Espruino evaluates saved code. The trial's timer is a string, not a
  // closure that would keep that function's variables.
  const source = `
try {
  eval(function () {
    var S = require("Storage"), B = S.readJSON(${state}, 1) || {}, d = B.d;
    if (d) {
      // A download to check: [file, release, CRC-32, MAC, token].
      var f = S.read(d[0]) || "", H = require("crypto").SHA1;
      var pad = function (x) {
        for (var s = "", i = 0; i < 64; i++) s += String.fromCharCode(d[4].charCodeAt(i) ^ x);
        return s;
      };
      var why = E.CRC32(f) != d[2] ? "CRC-32" : d[4] &&
          E.toString(H(pad(92) + E.toString(H(pad(54) + E.toString(H(f)))))) != d[3] ? "MAC" : "";
      delete B.d;
      // Checked, whichever way: the application fetches it no more (\`f\`).
      B.f = d[1];
      if (!why) {
        B.b = B.a || ${app};
        B.a = d[0];
        B.t = 1;
        B.v = d[1];
      }
      B.r = [why ? ${UpdateState.FAILED} : ${UpdateState.VERIFIED}, d[1], why];
      S.writeJSON(${state}, B);
    }
    if (B.t) {
      if (B.t++ > ${tries}) throw "no reply in ${tries} boots";
      S.writeJSON(${state}, B);
      setTimeout(${
    JSON.stringify(`if((require("Storage").readJSON(${state},1)||{}).t)load()`)
  }, ${trialMs});
    }
    return S.read(B.a || ${app});
  }());
} catch (e) {
  (function (e) {
    var S = require("Storage"), B = S.readJSON(${state}, 1) || {};
    if (!B.t) throw e;
    S.writeJSON(${state}, { a: B.b, b: B.a, f: B.v, r: [${UpdateState.ROLLED_BACK}, B.v, "" + e] });
    print("Boot: back to " + B.b + ": " + e);
    load();
  })(e);
}`;
  const esbuild = loadEsbuild();
  if (esbuild instanceof ToolPackageError) throw esbuild;
  const { code } = await esbuild.transform(source, {
    minify: true,
    target: "es2015",
    charset: "ascii",
    logLevel: "silent",
  });
  await esbuild.stop();
  const text = code.trim();
  if (text.length > BOOT_BUDGET) {
    throw new Error(`the boot file is ${text.length} bytes, over its ${BOOT_BUDGET}`);
  }
  return text;
}
