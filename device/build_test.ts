import assert from "node:assert/strict";
import { BuildError, buildFirmware, clientName, FIRMWARE_VERSION, SIZE_BUDGET } from "./build.ts";
import { escapeControls, isPrintableAscii } from "./bundle_ascii.ts";
import { CHECK_VARIANTS, EXAMPLE_SETTINGS, main } from "./build_cli.ts";
import { checkSubset } from "./check_subset.ts";
import { requestTemplate } from "./request.ts";
import type { Settings } from "./settings.ts";
import { NAME } from "../server/testing/releases.ts";

const SETTINGS: Settings = {
  host: "192.168.1.10",
  port: 32001,
  protocol: "framed",
  ssid: "",
  password: "",
  token: "",
  poll: 0,
};

Deno.test("every bundle fits the 6 KB budget with the longest settings and a token, in the subset: TCP starting either way, MQTT", async () => {
  assert.equal(EXAMPLE_SETTINGS.token.length, 32);
  assert.deepEqual(CHECK_VARIANTS.map((s) => s.protocol), ["framed", "legacy", "mqtt"]);
  for (const settings of CHECK_VARIANTS) {
    const firmware = await buildFirmware(settings);
    assert.ok(firmware.size <= SIZE_BUDGET, `${settings.protocol}: ${firmware.size} bytes`);
    assert.equal(firmware.size, firmware.code.length);
    assert.deepEqual(checkSubset(firmware.code), []);
    assert.ok(isPrintableAscii(firmware.code));
  }
});

Deno.test("the settings are built in, the token too, and the client string names the VERSION", async () => {
  const firmware = await buildFirmware({
    ...SETTINGS,
    host: "10.1.2.3",
    port: 4321,
    ssid: "Home Network",
    password: "it's a secret",
    token: "TOKEN-IN-BUNDLE-0123456789abcdef",
    poll: 5,
  });
  for (
    const text of [
      '"10.1.2.3"',
      "4321",
      '"Home Network"',
      JSON.stringify("it's a secret"),
      '"TOKEN-IN-BUNDLE-0123456789abcdef"',
    ]
  ) {
    assert.ok(firmware.code.includes(text), text);
  }
  // The request template (base64) carries "mnist-device VERSION", the build id filled in.
  const head = /atob\("([A-Za-z0-9+/=]{100,})"\)/.exec(firmware.code)![1];
  assert.ok(atob(head).includes(`mnist-device ${firmware.version}\0`), atob(head));
  assert.match(
    firmware.version,
    new RegExp(`^${FIRMWARE_VERSION.replaceAll(".", "\\.")}\\+[0-9a-f]{8}$`),
  );
  assert.ok(firmware.code.includes(JSON.stringify(firmware.version)));
  assert.ok(!firmware.code.includes("@BUILD"));
});

Deno.test("a build is repeatable, and its version names it", async () => {
  const a = await buildFirmware(SETTINGS);
  const b = await buildFirmware(SETTINGS);
  const c = await buildFirmware({ ...SETTINGS, port: 32002 });
  assert.equal(a.code, b.code);
  assert.equal(a.version, b.version);
  assert.notEqual(a.version, c.version);
});

Deno.test("every bundle carries both protocols; --protocol picks the default", async () => {
  const framed = await buildFirmware(SETTINGS);
  const legacy = await buildFirmware({ ...SETTINGS, protocol: "legacy" });
  const legacyHead = JSON.stringify(requestTemplate("legacy").head);
  for (const firmware of [framed, legacy]) {
    // The framing's message and the legacy request's head, in both.
    assert.ok(firmware.code.includes("not an MNST frame"));
    assert.ok(firmware.code.includes(legacyHead));
  }
  // Only the default differs (and with it the hash in VERSION).
  assert.equal(framed.size, legacy.size);
  assert.ok(framed.code.includes('||"framed")=="legacy"'));
  assert.ok(legacy.code.includes('||"legacy")=="legacy"'));
});

Deno.test("--transport mqtt: MQTT alone, its topics and the device built in, nothing of TCP", async () => {
  const mqtt = await buildFirmware({
    ...SETTINGS,
    protocol: "mqtt",
    port: 1883,
    device: "kitchen",
  });
  const tcp = await buildFirmware(SETTINGS);
  assert.ok(mqtt.code.includes('"kitchen"'));
  assert.ok(mqtt.code.includes('"mnist/"'));
  assert.ok(mqtt.code.includes("1883"));
  for (const tcpOnly of ["not an MNST frame", JSON.stringify(requestTemplate("legacy").head)]) {
    assert.ok(!mqtt.code.includes(tcpOnly), tcpOnly);
    assert.ok(tcp.code.includes(tcpOnly), tcpOnly);
  }
  assert.ok(!tcp.code.includes('"mnist/"'));
  // The MQTT packets' fixed bytes are written as escapes, never raw.
  assert.ok(mqtt.code.includes("MQTT\\x04\\x02"));
  assert.deepEqual(checkSubset(mqtt.code), []);
});

Deno.test("control characters in the bundle are written as escapes", () => {
  assert.equal(escapeControls('a="\x00\x04\x7f";\n'), 'a="\\x00\\x04\\x7f";\n');
});

Deno.test("over the budget the build fails, saying by how much", async () => {
  await assert.rejects(buildFirmware(SETTINGS, 1000), (e) => {
    assert.ok(e instanceof BuildError);
    assert.match(e.message, /^the bundle is \d+ bytes, over the 1000-byte budget by \d+$/);
    return true;
  });
});

Deno.test("deno task build: flags over the settings file; prints the path and the size", async () => {
  const dir = await Deno.makeTempDir();
  const log = console.log, error = console.error;
  const out: string[] = [];
  console.log = console.error = (line: string) => out.push(line);
  try {
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(config, JSON.stringify({ server: "10.0.0.1", protocol: "legacy" }));
    const file = `${dir}/fw.js`;
    assert.equal(await main(["--config", config, "--server", "10.0.0.2:99", "--out", file]), 0);
    assert.match(
      out[0],
      new RegExp(
        `^${file}: [\\d,]+ bytes of ${
          SIZE_BUDGET.toLocaleString("en-US")
        }, VERSION 1\\.0\\.0\\+[0-9a-f]{8}, both protocols, legacy by default, to 10\\.0\\.0\\.2:99, WiFi as saved on the board$`,
      ),
    );
    assert.ok((await Deno.readTextFile(file)).includes('"10.0.0.2"'));
    out.length = 0;
    assert.equal(
      await main([
        "--server",
        "10.0.0.3",
        "--transport",
        "mqtt",
        "--device",
        "kitchen",
        "--out",
        file,
      ]),
      0,
    );
    assert.match(
      out[0],
      /, MQTT to the broker 10\.0\.0\.3:1883 as kitchen, WiFi as saved on the board$/,
    );
    out.length = 0;
    // A --config that is not there is a mistake, even with every setting given as a flag.
    assert.equal(await main(["--config", `${dir}/none.json`, "--server", "10.0.0.4"]), 2);
    assert.deepEqual(out, [
      `build: --config ${dir}/none.json: no such file (deno task build --help)`,
    ]);
    await assert.rejects(Deno.stat(`${dir}/none.json`), Deno.errors.NotFound);
    out.length = 0;
    assert.equal(await main(["--config", config, "--out", file]), 0, "a --config that is there");
  } finally {
    console.log = log;
    console.error = error;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the README's deno task build works as written (its files put in a temporary folder)", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const commands = [...readme.matchAll(/`deno task build ([^`]*)`/g)].map((m) => m[1].split(" "));
  assert.ok(commands.length > 0, "the README builds firmware somewhere");
  const dir = await Deno.makeTempDir();
  const log = console.log, error = console.error;
  const out: string[] = [];
  console.log = console.error = (line: string) => out.push(line);
  try {
    for (const args of commands) {
      const release = args.indexOf("--release");
      if (release >= 0) args[release + 1] = `${dir}/${args[release + 1]}`;
      assert.equal(await main([...args, "--out", `${dir}/fw.js`]), 0, out.join("\n"));
    }
  } finally {
    console.log = log;
    console.error = error;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the firmware's name in its client string is the one the update tests use", () => {
  assert.ok(clientName("1a2b3c4d").startsWith(`${NAME} `));
});
