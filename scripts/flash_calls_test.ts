// deno task flash's calls of the Espruino tool: their arguments, and the
// version read back from what the board printed.
import assert from "node:assert/strict";
import { cliCalls, shellLine, VERSION_QUERY, versionFrom } from "./flash_calls.ts";

Deno.test("--ram and telnet ports: SAVE_ON_SEND=0, no baud rate", () => {
  const [upload, check] = cliCalls({
    port: "tcp://192.168.1.50",
    baud: 115200,
    ram: true,
    file: "dist/firmware.js",
  });
  assert.deepEqual(upload, [
    "--no-ble",
    "-p",
    "tcp://192.168.1.50",
    "--config",
    "SAVE_ON_SEND=0",
    "--config",
    "SERIAL_THROTTLE_SEND=1",
    "dist/firmware.js",
  ]);
  assert.deepEqual(check, ["--no-ble", "-p", "tcp://192.168.1.50", "-e", VERSION_QUERY]);
  assert.equal(shellLine(["a b", "it's", "plain-1.js"]), `'a b' 'it'"'"'s' plain-1.js`);
});

Deno.test("the board's answer: the version after 'firmware ', echoes and prompts aside", () => {
  assert.equal(
    versionFrom(["Connected", "--] >", "--] firmware 1.0.0+0a1b2c3d"]),
    "1.0.0+0a1b2c3d",
  );
  assert.equal(versionFrom([">firmware none"]), "none");
  assert.equal(versionFrom([`--] >${VERSION_QUERY}`]), null);
  assert.equal(versionFrom(["Uncaught ReferenceError"]), null);
});
