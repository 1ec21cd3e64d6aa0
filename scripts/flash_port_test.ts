// deno task flash's --port: a serial port that is not there, is not a
// serial device or may not be opened, and a telnet address the tool could
// not use, each one sentence before anything is built; a real
// pseudo-terminal that the tool's first bytes reach.
import assert from "node:assert/strict";
import { ignorableTests, requireTool } from "../server/testing/tools.ts";
import { flash, flashTask, NO_TOOL, withTempDir } from "./_flash_testing.ts";

/** Tests that run it on socat's pseudo-terminal, which stands in for a board's serial port. */
const toolAndSocat = ignorableTests(NO_TOOL || requireTool("socat", "socat"));

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
