// deno task flash: the calls it makes, and its errors with the real Espruino
// tool against ports that do not answer. (An upload to a real interpreter is
// described in the README: it needs a board, or Espruino built for Linux.)
import assert from "node:assert/strict";
import {
  cliCalls,
  espruinoSpecifier,
  main,
  shellLine,
  TOOL_CONFIG,
  VERSION_QUERY,
  versionFrom,
} from "./flash.ts";
import { ignorableTests, requireSetup, requireTool } from "../server/testing/tools.ts";
import { BoardConsole } from "../device/harness_console.ts";
import { bootCode } from "../device/boot.ts";

/**
 * Whether the tool's packages are already in Deno's cache (`deno task
 * install:flash`): the tests that run it time the tool, never its first
 * download (about 270 packages).
 */
async function toolInstalled(): Promise<boolean> {
  const spec = await espruinoSpecifier();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "--frozen", "--config", TOOL_CONFIG, spec, "--help"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).includes("Espruino Command-line Tool");
}

const NO_TOOL = requireSetup(
  await toolInstalled(),
  "the flashing tool's packages (deno task install:flash)",
);
/** Tests that run the real tool. */
const tool = ignorableTests(NO_TOOL);
/** Tests that run it on socat's pseudo-terminal, which stands in for a board's serial port. */
const toolAndSocat = ignorableTests(NO_TOOL || requireTool("socat", "socat"));

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

/** Runs `deno task flash` as a person does, with the task's own permissions. */
async function flashTask(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "flash", ...args],
    cwd: new URL("..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, text: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

Deno.test("a serial port that is not there: one sentence and exit 2, before anything is built", async () => {
  await withTempDir(async (dir) => {
    const { code, text } = await flashTask([
      "--server",
      "192.168.1.10",
      "--port",
      "/dev/ttyUSB-no-such-board",
      "--out",
      `${dir}/fw.js`,
    ]);
    assert.equal(code, 2, text);
    assert.match(
      text,
      /\nflash: \/dev\/ttyUSB-no-such-board does not exist: is the board plugged in\? \(ls \/dev\/ttyUSB\* \/dev\/ttyACM\*\)\n$/,
    );
    // Nothing built, written or fetched: the build's line, the bundle and the tool's download.
    assert.doesNotMatch(text, /bytes of|Fetching|Uploading/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
  // A file that is not a character device is no serial port either.
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/not-a-port`, "");
    const { code, lines } = await flash(
      ["--server", "192.168.1.10", "--port", `${dir}/not-a-port`, "--out", `${dir}/fw.js`],
    );
    assert.equal(code, 2);
    assert.deepEqual(lines, [
      `flash: ${dir}/not-a-port is not a serial device (not a character device)`,
    ]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["not-a-port"]);
  });
});

Deno.test("a telnet address the tool could not use, or an --out it could not write: one sentence and exit 2, before anything is built", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/fw.js`;
    const refused: [string[], string][] = [
      [
        ["--port", "tcp://127.0.0.1:99999"],
        "--port tcp://127.0.0.1:99999: port 99999 is not 1..65535",
      ],
      [["--port", "tcp://127.0.0.1:0"], "--port tcp://127.0.0.1:0: port 0 is not 1..65535"],
      [
        ["--port", "tcp://127.0.0.1:"],
        "--port tcp://127.0.0.1: is not tcp://HOST or tcp://HOST:PORT (an IPv4 address or a name)",
      ],
      [
        ["--port", "tcp://:23"],
        "--port tcp://:23 is not tcp://HOST or tcp://HOST:PORT (an IPv4 address or a name)",
      ],
      [
        ["--port", "tcp://board.lan:23/x"],
        "--port tcp://board.lan:23/x is not tcp://HOST or tcp://HOST:PORT (an IPv4 address or a name)",
      ],
      [
        ["--port", "tcp://board.lan", "--out", dir],
        `--out ${dir} is a folder: give the path of a file`,
      ],
    ];
    for (const [flags, sentence] of refused) {
      const { code, lines } = await flash(["--server", "192.168.1.10", "--out", out, ...flags]);
      assert.equal(code, 2, lines.join("\n"));
      assert.deepEqual(lines, [`flash: ${sentence} (deno task flash --help)`]);
    }
    // Nothing built or written.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // A name, an address and a port in range are taken (a dry run: no board).
    const { code, lines } = await flash(
      ["--dry-run", "--server", "192.168.1.10", "--port", "tcp://127.0.0.1:65535", "--out", out],
    );
    assert.equal(code, 0, lines.join("\n"));
    assert.match(lines.at(-1)!, / -p tcp:\/\/127\.0\.0\.1:65535 -e /);
  });
});

Deno.test("a serial port Deno may not stat: said so, never 'does not exist'", async () => {
  // What the task did with --allow-read alone: NotCapable for /dev/tty*.
  await withTempDir(async (dir) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-run",
        "scripts/flash.ts",
        "--server",
        "192.168.1.10",
        "--port",
        "/dev/ttyS0",
        "--out",
        `${dir}/fw.js`,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, text);
    // m: on a fresh cache Deno first prints the packages it downloads.
    assert.match(text, /^flash: Deno may not open \/dev\/ttyS0 without --allow-all/m);
    assert.doesNotMatch(text, /does not exist/);
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

toolAndSocat.test("a real serial port (a pty from socat): the tool's first bytes reach the board's end", async () => {
  // socat makes a pseudo-terminal pair: `deno task flash` gets one end as its
  // serial port, and socat prints whatever arrives there on its stdout. This
  // runs the task as a person does, so it checks the task's permissions too:
  // with --allow-read alone Deno refuses to stat /dev/pts/* (NotCapable).
  await withTempDir(async (dir) => {
    const link = `${dir}/ttyBOARD`;
    const socat = new Deno.Command("socat", {
      args: ["-u", `pty,raw,echo=0,link=${link}`, "STDOUT"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const received: number[] = [];
    const reading = (async () => {
      for await (const chunk of socat.stdout) received.push(...chunk);
    })();
    try {
      for (let i = 0; i < 100 && !(await exists(link)); i++) await delay(50);
      const { code, text } = await flashTask(
        ["--port", link, "--server", "192.168.1.10", "--timeout", "5", "--out", `${dir}/fw.js`],
      );
      // Nobody answers at the other end, so the upload fails, and says why.
      assert.equal(code, 1, text);
      assert.doesNotMatch(text, /does not exist|NotCapable|EBADF/);
      assert.match(text, new RegExp(`Uploading to ${link} \\(flash\\)`));
      // The tool's opening: Ctrl-C twice, then it asks the board about itself.
      const said = new TextDecoder().decode(new Uint8Array(received));
      assert.ok(
        said.includes("\x03\x03") && said.includes("process.env"),
        `not the tool's opening at the board's end of the pty: ${JSON.stringify(said)}; ` +
          `flash printed:\n${text}`,
      );
    } finally {
      socat.kill("SIGTERM");
      await socat.status;
      await reading.catch(() => {});
    }
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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
