import assert from "node:assert/strict";
import { resolveConfig } from "../config_resolve.ts";
import { mqttSettings, MqttSettingsError, readMqttFiles } from "./settings.ts";

const given = (...flags: string[]) => new Set(flags);

Deno.test("--mqtt: a broker URL gets its default port; the group defaults to mnist", () => {
  const config = resolveConfig(["--mqtt", "mqtt://broker.lan"], {});
  if (config instanceof Error || config === "help") throw new Error(String(config));
  assert.deepEqual(config.mqttSettings, {
    url: "mqtt://broker.lan:1883",
    group: "mnist",
    caFile: undefined,
    username: undefined,
    password: undefined,
    passwordFile: undefined,
    clientId: undefined,
  });
  const tls = mqttSettings({ mqtt: "mqtts://[::1]", mqttGroup: "g" }, given("mqtt"));
  assert.equal(tls?.url, "mqtts://[::1]:8883");
  const off = resolveConfig([], {});
  if (off instanceof Error || off === "help") throw new Error(String(off));
  assert.equal(off.mqttSettings, null);
});

Deno.test("--mqtt: the password from the environment variable, flags over variables", () => {
  const config = resolveConfig(["--mqtt", "mqtt://b:1884", "--mqtt-group", "east"], {
    MNIST_MQTT_USERNAME: "server",
    MNIST_MQTT_PASSWORD: "s3cret",
    MNIST_MQTT_GROUP: "west",
  });
  if (config instanceof Error || config === "help") throw new Error(String(config));
  assert.equal(config.mqttSettings?.url, "mqtt://b:1884");
  assert.equal(config.mqttSettings?.group, "east");
  assert.equal(config.mqttSettings?.username, "server");
  assert.equal(config.mqttSettings?.password, "s3cret");
});

Deno.test("--mqtt: mistakes are one sentence naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--mqtt-group", "x"], /--mqtt-group needs --mqtt URL/],
    [["--mqtt", "http://b"], /--mqtt must be mqtt:\/\/HOST\[:PORT\] or mqtts:/],
    [["--mqtt", "not a url"], /--mqtt must be a URL/],
    [["--mqtt", "mqtt://u:p@b"], /must not carry credentials/],
    [["--mqtt", "mqtt://b/path"], /no path or query/],
    [["--mqtt", "mqtt://b", "--mqtt-group", "a/b"], /--mqtt-group must be 1-64 characters/],
    [["--mqtt", "mqtt://b", "--mqtt-ca", "ca.pem"], /--mqtt-ca needs an mqtts:\/\//],
    [
      ["--mqtt", "mqtt://b", "--mqtt-password", "x", "--mqtt-password-file", "f"],
      /exclude each other/,
    ],
  ];
  for (const [args, message] of cases) {
    const config = resolveConfig(args, {});
    assert.ok(config instanceof Error, args.join(" "));
    assert.match(config.message, message);
  }
});

Deno.test("--mqtt-password-file: its first line is the password; a missing file names its flag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mnist-mqtt-settings-" });
  try {
    await Deno.writeTextFile(`${dir}/password`, "hunter2\nignored\n");
    const options = await readMqttFiles({
      url: "mqtt://b:1883",
      group: "mnist",
      passwordFile: `${dir}/password`,
    });
    assert.equal(options.password, "hunter2");
    assert.equal("passwordFile" in options, false);
    await assert.rejects(
      readMqttFiles({ url: "mqtt://b:1883", group: "mnist", caFile: `${dir}/none.pem` }),
      (e) =>
        e instanceof MqttSettingsError && /--mqtt-ca .*none\.pem cannot be read/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
