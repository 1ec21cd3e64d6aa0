// A request's model is routed, and its outcome counted, alike on every
// transport: the framed board port (in process and through listener
// Workers), MQTT and HTTP. A second model served answers what names it and
// is counted under its own name; a model no one serves is MODEL_UNAVAILABLE
// (404 over HTTP); a refusal counts against the model it named when that one
// is served, never against the default in its place, also when the request
// could not be read whole (a digit of the wrong length, an MQTT payload over
// --max-frame). A real server,
// sockets, broker and both models.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Command } from "../../shared/codec.ts";
import { type DecodedReply } from "../../shared/reply_codec.ts";
import { statusName } from "../../shared/errors.ts";
import type { InferenceServer } from "../inference_server.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "../listeners/listener_options.ts";
import { sha256Hex } from "../models/model.ts";
import { serverWithListeners } from "../testing/http_modes.ts";
import { Mosquitto, requireMqtt } from "../testing/mosquitto.ts";
import { MqttDevice } from "../testing/mqtt_device.ts";
import { MODELS } from "../testing/rollout.ts";
import { until } from "../testing/until.ts";

const noMqtt = requireMqtt();
const digitU8 = Uint8Array.from({ length: 784 }, (_, i) => (i * 7) % 251 > 120 ? 255 : 0);
const short = new Uint8Array(10);

/** A repository serving `mnist` (the bundled CNN) and `other` (a dense model), version 1 each. */
async function twoModels(): Promise<string> {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-routing-" });
  for (const [name, model] of [["mnist", MODELS.bundled], ["other", MODELS.dense]] as const) {
    await Deno.mkdir(`${root}/${name}/1`, { recursive: true });
    await Deno.writeFile(`${root}/${name}/1/model.onnx`, model);
    await Deno.writeTextFile(
      `${root}/${name}/1/model.json`,
      JSON.stringify({ sha256: await sha256Hex(model) }),
    );
  }
  return root;
}

/** What a transport answers to a request for `model` with `digit`. */
type Ask = (model: string, digit: Uint8Array) => Promise<string>;

function code(reply: DecodedReply): string {
  return statusName(reply.status);
}

function framed(server: InferenceServer): Ask {
  return async (model, digit) => {
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      return code(
        await client.send({ command: Command.INFERENCE_INPUT, digitU8: digit, model }),
      );
    } finally {
      client.close();
    }
  };
}

function mqtt(device: MqttDevice): Ask {
  return async (model, digit) => code(await device.request({ digitU8: digit, model }));
}

function http(server: InferenceServer): Ask {
  return async (model, digit) => {
    // The dense model's input is "x", the CNN's "input".
    const name = model === "other" ? "x" : "input";
    const body = JSON.stringify({
      inputs: [{ name, datatype: "UINT8", shape: [1, digit.length], data: [...digit] }],
    });
    const response = await fetch(
      `http://127.0.0.1:${server.http!.addr.port}/v2/models/${model || "mnist"}/infer`,
      { method: "POST", body },
    );
    const text = await response.text();
    return response.status === 200 ? "OK" : `${response.status} ${JSON.parse(text).error}`;
  };
}

/** Each model's inference count and failures in `/metrics`, summed over versions and reasons. */
async function counts(server: InferenceServer): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${server.http!.addr.port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(nv_inference_count|nv_inference_request_failure)\{model="([^"]+)"[^}]*\} (\S+)$/
      .exec(line);
    if (!m) continue;
    const key = `${m[1] === "nv_inference_count" ? "count" : "failures"} ${m[2]}`;
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/** What changed in `counts` between `before` and `after` (keys with a change only). */
function moved(before: Record<string, number>, after: Record<string, number>): string {
  return Object.keys(after).sort().filter((k) => after[k] !== (before[k] ?? 0))
    .map((k) => `${k} +${after[k] - (before[k] ?? 0)}`).join(", ") || "nothing";
}

const CASES: [string, string, Uint8Array][] = [
  ["other", "other", digitU8],
  ["unserved", "zz", digitU8],
  ["other, short digit", "other", short],
  ["unserved, short digit", "zz", short],
  ["default, short digit", "", short],
];

/** Every case on every transport of a server with `listeners` listener threads: outcome, then counts moved. */
async function routing(listeners: number, broker: Mosquitto | null): Promise<string[]> {
  if (listeners > 1) assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run --unstable-net");
  const root = await twoModels();
  const server = await serverWithListeners(listeners, {
    modelRepository: root,
    maxFrame: 2048,
    ...(broker ? { mqtt: { url: broker.url, group: "mnist" } } : {}),
  });
  const device = broker ? await MqttDevice.connect(broker.url, "kitchen") : null;
  const seen: string[] = [];
  try {
    if (broker) await until(() => server.mqtt!.state().connected, "the MQTT client connected");
    const transports: [string, Ask][] = [["framed", framed(server)], ["http", http(server)]];
    if (device) transports.push(["mqtt", mqtt(device)]);
    for (const [transport, ask] of transports) {
      for (const [what, model, digit] of CASES) {
        const before = await counts(server);
        const outcome = await ask(model, digit);
        seen.push(`${transport} ${what}: ${outcome}; ${moved(before, await counts(server))}`);
      }
    }
    // A payload over --max-frame, refused before the handler reads it, by the model it names.
    for (const model of device ? ["other", "zz"] : []) {
      const before = await counts(server);
      const outcome = code(await device!.request({ digitU8, model, padTo: 4096 }));
      seen.push(`mqtt ${model}, too large: ${outcome}; ${moved(before, await counts(server))}`);
    }
  } finally {
    device?.close();
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
  return seen;
}

Deno.test("a model is routed and its refusals counted alike on the board port (in process, through Workers), MQTT and HTTP", async () => {
  const broker = noMqtt ? null : await Mosquitto.start();
  try {
    const inProcess = await routing(1, broker);
    const board = (transport: string) => [
      `${transport} other: OK; count other +1`,
      `${transport} unserved: MODEL_UNAVAILABLE; nothing`,
      `${transport} other, short digit: BAD_DIGIT_LENGTH; failures other +1`,
      `${transport} unserved, short digit: BAD_DIGIT_LENGTH; nothing`,
      `${transport} default, short digit: BAD_DIGIT_LENGTH; failures mnist +1`,
    ];
    const unserved = 'MODEL_UNAVAILABLE: no model "zz" is served (served: mnist, other)';
    const shape = "BAD_DIGIT_LENGTH: input shape [1,10] is not [N,1,28,28], [N,28,28] or [N,784]";
    assert.deepEqual(inProcess, [
      ...board("framed"),
      "http other: OK; count other +1",
      `http unserved: 404 ${unserved}; nothing`,
      `http other, short digit: 400 ${shape}; failures other +1`,
      `http unserved, short digit: 404 ${unserved}; nothing`,
      `http default, short digit: 400 ${shape}; failures mnist +1`,
      ...broker
        ? [
          ...board("mqtt"),
          "mqtt other, too large: FRAME_TOO_LARGE; failures other +1",
          "mqtt zz, too large: FRAME_TOO_LARGE; nothing",
        ]
        : [],
    ]);
    assert.deepEqual(await routing(2, broker), inProcess, "through listener Workers");
  } finally {
    await broker?.stop();
  }
});
