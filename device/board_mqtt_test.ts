// The MQTT build (`deno task build --transport mqtt`) on the harness's
// stand-in Espruino, through a real Mosquitto to the real server with the
// real model, serving MQTT (`--mqtt`): `test()`, `start`/`stop`, `setServer`
// to the broker, a broker restart the board gets over by itself, and device
// tokens, where the topic's device id must be the token's name; no rollout of
// the TCP firmware reaches it. Skips with
// one line without Debian's mosquitto (and fails so under CI).
import assert from "node:assert/strict";
import { createAuthorizer } from "../server/auth/config.ts";
import { newToken, tokenLine } from "../server/auth/tokens.ts";
import { Logger } from "../server/log.ts";
import { type ServerOptions } from "../server/options.ts";
import { startServer } from "../server/server.ts";
import { type InferenceServer } from "../server/inference_server.ts";
import { Mosquitto, requireMqtt } from "../server/testing/mosquitto.ts";
import { Board, firmwareFor, withStorage } from "./harness.ts";
import { until } from "../server/testing/until.ts";
import { writeRelease } from "../server/fleet/releases.ts";
import { WireError } from "../shared/errors.ts";
import { MAX_RELEASE_ID } from "../shared/update_codec.ts";
import { FIRMWARE_NAME, MQTT_FIRMWARE_NAME } from "./build.ts";

const ignore = requireMqtt();
const SERIAL = "5ccf7f0a-1b2c";

/** A broker and the real server subscribed to it, as `--mqtt mqtt://...` starts it. */
async function withMqtt(
  options: ServerOptions,
  fn: (broker: Mosquitto, server: InferenceServer) => Promise<void>,
): Promise<void> {
  const broker = await Mosquitto.start();
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    mqtt: { url: broker.url, group: "mnist" },
    ...options,
  });
  try {
    await until(() => server.mqtt!.state().connected, "the server's MQTT client connected");
    await fn(broker, server);
  } finally {
    await server.shutdown();
    await broker.stop();
  }
}

/** Sends `count` bundled digits; every verdict must be the label (the next ones from `first`). */
async function classify(board: Board, first: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const k = (first + i) % 10;
    assert.equal(await board.answer(), `Predicted: ${k}, expected: ${k}`);
  }
}

Deno.test({
  name:
    "MQTT build: test() and start/stop through Mosquitto; the real model answers on mnist/{serial}/result",
  ignore,
  fn: () =>
    withMqtt({}, async (broker, server) => {
      const firmware = await firmwareFor(broker.port, { protocol: "mqtt" });
      assert.match(firmware.code, /mnist\//);
      // The TCP transport is left out of an MQTT build.
      assert.doesNotMatch(firmware.code, /not an MNST frame|Need framed or legacy/);
      const board = await Board.start(firmware.code);
      try {
        await board.waitFor(/^Ready/);
        assert.equal(
          board.lines[1],
          `server 127.0.0.1:${broker.port}, mqtt, device ${SERIAL}, token none`,
        );
        await classify(board, 0, 10);
        const stats = await board.stats();
        // One broker connection for all ten, and each request written whole, not as its text.
        assert.equal(stats.connects, 1);
        assert.equal(stats.openSockets, 1);

        const from = board.lines.length;
        await board.repl("start(0.2)");
        await board.waitFor(/^Predicted: (\d), expected: \1$/, { from, count: 3 });
        assert.equal(await board.answer("stop()", /^Stopped/), "Stopped");
        await new Promise((resolve) => setTimeout(resolve, 500));
        const after = board.lines.length;
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.deepEqual(board.matching(/^Predicted/, after), []);
        assert.deepEqual(board.matching(/^Server|Uncaught|HARNESS/), []);

        // The server saw them as MQTT requests of the device named by the topic.
        const metrics = await server.monitor.metrics.expose();
        const served = /mnist_requests_total\{protocol="mqtt",status="OK"\} (\d+)/.exec(metrics);
        assert.ok(served && Number(served[1]) >= 13, served?.[0]);
        // The fleet knows the board by its serial (the topic), with its firmware.
        const device = server.monitor.fleet.get(SERIAL);
        assert.ok(device, "the fleet registry has the board");
        assert.equal(device.firmware, `${MQTT_FIRMWARE_NAME} ${firmware.version}`);
        assert.ok(device.requests >= 13, `${device.requests} requests`);
      } finally {
        await board.close();
      }
    }),
});

Deno.test({
  name:
    "MQTT build: the broker restarted, the board reconnects by itself and the next test() is answered",
  ignore,
  fn: () =>
    withMqtt({}, async (broker, server) => {
      const firmware = await firmwareFor(broker.port, { protocol: "mqtt" });
      // Board time 4 times the wall clock's: its 20 s ticks come every 5 s.
      const board = await Board.start(firmware.code, { speed: 4 });
      try {
        await board.waitFor(/^Ready/);
        await classify(board, 0, 1);
        await broker.kill();
        await until(
          async () => (await board.stats()).openSockets === 0,
          "the board's socket closed with the broker",
        );
        // Down for a while (two ticks): attempts fail (refused), quietly while idle.
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        const during = (await board.stats()).connects;
        await broker.restart();
        // By itself: a new connection, with nothing asked at the REPL.
        await until(
          async () => {
            const stats = await board.stats();
            return stats.openSockets === 1 && stats.connects > during;
          },
          "the board connected again by itself",
          30_000,
        );
        await until(
          () => server.mqtt!.state().connected,
          "the server's MQTT client connected again",
        );
        await classify(board, 1, 2);
        assert.deepEqual(board.matching(/^Server|Uncaught|HARNESS/), []);
      } finally {
        await board.close();
      }
    }),
});

Deno.test({
  name:
    "MQTT build with tokens on: a wrong token gets UNAUTHORIZED printed; the right one on its name's topic is answered",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const token = newToken();
    await Deno.writeTextFile(`${dir}/tokens`, tokenLine("kitchen", token) + "\n");
    const auth = await createAuthorizer({ tokens: `${dir}/tokens` });
    try {
      await withMqtt({ auth }, async (broker) => {
        const wrong = await firmwareFor(broker.port, {
          protocol: "mqtt",
          device: "kitchen",
          token: newToken(),
        });
        let board = await Board.start(wrong.code);
        try {
          await board.waitFor(/^Ready/);
          assert.match(
            await board.answer("test()", /^Server/),
            /^Server: UNAUTHORIZED: .*; retry in 1 s$|^Server: UNAUTHORIZED: /,
          );
        } finally {
          await board.close();
        }
        // The right token, but on the serial's topic: the server takes it only on its name's.
        const serialTopic = await firmwareFor(broker.port, { protocol: "mqtt", token });
        board = await Board.start(serialTopic.code);
        try {
          await board.waitFor(/^Ready/);
          assert.match(
            await board.answer("test()", /^Server/),
            /^Server: UNAUTHORIZED: the token is device "kitchen"'s, not "5ccf7f0a-1b2c"'s/,
          );
        } finally {
          await board.close();
        }
        const right = await firmwareFor(broker.port, {
          protocol: "mqtt",
          device: "kitchen",
          token,
        });
        board = await Board.start(right.code);
        try {
          await board.waitFor(/^Ready/);
          assert.equal(
            board.lines[1],
            `server 127.0.0.1:${broker.port}, mqtt, device kitchen, token set`,
          );
          await classify(board, 0, 3);
        } finally {
          await board.close();
        }
      });
    } finally {
      await auth.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    'MQTT build: setServer(host, port, "mqtt") switches brokers, kept across a reboot; other protocols refused',
  ignore,
  fn: () =>
    withMqtt({}, async (broker) => {
      // Built for a broker that is not there (a closed port).
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const nowhere = (closed.addr as Deno.NetAddr).port;
      closed.close();
      const firmware = await firmwareFor(nowhere, { protocol: "mqtt" });
      await withStorage(async (storageFile) => {
        let board = await Board.start(firmware.code, { storageFile });
        try {
          await board.waitFor(/^Ready/);
          assert.match(await board.answer("test()", /^Server/), /^Server: connection closed/);
          assert.equal(
            await board.answer(`setServer("127.0.0.1", ${broker.port}, "framed")`, /^Need/),
            "Need mqtt",
          );
          assert.equal(
            await board.answer(`setServer("127.0.0.1", ${broker.port}, "mqtt")`, /^server/),
            `server 127.0.0.1:${broker.port} (saved), mqtt, device ${SERIAL}, token none`,
          );
          await classify(board, 1, 2);
        } finally {
          await board.close();
        }
        // A reboot: the saved broker.
        board = await Board.start(firmware.code, { storageFile });
        try {
          await board.waitFor(/^Ready/);
          await classify(board, 0, 1);
        } finally {
          await board.close();
        }
      });
    }),
});

Deno.test({
  name:
    "MQTT build: a rollout of the TCP firmware never reaches it (its name is its own), so the longest offer cannot overflow it",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    // The longest topic, and a token (an offer's MAC): the largest reply an offer would make.
    const device = "d".repeat(64);
    const token = newToken();
    await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine(device, token)}\n`);
    const auth = await createAuthorizer({ tokens: `${dir}/tokens` });
    const version = "1.0.1-" + "b".repeat(MAX_RELEASE_ID - `${FIRMWARE_NAME}/1.0.1-`.length);
    await writeRelease(`${dir}/firmware`, `${FIRMWARE_NAME} ${version}`, 'print("new")');
    try {
      await withMqtt({ auth, firmwareDir: `${dir}/firmware` }, async (broker, server) => {
        const rollout = server.updates.start({
          release: `${FIRMWARE_NAME}/${version}`,
          share: 1,
          devices: null,
          perMinute: 100,
        });
        assert.ok(!(rollout instanceof WireError), String(rollout));
        const firmware = await firmwareFor(broker.port, { protocol: "mqtt", device, token });
        const board = await Board.start(firmware.code);
        try {
          await board.waitFor(/^Ready/);
          await classify(board, 0, 3);
        } finally {
          await board.close();
        }
        const row = server.monitor.fleet.get(device);
        assert.equal(row?.firmware, `${MQTT_FIRMWARE_NAME} ${firmware.version}`);
        assert.equal(server.updates.deviceView(device), null, "no offer reached it");
      });
    } finally {
      await auth.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
