// deno task flash: the calls it makes, and its errors with the real Espruino
// tool against ports that do not answer. (An upload to a real interpreter is
// described in the README: it needs a board, or Espruino built for Linux.)
import assert from "node:assert/strict";
import { espruinoSpecifier, TOOL_CONFIG } from "./flash_tool.ts";
import { ignorableTests, requireSetup } from "../server/testing/tools.ts";
import { BoardConsole } from "../device/harness_console.ts";
import { bootCode } from "../device/boot.ts";
import { flash, flashTask, NO_TOOL, withTempDir } from "./_flash_testing.ts";

/** Tests that run the real tool. */
const tool = ignorableTests(NO_TOOL);

/** `deno task flash --dry-run` to a serial port with `flags`; the tool's call prefix and what it printed. */
async function dryRun(
  out: string,
  flags: string[],
): Promise<{ code: number; lines: string[]; tool: string }> {
  const spec = await espruinoSpecifier();
  assert.equal(spec, "npm:espruino@0.1.67");
  const { code, lines } = await flash([
    "--dry-run",
    ...flags,
    "--server",
    "192.168.1.10",
    "--port",
    "/dev/ttyUSB0",
    "--out",
    out,
  ]);
  const tool =
    `${Deno.execPath()} run -A --frozen --config ${TOOL_CONFIG} ${spec} --no-ble -p tcp://127.0.0.1:PORT`;
  return { code, lines, tool };
}

/** The lines after the build's, as a dry run prints them, with `upload` the tool's upload call's arguments. */
function dryRunCalls(tool: string, upload: string): string[] {
  return [
    "relay /dev/ttyUSB0 at 115200 baud to tcp://127.0.0.1:PORT " +
    "(the tool's own serial path cannot read or write under Deno)",
    `${tool} ${upload}`,
    `${tool} -e 'print("firmware "+(typeof VERSION=="string"?VERSION:"none"))'`,
  ];
}

Deno.test("--dry-run prints the exact calls: upload to flash, then ask the VERSION", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/fw.js`;
    const { code, lines, tool } = await dryRun(out, []);
    assert.equal(code, 0);
    assert.match(lines[0], new RegExp(`^${out}: [\\d,]+ bytes of 6,144, VERSION 1\\.0\\.0\\+`));
    assert.deepEqual(
      lines.slice(1),
      dryRunCalls(tool, `--config SAVE_ON_SEND=1 --config SERIAL_THROTTLE_SEND=1 ${out}`),
    );
    // What it would upload is there, built.
    assert.ok((await Deno.readTextFile(out)).includes('"192.168.1.10"'));
  });
});

Deno.test("--dry-run --updates: the boot file as the boot code, the bundle and digits as Storage files", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/fw.js`;
    const { code, lines, tool } = await dryRun(out, ["--updates"]);
    assert.equal(code, 0);
    assert.match(
      lines[0],
      new RegExp(`^${out}: [\\d,]+ bytes of 6,144 \\(updates\\), VERSION 1\\.0\\.0\\+`),
    );
    assert.deepEqual(
      lines.slice(1),
      dryRunCalls(
        tool,
        `--storage mnist.digits:${dir}/mnist.digits --storage mnist0.js:${out} ` +
          `--storage mnist.boot:${dir}/mnist.boot --config SAVE_ON_SEND=1 ` +
          `--config SERIAL_THROTTLE_SEND=1 ${dir}/boot.js`,
      ),
    );
    // What it would upload is there, built: the application, and the boot file that runs it.
    assert.ok((await Deno.readTextFile(out)).includes('"192.168.1.10"'));
    assert.equal(await Deno.readTextFile(`${dir}/boot.js`), await bootCode());
    assert.equal(await Deno.readTextFile(`${dir}/mnist.boot`), "{}");
  });
});

Deno.test("--dry-run --updates --token: the token goes to the board's Storage, not into the bundle", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/fw.js`;
    const token = "0123456789abcdef0123456789ABCDEF";
    const { code, lines, tool } = await dryRun(out, ["--updates", "--token", token]);
    assert.equal(code, 0);
    assert.match(lines[0], /\(updates\), .*, token to Storage$/);
    assert.deepEqual(
      lines.slice(1),
      dryRunCalls(
        tool,
        `--storage mnist.digits:${dir}/mnist.digits --storage mnist0.js:${out} ` +
          `--storage mnist.boot:${dir}/mnist.boot --storage mnist.json:${dir}/mnist.json ` +
          `--config SAVE_ON_SEND=1 --config SERIAL_THROTTLE_SEND=1 ${dir}/boot.js`,
      ),
    );
    assert.ok(!(await Deno.readTextFile(out)).includes(token));
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/mnist.json`)), { token });
    // WiFi credentials have no place in an update build: refused, nothing built.
    const refused = await dryRun(`${dir}/other.js`, ["--updates", "--ssid", "home"]);
    assert.equal(refused.code, 2);
    await assert.rejects(Deno.stat(`${dir}/other.js`), Deno.errors.NotFound);
  });
});

tool.test("a refused telnet port: the real tool is stopped at its first error", async () => {
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

tool.test("first flash with --updates to the test board's console: the boot file runs mnist0.js", async () => {
  const board = await BoardConsole.start();
  try {
    await withTempDir(async (dir) => {
      const { code, lines } = await flash([
        "--updates",
        "--port",
        `tcp://127.0.0.1:${board.port}`,
        "--server",
        "127.0.0.1:32001",
        "--timeout",
        "30",
        "--out",
        `${dir}/fw.js`,
      ]);
      assert.equal(code, 0, lines.join("\n"));
      assert.match(lines.at(-1)!, /^Flashed 1\.0\.0\+\w+ to tcp:\/\/127\.0\.0\.1:\d+ \(flash\)\.$/);
      assert.ok(board.board.lines.some((l) => /^Ready/.test(l)), board.board.lines.join("\n"));
    });
  } finally {
    await board.close();
  }
});

tool.test("a port that connects and never answers: stopped after --timeout", async () => {
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

Deno.test("first flash on an empty Deno cache, --timeout 20, to the test board's telnet console", async () => {
  // The tool's first download (about 270 packages) happens before --timeout starts, says so,
  // and neither the build-script box nor a deprecation warning reaches the person.
  const board = await BoardConsole.start();
  const cache = await Deno.makeTempDir();
  try {
    await withTempDir(async (dir) => {
      const { code, text } = await flashTask(
        [
          "--port",
          `tcp://127.0.0.1:${board.port}`,
          "--server",
          "127.0.0.1:32001",
          "--timeout",
          "20",
          "--out",
          `${dir}/fw.js`,
        ],
        { DENO_DIR: cache },
      );
      if (code !== 0 && /flash: could not fetch the flashing tool/.test(text)) {
        // No registry to fetch from: what requireSetup decides (a line, or a failure in CI).
        requireSetup(false, "the npm registry, to fetch the flashing tool into an empty cache");
        return;
      }
      assert.equal(code, 0, text);
      assert.match(
        text,
        /Fetching the flashing tool once \(npm:espruino@0\.1\.67 .*--timeout starts/,
      );
      assert.match(text, /Flashed 1\.0\.0\+\w+ to tcp:\/\/127\.0\.0\.1:\d+ \(flash\)\./);
      assert.doesNotMatch(text, /Ignored build scripts|DeprecationWarning|Warning/);
      assert.equal(board.boots, 1);
      assert.ok(board.board.lines.some((l) => /^Ready/.test(l)), board.board.lines.join("\n"));
    });
  } finally {
    await board.close();
    await Deno.remove(cache, { recursive: true });
  }
});
