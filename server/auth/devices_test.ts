import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { Authorizer } from "./authorize.ts";
import { DeviceActivity } from "./devices.ts";
import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";

Deno.test("requests are counted per device and refusals per protocol", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kitchen = newToken();
    const garage = newToken();
    await Deno.writeTextFile(
      `${dir}/tokens`,
      `${tokenLine("kitchen", kitchen)}\n${tokenLine("garage", garage)}\n`,
    );
    const tokens = await DeviceTokens.open(`${dir}/tokens`, { watch: false });
    const auth = new Authorizer({ tokens });
    let clock = 1000;
    const activity = new DeviceActivity(auth, () => clock++);
    const infer = (token: string, address: string, protocol: "framed" | "http" | "legacy") =>
      auth.authorize({ command: Command.INFERENCE_INPUT, token }, { address, protocol });
    infer(kitchen, "10.0.0.1", "framed");
    infer(kitchen, "10.0.0.2", "http");
    infer(garage, "10.0.0.3", "framed");
    infer("", "10.0.0.4", "framed");
    infer(newToken(), "10.0.0.4", "http");
    infer("", "10.0.0.5", "legacy"); // allowed, no device
    auth.authorize({ command: Command.GET_STATS, token: "" }, {
      address: "10.0.0.5",
      protocol: "legacy",
    });
    assert.deepEqual(activity.devices(), [
      { name: "kitchen", requests: 2, lastSeen: 1001, lastAddress: "10.0.0.2" },
      { name: "garage", requests: 1, lastSeen: 1002, lastAddress: "10.0.0.3" },
    ]);
    assert.deepEqual(activity.refused, { framed: 1, legacy: 1, http: 1 });
    activity.close();
    infer(garage, "10.0.0.3", "framed");
    assert.equal(activity.devices()[1].requests, 1, "nothing counted after close");
    await auth.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
