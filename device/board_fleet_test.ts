// Boards in the fleet: the built bundle, on the harness's stand-in Espruino,
// says who it is on a connection's first request (its `getSerial()` as
// `device`, beside `client`), and the real server lists each board under
// that id even behind one address; with a token, the token's name is the
// id and the serial is not sent; a board built without updates keeps
// classifying while a rollout's longest offer rides on its replies.
import assert from "node:assert/strict";
import { createAuthorizer } from "../server/auth/config.ts";
import { newToken, tokenLine } from "../server/auth/tokens.ts";
import type { DeviceView } from "../server/fleet/device_view.ts";
import { Logger } from "../server/log.ts";
import { startServer } from "../server/server.ts";
import { Board, firmwareFor } from "./harness.ts";
import { ADMIN, startOtaServer } from "./ota_testing.ts";
import { writeRelease } from "../server/fleet/releases.ts";
import { callHttp } from "../server/testing/releases.ts";
import { MAX_RELEASE_ID } from "../shared/update_codec.ts";

Deno.test("boards send their serial once a connection; the fleet lists each under it", async () => {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
  });
  const boards: Board[] = [];
  try {
    const firmware = await firmwareFor(server.addr.port);
    for (const serial of ["5ccf7f0a-1b2c", "5ccf7f0a-9d3e"]) {
      const board = await Board.start(firmware.code, { serial });
      boards.push(board);
      await board.waitFor(/^Ready/);
      for (let i = 0; i < 3; i++) {
        assert.match(await board.answer(), /^Predicted: (\d), expected: \1$/);
      }
    }
    const response = await fetch(`http://127.0.0.1:${server.http!.addr.port}/v2/fleet/devices`);
    const devices: DeviceView[] = (await response.json()).devices;
    assert.deepEqual(
      devices.map((d) => [d.id, d.identified_by, d.address, d.requests, d.errors]).sort(),
      [
        ["5ccf7f0a-1b2c", "device", "127.0.0.1", 3, 0],
        ["5ccf7f0a-9d3e", "device", "127.0.0.1", 3, 0],
      ],
    );
    assert.equal(devices[0].firmware, `mnist-device ${firmware.version}`);
  } finally {
    for (const board of boards) await board.close();
    await server.shutdown();
  }
});

Deno.test("a board with a token is its token's name, and its serial stays home", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("hall", token) + "\n");
  const auth = await createAuthorizer({ tokens: `${dir}/tokens` });
  const seen: string[] = [];
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    auth,
    onRequest: (event) => seen.push(`${event.deviceId} ${event.identifiedBy}`),
  });
  try {
    const board = await Board.start((await firmwareFor(server.addr.port, { token })).code);
    try {
      await board.waitFor(/^Ready/);
      for (let i = 0; i < 2; i++) assert.match(await board.answer(), /^Predicted/);
    } finally {
      await board.close();
    }
    assert.deepEqual(seen, ["hall token", "hall token"]);
  } finally {
    await server.shutdown();
    await auth.close();
    await Deno.remove(dir, { recursive: true });
  }
  // A server without tokens sees neither the token nor the serial as an id.
  seen.length = 0;
  const open = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    onRequest: (event) => seen.push(`${event.deviceId} ${event.identifiedBy}`),
  });
  try {
    const board = await Board.start((await firmwareFor(open.addr.port, { token })).code);
    try {
      await board.waitFor(/^Ready/);
      assert.match(await board.answer(), /^Predicted/);
    } finally {
      await board.close();
    }
    assert.deepEqual(seen, ["addr:127.0.0.1 address"]);
  } finally {
    await open.shutdown();
  }
});

Deno.test("a board built without updates keeps classifying while the longest release id is offered", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("board", token)}\n`);
  const auth = await createAuthorizer({ tokens: `${dir}/tokens` });
  const server = await startOtaServer(`${dir}/firmware`, auth);
  try {
    // The offer (release id, size, CRC-32, a token's MAC) rides on every reply to this board.
    const version = "1.0.1-" + "b".repeat(MAX_RELEASE_ID - "mnist-device/1.0.1-".length);
    await writeRelease(`${dir}/firmware`, `mnist-device ${version}`, 'print("new")');
    assert.equal(
      (await callHttp(server, "POST", "/v2/fleet/releases", { token: ADMIN })).status,
      200,
    );
    const rollout = await callHttp(server, "POST", "/v2/fleet/rollouts", {
      token: ADMIN,
      body: { release: `mnist-device/${version}`, share: 1 },
    });
    assert.equal(rollout.status, 201, JSON.stringify(rollout.body));
    const board = await Board.start((await firmwareFor(server.addr.port, { token })).code);
    try {
      await board.waitFor(/^Ready/);
      for (let i = 0; i < 3; i++) assert.match(await board.answer(), /^Predicted/);
    } finally {
      await board.close();
    }
    const device = await callHttp(server, "GET", "/v2/fleet/devices/board", { token: ADMIN });
    assert.equal(device.body.update?.state, "offered", "the offer was made");
  } finally {
    await server.shutdown();
    await auth.close();
    await Deno.remove(dir, { recursive: true });
  }
});
