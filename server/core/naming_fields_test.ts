// The fields a board names itself by hold on every transport, as the one
// handler checks them: a `client` field of at most 64 characters
// (MAX_CLIENT_LENGTH) and a `device` field under the one name rule, refused
// alike on the framed board port (in process and through listener Workers)
// and over MQTT, and kept nowhere; HTTP's User-Agent is a firmware name cut
// to the same 64 characters, in process and through Workers, tokens off and
// on. (A legacy request carries neither field: docs/protocol.md.) A real
// server, sockets, broker and model.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { oipRequest } from "../../client/oip.ts";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply } from "../../shared/reply_codec.ts";
import { DEVICE_NAME_RULE, MAX_CLIENT_LENGTH } from "../../shared/device_name.ts";
import { statusName, WireError } from "../../shared/errors.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import type { InferenceServer } from "../inference_server.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "../listeners/listener_options.ts";
import { serverWithListeners } from "../testing/http_modes.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { until } from "../testing/until.ts";

const noMqtt = requireMqtt();
const digitU8 = Uint8Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
const fits = "c".repeat(MAX_CLIENT_LENGTH);
const over = "c".repeat(MAX_CLIENT_LENGTH + 1);
const longAgent = "u".repeat(MAX_CLIENT_LENGTH) + "-and-much-more".repeat(40);

function code(reply: DecodedReply | WireError): string {
  if (reply instanceof WireError) return `undecodable: ${reply.message}`;
  return reply.error ? `${statusName(reply.status)}: ${reply.error}` : statusName(reply.status);
}

/** A server on loopback (its board and HTTP ports in process or in two Workers), on `broker`. */
async function serverOn(
  listeners: number,
  broker: Mosquitto | null,
  auth?: Authorizer,
): Promise<InferenceServer> {
  if (listeners > 1) assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run --unstable-net");
  const server = await serverWithListeners(listeners, {
    ...(broker ? { mqtt: { url: broker.url, group: "mnist" } } : {}),
    ...(auth ? { auth } : {}),
  });
  if (broker) await until(() => server.mqtt!.state().connected, "the MQTT client connected");
  return server;
}

/** One framed connection: each request's outcome, in order. */
async function framed(server: InferenceServer, requests: object[]): Promise<string[]> {
  const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    const replies = await Promise.all(
      requests.map((r) => client.send({ command: Command.INFERENCE_INPUT, digitU8, ...r })),
    );
    return replies.map(code);
  } finally {
    client.close();
  }
}

/** An HTTP infer with `headers`: its status and error code, if any. */
async function http(server: InferenceServer, headers: Record<string, string>): Promise<string> {
  const { body, headers: oip } = oipRequest([digitU8]);
  const response = await fetch(`http://127.0.0.1:${server.http!.addr.port}/v2/models/mnist/infer`, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: { ...oip, ...headers },
  });
  const text = await response.text();
  return response.status === 200 ? "200" : `${response.status} ${text}`;
}

/** One MQTT device's requests in turn: each outcome. */
async function mqtt(broker: Mosquitto, name: string, requests: object[]): Promise<string[]> {
  const device = await MqttDevice.connect(broker.url, name);
  try {
    const seen: string[] = [];
    for (const r of requests) seen.push(code(await device.request({ digitU8, ...r })));
    return seen;
  } finally {
    device.close();
  }
}

/** The fleet's rows for `ids`: requests, errors and firmware. */
function rows(server: InferenceServer, ids: string[]): string[] {
  return ids.map((id) => {
    const row = server.monitor.fleet.get(id);
    return row
      ? `${id}: ${row.requests} requests, ${row.errors} errors, firmware ${row.firmware}`
      : `${id}: none`;
  });
}

/** Every transport's outcome for long and bad naming fields, with `listeners` listener threads. */
async function namingOutcomes(listeners: number, broker: Mosquitto | null): Promise<string[]> {
  const server = await serverOn(listeners, broker);
  const seen: string[] = [];
  try {
    seen.push(`framed 64: ${await framed(server, [{ device: "f-64", client: fits }])}`);
    // The firmware sends its fields on a connection's first request only: the next is served.
    seen.push(`framed 65: ${await framed(server, [{ device: "f-65", client: over }, {}])}`);
    seen.push(`framed bad device: ${await framed(server, [{ device: "my board" }, {}])}`);
    if (broker) {
      seen.push(`mqtt 64: ${await mqtt(broker, "m-64", [{ client: fits }])}`);
      seen.push(`mqtt 65: ${await mqtt(broker, "m-65", [{ client: over }, {}])}`);
      seen.push(`mqtt bad device: ${await mqtt(broker, "m-bad", [{ device: "my board" }])}`);
    }
    // Last, so the address's row names the User-Agent as its firmware.
    seen.push(`http long User-Agent: ${await http(server, { "user-agent": longAgent })}`);
    const ids = ["f-64", "f-65", "my board", "addr:127.0.0.1"];
    if (broker) ids.push("m-64", "m-65", "m-bad");
    seen.push(...rows(server, ids));
  } finally {
    await server.shutdown();
  }
  return seen;
}

Deno.test("a client field over 64 characters and a bad device field are refused alike on the board port (in process and through Workers) and over MQTT; HTTP's User-Agent is cut to 64", async () => {
  const broker = noMqtt ? null : await Mosquitto.start();
  try {
    const inProcess = await namingOutcomes(1, broker);
    const tooLong =
      `MALFORMED_BUFFER: the client field must be at most ${MAX_CLIENT_LENGTH} characters`;
    const badName = `MALFORMED_BUFFER: the device field must be ${DEVICE_NAME_RULE}`;
    const expected = [
      "framed 64: OK",
      `framed 65: ${tooLong},OK`,
      `framed bad device: ${badName},OK`,
      ...broker ? ["mqtt 64: OK", `mqtt 65: ${tooLong},OK`, `mqtt bad device: ${badName}`] : [],
      "http long User-Agent: 200",
    ];
    assert.deepEqual(inProcess.slice(0, expected.length), expected);
    const fleet = new Map(inProcess.slice(expected.length).map((l) => [l.split(": ")[0], l]));
    // A client field that fits is kept whole; a longer one nowhere, though its request counts.
    assert.equal(fleet.get("f-64"), `f-64: 1 requests, 0 errors, firmware ${fits}`);
    assert.equal(fleet.get("f-65"), "f-65: 2 requests, 1 errors, firmware null");
    assert.equal(fleet.get("my board"), "my board: none");
    assert.match(
      fleet.get("addr:127.0.0.1")!,
      new RegExp(`errors, firmware ${"u".repeat(MAX_CLIENT_LENGTH)}$`),
      "the User-Agent's first 64 characters are the firmware",
    );
    if (broker) {
      assert.equal(fleet.get("m-64"), `m-64: 1 requests, 0 errors, firmware ${fits}`);
      assert.equal(fleet.get("m-65"), "m-65: 2 requests, 1 errors, firmware null");
      assert.equal(fleet.get("m-bad"), "m-bad: 1 requests, 1 errors, firmware null");
    }
    assert.deepEqual(await namingOutcomes(2, broker), inProcess, "through listener Workers");
  } finally {
    await broker?.stop();
  }
});

/** With tokens on: refusals of long fields after kitchen's token, and HTTP's firmware, per transport. */
async function provedOutcomes(
  listeners: number,
  broker: Mosquitto | null,
  token: string,
  tokens: DeviceTokens,
): Promise<string[]> {
  const server = await serverOn(listeners, broker, new Authorizer({ tokens, legacy: "deny" }));
  const seen: string[] = [];
  try {
    seen.push(`framed: ${await framed(server, [{ token, client: over }, { token }])}`);
    seen.push(`framed bad device: ${await framed(server, [{ token, device: "my board" }])}`);
    if (broker) {
      seen.push(`mqtt: ${await mqtt(broker, "kitchen", [{ token, client: over }, { token }])}`);
      seen.push(`mqtt bad device: ${await mqtt(broker, "kitchen", [{ token, device: "x y" }])}`);
    }
    seen.push(
      `http: ${await http(server, { "user-agent": longAgent, authorization: `Bearer ${token}` })}`,
    );
    seen.push(...rows(server, ["kitchen", "addr:127.0.0.1"]));
  } finally {
    await server.shutdown();
  }
  return seen;
}

Deno.test("tokens on: a long client or bad device field after a proved token counts against that device on every transport; HTTP's User-Agent is its firmware, cut to 64", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-naming-" });
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  const broker = noMqtt ? null : await Mosquitto.start();
  try {
    const inProcess = await provedOutcomes(1, broker, token, tokens);
    const tooLong =
      `MALFORMED_BUFFER: the client field must be at most ${MAX_CLIENT_LENGTH} characters`;
    const badName = `MALFORMED_BUFFER: the device field must be ${DEVICE_NAME_RULE}`;
    const errors = broker ? 4 : 2;
    const requests = broker ? 7 : 4;
    assert.deepEqual(inProcess, [
      `framed: ${tooLong},OK`,
      `framed bad device: ${badName}`,
      ...broker ? [`mqtt: ${tooLong},OK`, `mqtt bad device: ${badName}`] : [],
      "http: 200",
      `kitchen: ${requests} requests, ${errors} errors, firmware ${"u".repeat(MAX_CLIENT_LENGTH)}`,
      "addr:127.0.0.1: none",
    ]);
    assert.deepEqual(
      await provedOutcomes(2, broker, token, tokens),
      inProcess,
      "through listener Workers",
    );
  } finally {
    await broker?.stop();
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});
