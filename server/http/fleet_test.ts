// The fleet views on a real server: devices are who they say they are (a
// NAT's 1,000 boards are 1,000 rows), turn silent and are forgotten on time,
// tokens name devices, and bad ids are refused without a trace.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { Status } from "../../shared/errors.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import type { DeviceView } from "../fleet/device_view.ts";
import { withServer } from "../testing/server.ts";
import { sighting } from "../testing/sighting.ts";
import { readAll } from "../testing/conn.ts";
import { writeAll } from "../write_all.ts";
import type { InferenceServer } from "../inference_server.ts";

const digitU8 = new Uint8Array(784).map((_, i) => (i * 13) & 0xff);

function base(server: InferenceServer): string {
  return `http://127.0.0.1:${server.http!.addr.port}`;
}

async function getJson(url: string, headers: HeadersInit = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.json() };
}

/** One board: a connection whose first request says who it is, and a second that does not. */
async function board(port: number, device: string, firmware: string): Promise<void> {
  const client = await InferenceClient.connect({ hostname: "127.0.0.1", port });
  try {
    const first = await client.send({
      command: Command.INFERENCE_INPUT,
      digitU8,
      device,
      client: firmware,
    });
    assert.equal(first.status, Status.OK);
    assert.equal((await client.infer({ digitU8 })).status, Status.OK);
  } finally {
    client.close();
  }
}

Deno.test("fleet: 1,000 boards behind one address are 1,000 devices; legacy ones are keyed by address", async () => {
  await withServer({}, async (server, address) => {
    const ids = Array.from({ length: 1000 }, (_, i) => `sim-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(ids.slice(i, i + 100).map((id) => board(address.port, id, "sim/1.0")));
    }
    const legacy = await Deno.connect(address);
    await writeAll(legacy, oldClientRequest(new Float32Array(784)));
    assert.equal((await readAll(legacy)).length, 96);

    const { status, body } = await getJson(`${base(server)}/v2/fleet/devices`);
    assert.equal(status, 200);
    const devices: DeviceView[] = body.devices;
    assert.equal(devices.length, 1001);
    const boards = devices.filter((d) => d.identified_by === "device");
    assert.deepEqual(boards.map((d) => d.id).sort(), ids);
    for (const d of boards) {
      assert.equal(d.address, "127.0.0.1");
      assert.equal(d.requests, 2, `${d.id}: the request without the id counts for it too`);
      assert.equal(d.firmware, "sim/1.0");
      assert.equal(d.protocol, "framed");
      assert.equal(d.state, "online");
      assert.equal(d.model_version, 1);
      assert.equal(typeof d.last_digit, "number");
      assert.ok(d.latency_p99_ms! >= d.latency_p50_ms!);
      // In the last minute's bucket, or the one before when a minute began since.
      const [before, last] = d.requests_per_minute.slice(-2);
      assert.equal(before + last, 2, `${d.id}: ${d.requests_per_minute.slice(-2)}`);
    }
    const byAddress = devices.find((d) => d.identified_by === "address")!;
    assert.equal(byAddress.id, "addr:127.0.0.1");
    assert.equal(byAddress.protocol, "legacy");

    const one = await getJson(`${base(server)}/v2/fleet/devices/sim-0042`);
    assert.equal(one.body.id, "sim-0042");
    const firmware = await getJson(`${base(server)}/v2/fleet/devices?firmware=1.0`);
    assert.equal(firmware.body.devices.length, 1000);
    const series = await getJson(`${base(server)}/v2/fleet/series`);
    assert.equal(series.body.minutes.length, 60);
    const total = series.body.minutes.reduce(
      (n: number, m: { requests: number }) => n + m.requests,
      0,
    );
    assert.equal(total, 2001);
    const metrics = await (await fetch(`${base(server)}/metrics`)).text();
    assert.match(metrics, /^mnist_devices\{state="online"\} 1001$/m);
    assert.match(metrics, /^mnist_devices\{state="silent"\} 0$/m);
    assert.doesNotMatch(metrics, /sim-0/, "no per-device label");
  });
});

Deno.test("fleet: a quiet device turns silent, then is forgotten, on time", async () => {
  await withServer({ deviceSilentAfter: 2, deviceForgetAfter: 6 }, async (server, address) => {
    await board(address.port, "quiet", "sim/1.0");
    const url = `${base(server)}/v2/fleet/devices`;
    assert.deepEqual(
      (await getJson(`${url}?state=online`)).body.devices.map((d: DeviceView) => d.id),
      ["quiet"],
    );
    assert.deepEqual((await getJson(`${url}?state=silent`)).body.devices, []);
    // Margins of a second on each side: a busy machine's requests take their time.
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(
      (await getJson(`${url}?state=silent`)).body.devices.map((d: DeviceView) => d.id),
      ["quiet"],
    );
    assert.deepEqual((await getJson(`${url}?state=online`)).body.devices, []);
    assert.match(
      await (await fetch(`${base(server)}/metrics`)).text(),
      /^mnist_devices\{state="silent"\} 1$/m,
    );
    await new Promise((r) => setTimeout(r, 4000));
    const gone = await getJson(`${url}/quiet`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, { error: 'UNKNOWN_COMMAND: no device "quiet" is known' });
    assert.deepEqual((await getJson(url)).body.devices, []);
    const bad = await getJson(`${url}?state=asleep`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^MALFORMED_BUFFER: state must be one of online, silent/);
  });
});

Deno.test("fleet: with tokens the token names the device; the views need the operator token", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  try {
    const operator = "operator-token-for-the-fleet";
    const options = { auth: new Authorizer({ tokens }), operatorToken: operator };
    await withServer(options, async (server, address) => {
      const client = await InferenceClient.connect(address, { token });
      const reply = await client.send({
        command: Command.INFERENCE_INPUT,
        digitU8,
        device: "claims-to-be-garage",
      });
      assert.equal(reply.status, Status.OK);
      client.close();
      const url = `${base(server)}/v2/fleet/devices`;
      assert.equal((await getJson(url)).status, 401);
      assert.equal(
        (await getJson(url, { authorization: `Bearer ${token}` })).status,
        401,
        "a device token never opens views",
      );
      const { body } = await getJson(url, { authorization: `Bearer ${operator}` });
      assert.deepEqual(body.devices.map((d: DeviceView) => [d.id, d.identified_by]), [[
        "kitchen",
        "token",
      ]]);
    });
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fleet: a device id that is too long, unprintable, spaced, slashed or addr: is refused and recorded as nobody", async () => {
  await withServer({}, async (server, address) => {
    const refused = ["x".repeat(65), "tab\there", "my board", "a/b", "addr:10.0.0.1"];
    for (const device of refused) {
      const client = await InferenceClient.connect(address);
      const reply = await client.send({ command: Command.INFERENCE_INPUT, digitU8, device });
      assert.equal(reply.status, Status.MALFORMED_BUFFER, device);
      assert.match(reply.error, /device field must be 1-64 letters, digits/);
      client.close();
    }
    const { body } = await getJson(`${base(server)}/v2/fleet/devices`);
    assert.deepEqual(body.devices.map((d: DeviceView) => [d.id, d.requests, d.errors]), [[
      "addr:127.0.0.1",
      refused.length,
      refused.length,
    ]]);
  });
});

Deno.test("fleet: a client field over 64 characters is refused and kept nowhere; the next request is served", async () => {
  await withServer({}, async (server, address) => {
    const board = await InferenceClient.connect(address);
    const long = await board.send({
      command: Command.INFERENCE_INPUT,
      digitU8,
      device: "attic",
      client: "x".repeat(15_000),
    });
    assert.equal(long.status, Status.MALFORMED_BUFFER);
    assert.equal(long.error, "the client field must be at most 64 characters");
    const next = await board.send({ command: Command.INFERENCE_INPUT, digitU8 });
    assert.equal(next.status, Status.OK);
    board.close();
    const row = server.monitor.fleet.get("attic")!;
    assert.deepEqual([row.requests, row.errors, row.firmware], [2, 1, null]);
  });
});

Deno.test("fleet: a list longer than a page comes whole or a window of it, in process and through listener Workers", async () => {
  for (const options of [{ httpPort: 0 }, { httpPort: 0, listeners: 2 }]) {
    await withServer(options, async (server) => {
      for (let i = 0; i < 1_100; i++) {
        server.monitor.fleet.record(sighting(`board-${i}`));
      }
      const url = `${base(server)}/v2/fleet/devices`;
      const { body } = await getJson(url);
      assert.equal(body.devices.length, 1_100);
      assert.equal(body.total, 1_100);
      assert.equal(new Set(body.devices.map((d: DeviceView) => d.id)).size, 1_100);
      const window = await getJson(`${url}?offset=499&limit=3`);
      assert.deepEqual(window.body.devices.map((d: DeviceView) => d.id), [
        body.devices[499].id,
        body.devices[500].id,
        body.devices[501].id,
      ]);
      assert.equal(window.body.total, 1_100);
      assert.deepEqual((await getJson(`${url}?limit=0`)).body, { devices: [], total: 1_100 });
      assert.deepEqual((await getJson(`${url}?state=silent`)).body, { devices: [], total: 0 });
      for (const bad of ["limit=-1", "limit=ten", "offset=1.5", "limit="]) {
        const refused = await getJson(`${url}?${bad}`);
        assert.equal(refused.status, 400, bad);
        assert.match(
          refused.body.error,
          /^MALFORMED_BUFFER: (limit|offset) must be a whole number/,
        );
      }
    });
  }
});
