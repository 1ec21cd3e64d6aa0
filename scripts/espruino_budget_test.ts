// The board's memory budgets on the real interpreter, in both protocols:
// Espruino for Linux built with 1,600 variables of 12 bytes, as
// ../shared/contracts.md says (`'variables': 1600` and the 32-bit lines of
// `boards/LINUX.py`, in a scratch folder: nothing of it is in the project).
// Runs when MNIST_ESPRUINO names that binary, and is ignored otherwise: the
// harness (harness.ts) cannot count variables, this can.
//
// The firmware goes on as a person puts it on a board: `deno task flash` over
// the interpreter's telnet console, saved to flash (its file in a temporary
// folder); a reboot is the interpreter started again on the same file. The
// board talks to the real server. Figures are net of an empty interpreter,
// read the same way (`process.memory().usage` over telnet); the most in use
// while a request runs is sampled every 2 ms by an interval, less the
// sampler's own cost. Each scenario prints its figures.
//
// The MQTT build runs the same way, through a real Mosquitto (skipped, with
// one line, without it) to the real server subscribed to it. Each flashed
// bundle is also held to its 6,144 bytes. The telnet
// port is fixed: run one interpreter at a time (or each run in its own
// network namespace: `unshare -n sh -c 'ip link set lo up; deno test ...'`).
//
//   MNIST_ESPRUINO=/path/to/espruino deno test -A scripts/espruino_budget_test.ts
import assert from "node:assert/strict";
import { Logger } from "../server/log.ts";
import { startServer } from "../server/server.ts";
import { type InferenceServer } from "../server/inference_server.ts";
import { Mosquitto, requireMqtt } from "../server/testing/mosquitto.ts";
import { main as flash } from "./flash.ts";
import { ESPRUINO, Interpreter, sleep, TELNET_PORT } from "./espruino_linux.ts";
import { SIZE_BUDGET } from "../device/build.ts";

/** Prints the flashed bundle's size and holds it to the 6 KB budget. */
async function checkSize(what: string, file: string): Promise<void> {
  const bytes = (await Deno.stat(file)).size;
  console.log(`${what}: bundle ${bytes} bytes`);
  assert.ok(bytes <= SIZE_BUDGET, `${what}: ${bytes} bytes`);
}

const BUDGET = { startUp: 250, inFlight: 500 };
const TOKEN = "0123456789abcdef0123456789ABCDEF";

interface Figures {
  startUp: number;
  /** The most in use while the first three requests run (the first makes the buffers). */
  inFlight: number;
  afterThree: number;
  /** Variables more after 100 more requests (polled) than before them. */
  growth: number;
}

/** The figures of the board as it is now, net of `empty`; every verdict must be right. */
async function figures(board: Interpreter, empty: number): Promise<Figures> {
  const startUp = await board.usage() - empty;
  const top = await board.usage();
  await board.run(
    "global.M=0;global.I=setInterval(function(){var u=process.memory().usage;if(u>M)M=u},2)",
  );
  await sleep(300);
  // The sampler's own cost: its most while nothing runs, over the usage before it.
  const [idle] = await board.run('print("MAX "+M);M=0', /^MAX \d+$/);
  for (let i = 0; i < 3; i++) await board.run("test()", /^Predicted/);
  const [peak] = await board.run(
    'print("MAX "+M);clearInterval(I);delete global.M;delete global.I',
    /^MAX \d+$/,
  );
  const inFlight = Number(peak.slice(4)) - (Number(idle.slice(4)) - top) - empty;
  await sleep(300);
  const before = await board.usage();
  await board.run("start(0.1)", /^Predicted/, 100);
  await board.run("stop()", /^Stopped$/);
  await sleep(500);
  const growth = await board.usage() - before;
  const verdicts = board.lines().filter((line) => line.startsWith("Predicted"));
  assert.ok(verdicts.length >= 103);
  for (const line of verdicts) assert.match(line, /^Predicted: (\d), expected: \1$/);
  assert.deepEqual(board.lines().filter((line) => /^Server|Uncaught/.test(line)), []);
  return { startUp, inFlight, afterThree: before - empty, growth };
}

/** Prints `f` and holds it to the budgets; `booted`: just started, so the start-up budget applies. */
function check(what: string, f: Figures, booted = true): void {
  console.log(
    `${what}: ${f.startUp} ${booted ? "after start-up" : "before"}, ${f.inFlight} at most in ` +
      `flight, ${f.afterThree} after 3 requests, ${f.growth} more after 100 more`,
  );
  if (booted) assert.ok(f.startUp <= BUDGET.startUp, `${what}: ${f.startUp} after start-up`);
  assert.ok(f.inFlight <= BUDGET.inFlight, `${what}: ${f.inFlight} in flight`);
  assert.ok(f.growth <= 0, `${what}: grew by ${f.growth} over 100 requests`);
}

Deno.test({
  name:
    "budgets on Espruino with 1,600 variables: framed, legacy after a switch and a reboot, framed again",
  ignore: !ESPRUINO,
  async fn() {
    const server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      log: new Logger("error", () => {}),
    });
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/empty`);
      await Deno.mkdir(`${dir}/board`);
      let board = await Interpreter.start(`${dir}/empty`);
      const empty = await board.usage();
      await board.close();

      // Flashed as a person does it, with the console free for the tool.
      board = await Interpreter.start(`${dir}/board`, false);
      const said: string[] = [];
      const code = await flash(
        [
          "--port",
          `tcp://127.0.0.1:${TELNET_PORT}`,
          "--server",
          `127.0.0.1:${server.addr.port}`,
          "--out",
          `${dir}/firmware.js`,
        ],
        (line) => said.push(line),
      );
      assert.equal(code, 0, said.join("\n"));
      await board.close();
      await checkSize("TCP", `${dir}/firmware.js`);

      board = await Interpreter.start(`${dir}/board`);
      check("framed, built in", await figures(board, empty));
      await board.run(
        `setServer("127.0.0.1", ${server.addr.port}, "legacy")`,
        /^server .* legacy/,
      );
      await board.run(`setToken("${TOKEN}")`, /^server .* not sent in legacy$/);
      await board.close();

      board = await Interpreter.start(`${dir}/board`);
      check("legacy and a token, saved, after a reboot", await figures(board, empty));
      await board.run(
        `setServer("127.0.0.1", ${server.addr.port}, "framed")`,
        /^server .* framed, token set \(saved\)$/,
      );
      await sleep(500);
      // The first request after the switch opens a new connection, the old one closed.
      check("framed again, switched at the REPL", await figures(board, empty), false);
      await board.close();
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Flashes a board in `dir`/board as a person does, with the console free for the tool. */
async function flashed(dir: string, args: string[]): Promise<void> {
  const board = await Interpreter.start(`${dir}/board`, false);
  const said: string[] = [];
  try {
    const code = await flash(
      ["--port", `tcp://127.0.0.1:${TELNET_PORT}`, "--out", `${dir}/firmware.js`, ...args],
      (line) => said.push(line),
    );
    assert.equal(code, 0, said.join("\n"));
  } finally {
    await board.close();
  }
}

Deno.test({
  name: "budgets on Espruino with 1,600 variables: the MQTT build through Mosquitto, and a reboot",
  ignore: !ESPRUINO || requireMqtt(),
  async fn() {
    const broker = await Mosquitto.start();
    let server: InferenceServer | null = null;
    const dir = await Deno.makeTempDir();
    try {
      server = await startServer({
        hostname: "127.0.0.1",
        port: 0,
        log: new Logger("error", () => {}),
        mqtt: { url: broker.url, group: "mnist" },
      });
      await Deno.mkdir(`${dir}/empty`);
      await Deno.mkdir(`${dir}/board`);
      let board = await Interpreter.start(`${dir}/empty`);
      const empty = await board.usage();
      await board.close();

      await flashed(dir, ["--server", `127.0.0.1:${broker.port}`, "--transport", "mqtt"]);
      await checkSize("MQTT", `${dir}/firmware.js`);
      board = await Interpreter.start(`${dir}/board`);
      check("mqtt, built in", await figures(board, empty));
      await board.run(`setToken("${TOKEN}")`, /^server .* mqtt, .* token set \(saved\)$/);
      await board.close();

      board = await Interpreter.start(`${dir}/board`);
      // Tokens are off on this server: the token goes along and is not looked at.
      check("mqtt and a token, saved, after a reboot", await figures(board, empty));
      await board.close();
    } finally {
      await server?.shutdown();
      await broker.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
