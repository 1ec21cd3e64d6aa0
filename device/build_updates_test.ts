// Update builds (`--updates`, `--release`): the updater is in them and only in
// them, within the one 6 KB budget; they carry no legacy protocol, no token
// and no WiFi credentials, and refuse settings that would need them with one
// sentence, as MQTT builds refuse --updates.
import assert from "node:assert/strict";
import { buildFirmware, SIZE_BUDGET } from "./build.ts";
import { MQTT_UPDATES, updateSettingsError } from "./update_settings.ts";
import { EXAMPLE_SETTINGS, UPDATE_CHECK_SETTINGS } from "./build_cli.ts";
import { runBuild } from "./build_testing.ts";
import { requestTemplate } from "./request.ts";
import { SettingsError } from "./settings.ts";

Deno.test("the update build carries the updater, framed only, within 6 KB; the plain one no updater", async () => {
  const plain = await buildFirmware(EXAMPLE_SETTINGS);
  const updates = await buildFirmware(UPDATE_CHECK_SETTINGS, undefined, { updates: true });
  assert.equal(plain.updates, false);
  assert.equal(updates.updates, true);
  // The updater's restart and the files it reads, in the update build only.
  for (const mark of ["load()", "mnist.digits", "mnist.boot"]) {
    assert.ok(updates.code.includes(mark), mark);
    assert.ok(!plain.code.includes(mark), mark);
  }
  // Legacy (its head, its reply read at the close, its setting) in the plain build only.
  const legacyHead = JSON.stringify(requestTemplate("legacy").head);
  for (const mark of [legacyHead, '"legacy"', "not sent in legacy"]) {
    assert.ok(plain.code.includes(mark), mark);
    assert.ok(!updates.code.includes(mark), mark);
  }
  assert.ok(plain.size <= SIZE_BUDGET, `${plain.size}`);
  assert.ok(updates.size <= SIZE_BUDGET, `${updates.size}`);
});

Deno.test("--check builds the update variant too and holds it to the same 6,144 bytes", async () => {
  const { code, out } = await runBuild(["--check"]);
  assert.equal(code, 0, out.join("\n"));
  assert.equal(out.length, 4);
  assert.match(
    out[3],
    /^\(framed, --updates, not written\): [\d,]+ bytes of 6,144 \(updates\), VERSION .*, framed to /,
  );
});

Deno.test("an update build refuses legacy, a token and WiFi credentials with one sentence (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/fw.js`;
    const refused: [string[], RegExp][] = [
      [["--protocol", "legacy"], /framed only/],
      [["--token", "t".repeat(32)], /no token .*flash --updates --token T/],
      [["--ssid", "home", "--password", "secret"], /no WiFi credentials .*Wifi.*save/],
      [["--transport", "mqtt"], new RegExp(MQTT_UPDATES.slice(0, 20))],
    ];
    for (const [flags, sentence] of refused) {
      for (const updates of [["--updates"], ["--release", `${dir}/rel`]]) {
        const r = await runBuild(["--server", "10.0.0.1", ...flags, ...updates, "--out", file]);
        assert.equal(r.code, 2, r.out.join("\n"));
        assert.equal(r.out.length, 1);
        assert.match(r.out[0], sentence);
      }
    }
    await assert.rejects(
      buildFirmware({ ...EXAMPLE_SETTINGS, protocol: "mqtt" }, undefined, { updates: true }),
      SettingsError,
    );
    assert.equal(updateSettingsError(UPDATE_CHECK_SETTINGS), "");
    // Nothing was written by a refused build.
    await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--updates and --release build with the updater: an updated board can update again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/fw.js`;
    let r = await runBuild(["--server", "10.0.0.1", "--updates", "--out", file]);
    assert.equal(r.code, 0, r.out.join("\n"));
    assert.match(r.out[0], / bytes of 6,144 \(updates\), .*framed to 10\.0\.0\.1:32001/);
    r = await runBuild(["--server", "10.0.0.1", "--release", `${dir}/rel`, "--out", file]);
    assert.equal(r.code, 0, r.out.join("\n"));
    assert.match(r.out[0], / bytes of 6,144 \(updates\), /);
    assert.match(r.out[1], /^release: /);
    assert.equal(r.out.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
