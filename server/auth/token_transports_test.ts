// Device tokens hold alike on every transport: the framed board port (in
// process and through listener Workers), MQTT and HTTP (in process and
// through Workers). GET_STATS needs a token as an inference does; a token
// taken out of the file is refused on each transport's next request, an
// open connection that proved it before included, while a device still in
// the file is served. A real server, sockets, broker and model.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { oipRequest } from "../../client/oip.ts";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply } from "../../shared/reply_codec.ts";
import { statusName } from "../../shared/errors.ts";
import type { InferenceServer } from "../inference_server.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "../listeners/listener_options.ts";
import { serverWithListeners } from "../testing/http_modes.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { until } from "../testing/until.ts";
import { Authorizer } from "./authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";

const noMqtt = requireMqtt();
const digitU8 = Uint8Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
const kitchen = newToken();
const garage = newToken();

function code(reply: DecodedReply): string {
  return statusName(reply.status);
}

/** An HTTP infer with `token` as its bearer token: its status. */
async function http(server: InferenceServer, token: string): Promise<number> {
  const { body, headers } = oipRequest([digitU8]);
  const response = await fetch(`http://127.0.0.1:${server.http!.addr.port}/v2/models/mnist/infer`, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: { ...headers, authorization: `Bearer ${token}` },
  });
  await response.body?.cancel();
  return response.status;
}

/** Every transport's answers before and after kitchen's token leaves the file. */
async function revocation(listeners: number, broker: Mosquitto | null): Promise<string[]> {
  if (listeners > 1) assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run --unstable-net");
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-token-transports-" });
  const path = `${dir}/tokens`;
  await Deno.writeTextFile(
    path,
    `${tokenLine("kitchen", kitchen)}\n${tokenLine("garage", garage)}\n`,
  );
  const tokens = await DeviceTokens.open(path, { debounceMs: 50 });
  const server = await serverWithListeners(listeners, {
    auth: new Authorizer({ tokens, legacy: "deny" }),
    ...(broker ? { mqtt: { url: broker.url, group: "mnist" } } : {}),
  });
  const where = { hostname: "127.0.0.1", port: server.addr.port };
  const board = await InferenceClient.connect(where, { token: kitchen });
  const stranger = await InferenceClient.connect(where);
  const devices = broker
    ? await Promise.all(["kitchen", "garage"].map((name) => MqttDevice.connect(broker.url, name)))
    : [];
  const seen: string[] = [];
  /** What each transport answers kitchen, and garage beside it. */
  const round = async (when: string) => {
    seen.push(`${when} framed infer: ${code(await board.infer({ digitU8 }))}`);
    seen.push(`${when} framed stats: ${code(await board.stats())}`);
    const other = await InferenceClient.connect(where, { token: garage });
    seen.push(`${when} framed garage: ${code(await other.infer({ digitU8 }))}`);
    other.close();
    seen.push(`${when} http: ${await http(server, kitchen)}, garage ${await http(server, garage)}`);
    if (devices.length > 0) {
      const [k, g] = devices;
      seen.push(`${when} mqtt infer: ${code(await k.request({ digitU8, token: kitchen }))}`);
      const stats = await k.request({ digitU8, token: kitchen, command: Command.GET_STATS });
      seen.push(`${when} mqtt stats: ${code(stats)}`);
      seen.push(`${when} mqtt garage: ${code(await g.request({ digitU8, token: garage }))}`);
    }
  };
  try {
    if (broker) await until(() => server.mqtt!.state().connected, "the MQTT client connected");
    // Stats without a token are refused on every board transport, as an inference is.
    seen.push(`no token framed stats: ${code(await stranger.stats())}`);
    if (devices.length > 0) {
      const stats = await devices[0].request({ digitU8, command: Command.GET_STATS });
      seen.push(`no token mqtt stats: ${code(stats)}`);
    }
    await round("listed");
    const reloaded = tokens.nextReload();
    await Deno.writeTextFile(path, `${tokenLine("garage", garage)}\n`);
    await reloaded;
    await round("removed");
  } finally {
    board.close();
    stranger.close();
    for (const device of devices) device.close();
    await server.shutdown();
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
  return seen;
}

Deno.test("tokens: stats need one and a token taken out of the file is refused alike on the board port (in process, through Workers), MQTT and HTTP", async () => {
  const broker = noMqtt ? null : await Mosquitto.start();
  try {
    const inProcess = await revocation(1, broker);
    const round = (when: string, ok: string, status: number) => [
      `${when} framed infer: ${ok}`,
      `${when} framed stats: ${ok}`,
      `${when} framed garage: OK`,
      `${when} http: ${status}, garage 200`,
      ...broker ? [`${when} mqtt infer: ${ok}`, `${when} mqtt stats: ${ok}`] : [],
      ...broker ? [`${when} mqtt garage: OK`] : [],
    ];
    assert.deepEqual(inProcess, [
      "no token framed stats: UNAUTHORIZED",
      ...broker ? ["no token mqtt stats: UNAUTHORIZED"] : [],
      ...round("listed", "OK", 200),
      ...round("removed", "UNAUTHORIZED", 401),
    ]);
    assert.deepEqual(await revocation(2, broker), inProcess, "through listener Workers");
  } finally {
    await broker?.stop();
  }
});
