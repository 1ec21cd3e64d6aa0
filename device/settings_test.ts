import assert from "node:assert/strict";
import {
  DEFAULT_MQTT_PORT,
  DEFAULT_PORT,
  loadSettings,
  parseServer,
  parseSettingsFlags,
  readConfig,
  resolveSettings,
  SettingsError,
  settingsFromFlags,
} from "./settings.ts";

Deno.test("a server is HOST or HOST:PORT, 32001 by default", () => {
  assert.deepEqual(parseServer("192.168.1.10"), { host: "192.168.1.10", port: DEFAULT_PORT });
  assert.deepEqual(parseServer("inference.lan:4000"), { host: "inference.lan", port: 4000 });
  for (const bad of ["", "a b", "host:0", "host:70000", "http://host", "host:port"]) {
    assert.throws(() => parseServer(bad), SettingsError, bad);
  }
});

Deno.test("flags override the settings file, and everything is checked", () => {
  const config = { server: "10.0.0.1", protocol: "legacy", ssid: "home", password: "pw", poll: 5 };
  assert.deepEqual(resolveSettings(config, {}), {
    host: "10.0.0.1",
    port: 32001,
    protocol: "legacy",
    ssid: "home",
    password: "pw",
    token: "",
    poll: 5,
  });
  const settings = resolveSettings(config, { server: "10.0.0.2:9", protocol: "framed", poll: "0" });
  assert.equal(settings.host, "10.0.0.2");
  assert.equal(settings.port, 9);
  assert.equal(settings.protocol, "framed");
  assert.equal(settings.poll, 0);
  assert.equal(settings.ssid, "home");

  assert.throws(() => resolveSettings({}, {}), /no server: pass --server/);
  assert.throws(() => resolveSettings(config, { protocol: "udp" }), /protocol "udp"/);
  assert.throws(() => resolveSettings(config, { poll: "-1" }), /poll/);
  assert.throws(() => resolveSettings({ server: "h" }, { password: "x" }), /needs an --ssid/);
  assert.throws(() => resolveSettings(config, { ssid: "Café" }), /ssid must be printable ASCII/);
  assert.throws(() => resolveSettings(config, { ssid: "x".repeat(33) }), /longer than 32/);
  const token = "0123456789abcdef0123456789abcdef";
  assert.equal(resolveSettings(config, { token, protocol: "framed" }).token, token);
  assert.throws(
    () => resolveSettings(config, { token: "s3cret", protocol: "framed" }),
    /exactly 32 characters/,
  );
  // Legacy cannot send it; the board keeps it for framed, which setServer() can switch to.
  assert.equal(resolveSettings(config, { token }).protocol, "legacy");
  assert.equal(resolveSettings(config, { token }).token, token);
});

Deno.test("the settings file: missing is empty, unknown keys and wrong types are errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readConfig(`${dir}/none.json`), {});
    // Only the default may be missing: a file named with --config must be there.
    await assert.rejects(
      readConfig(`${dir}/none.json`, true),
      SettingsError,
      `--config ${dir}/none.json: no such file`,
    );
    await assert.rejects(
      settingsFromFlags(parseSettingsFlags(["--config", `${dir}/none.json`, "--server", "h"], {})),
      SettingsError,
      "no such file",
    );
    await Deno.writeTextFile(`${dir}/typo.json`, JSON.stringify({ sever: "h" }));
    await assert.rejects(readConfig(`${dir}/typo.json`), /unknown setting "sever"/);
    await Deno.writeTextFile(`${dir}/type.json`, JSON.stringify({ poll: "5" }));
    await assert.rejects(readConfig(`${dir}/type.json`), /"poll" must be a number/);
    await Deno.writeTextFile(`${dir}/bad.json`, "{");
    await assert.rejects(readConfig(`${dir}/bad.json`), /not JSON/);
    await Deno.writeTextFile(`${dir}/ok.json`, JSON.stringify({ server: "h:1", ssid: "n" }));
    const settings = await settingsFromFlags(
      parseSettingsFlags(["--config", `${dir}/ok.json`, "--password", "p"], {}),
    );
    assert.deepEqual([settings.host, settings.port, settings.ssid, settings.password], [
      "h",
      1,
      "n",
      "p",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the committed example settings file loads", async () => {
  const path = new URL("./config.example.json", import.meta.url).pathname;
  const settings = await loadSettings(["--config", path]);
  assert.equal(settings.host, "192.168.1.10");
  assert.equal(settings.protocol, "framed");
});

Deno.test("unknown flags are errors", () => {
  assert.throws(() => parseSettingsFlags(["--sever", "h"], {}), SettingsError);
});

Deno.test("--transport mqtt: the broker's port 1883 by default, a device id, no TCP protocol", () => {
  const mqtt = resolveSettings({ server: "broker.lan" }, { transport: "mqtt", device: "kitchen" });
  assert.deepEqual([mqtt.host, mqtt.port, mqtt.protocol, mqtt.device], [
    "broker.lan",
    DEFAULT_MQTT_PORT,
    "mqtt",
    "kitchen",
  ]);
  assert.equal(resolveSettings({ server: "b:1884", transport: "mqtt" }, {}).port, 1884);
  assert.equal(resolveSettings({ server: "b", transport: "mqtt" }, {}).device, undefined);
  assert.equal(resolveSettings({ server: "b" }, { transport: "tcp" }).protocol, "framed");
  assert.throws(() => resolveSettings({ server: "b" }, { transport: "udp" }), /transport "udp"/);
  assert.throws(
    () => resolveSettings({ server: "b" }, { transport: "mqtt", protocol: "legacy" }),
    /--protocol is for --transport tcp/,
  );
  assert.throws(() => resolveSettings({ server: "b" }, { device: "kitchen" }), /--device is for/);
  for (const bad of ["a/b", "+", "#", "x".repeat(65), "-lead"]) {
    assert.throws(
      () => resolveSettings({ server: "b" }, { transport: "mqtt", device: bad }),
      /device ".*" must be 1-64/,
      bad,
    );
  }
});
