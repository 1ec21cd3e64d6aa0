// deno task flash: the calls it makes, and its errors with the real Espruino
// tool against ports that do not answer. (An upload to a real interpreter is
// described in the README: it needs a board, or Espruino built for Linux.)
import assert from "node:assert/strict";
import {
  cliCalls,
  espruinoSpecifier,
  main,
  shellLine,
  VERSION_QUERY,
  versionFrom,
} from "./flash.ts";

/** Runs `deno task flash` with `args`; returns its exit code and every line it printed. */
async function flash(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const error = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const code = await main(args, (line) => lines.push(line));
    return { code, lines };
  } finally {
    console.error = error;
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("--dry-run prints the exact calls: upload to flash, then ask the VERSION", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/fw.js`;
    const spec = await espruinoSpecifier();
    assert.equal(spec, "npm:espruino@0.1.67");
    const { code, lines } = await flash([
      "--dry-run",
      "--server",
      "192.168.1.10",
      "--port",
      "/dev/ttyUSB0",
      "--out",
      out,
    ]);
    assert.equal(code, 0);
    assert.match(lines[0], new RegExp(`^${out}: [\\d,]+ bytes of 6,144, VERSION 1\\.0\\.0\\+`));
    const deno = Deno.execPath();
    assert.deepEqual(lines.slice(1), [
      `${deno} run -A ${spec} --no-ble -p /dev/ttyUSB0 -b 115200 --config SAVE_ON_SEND=1 ` +
      `--config SERIAL_THROTTLE_SEND=1 ${out}`,
      `${deno} run -A ${spec} --no-ble -p /dev/ttyUSB0 -b 115200 -e ` +
      `'print("firmware "+(typeof VERSION=="string"?VERSION:"none"))'`,
    ]);
    // What it would upload is there, built.
    assert.ok((await Deno.readTextFile(out)).includes('"192.168.1.10"'));
  });
});

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

Deno.test("a serial port that is not there: a clear error, before the tool runs", async () => {
  await withTempDir(async (dir) => {
    const { code, lines } = await flash([
      "--server",
      "192.168.1.10",
      "--port",
      "/dev/ttyUSB-no-such-board",
      "--out",
      `${dir}/fw.js`,
    ]);
    assert.equal(code, 1);
    assert.match(
      lines.at(-1)!,
      /^flash: \/dev\/ttyUSB-no-such-board does not exist: is the board plugged in\?/,
    );
  });
});

Deno.test("a refused telnet port: the real tool is stopped at its first error", async () => {
  await withTempDir(async (dir) => {
    const { code, lines } = await flash([
      "--server",
      "192.168.1.10",
      "--port",
      "tcp://127.0.0.1:1",
      "--timeout",
      "30",
      "--out",
      `${dir}/fw.js`,
    ]);
    assert.equal(code, 1);
    assert.ok(lines.some((l) => l.includes("Espruino Command-line Tool 0.1.67")), lines.join("\n"));
    assert.equal(
      lines.at(-1),
      "flash: could not upload to tcp://127.0.0.1:1: connection refused: " +
        "is the board's telnet console on that address?",
    );
  });
});

Deno.test("a port that connects and never answers: stopped after --timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // silent: no prompt, ever
  })();
  try {
    await withTempDir(async (dir) => {
      const { code, lines } = await flash([
        "--server",
        "192.168.1.10",
        "--port",
        `tcp://127.0.0.1:${listener.addr.port}`,
        "--timeout",
        "3",
        "--out",
        `${dir}/fw.js`,
      ]);
      assert.equal(code, 1);
      assert.equal(
        lines.at(-1),
        `flash: could not upload to tcp://127.0.0.1:${listener.addr.port}: no answer within 3 s`,
      );
    });
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});
