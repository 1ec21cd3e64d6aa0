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
import * as esbuild from "esbuild";
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
 * The boot file's code, minified. Its few names are globals (`_S`, `_B`,
 * `_back`): code `eval`ed inside a function would keep that function's
 * scope alive for as long as the application runs.
 */
export async function bootCode(options: TrialOptions = {}): Promise<string> {
  const trialMs = options.trialMs ?? 60000;
  const tries = options.tries ?? 3;
  const state = JSON.stringify(File.STATE);
  const source = `
var _S = require("Storage"), _B = _S.readJSON(${state}, 1) || {}, _d = _B.d;
function _back(why) {
  _S.writeJSON(${state}, { a: _B.b, b: _B.a, r: [${UpdateState.ROLLED_BACK}, _B.v, why] });
  print("Boot: back to " + _B.b + ": " + why);
  load();
}
if (_d) {
  // A download to check: [file, release, CRC-32, MAC, token].
  var _f = _S.read(_d[0]) || "", _H = require("crypto").SHA1;
  var _pad = function (x) {
    for (var s = "", i = 0; i < 64; i++) s += String.fromCharCode(_d[4].charCodeAt(i) ^ x);
    return s;
  };
  var _why = E.CRC32(_f) != _d[2] ? "CRC-32" : _d[4] &&
      E.toString(_H(_pad(92) + E.toString(_H(_pad(54) + E.toString(_H(_f)))))) != _d[3] ? "MAC" : "";
  delete _B.d;
  if (!_why) {
    _B.b = _B.a || ${JSON.stringify(File.APP0)};
    _B.a = _d[0];
    _B.t = 1;
    _B.v = _d[1];
  }
  _B.r = [_why ? ${UpdateState.FAILED} : ${UpdateState.VERIFIED}, _d[1], _why];
  _d = _f = _H = _pad = 0;
}
if (_B.t > ${tries}) _back("no reply in ${tries} boots");
else {
  if (_d === 0 || _B.t) {
    if (_B.t) _B.t++;
    _S.writeJSON(${state}, _B);
  }
  if (_B.t) {
    setTimeout(function () {
      if ((_S.readJSON(${state}, 1) || {}).t) load();
    }, ${trialMs});
  }
  try {
    eval(_S.read(_B.a || ${JSON.stringify(File.APP0)}));
  } catch (e) {
    if (!_B.t) throw e;
    _back("" + e);
  }
}`;  const { code } = await esbuild.transform(source, {
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
