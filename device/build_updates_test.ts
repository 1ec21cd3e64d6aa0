// Update builds (`--updates`, `--release`): the updater is in them and only in
// them, within their own budget; MQTT builds refuse it with one sentence.
import assert from "node:assert/strict";
import {
  buildFirmware,
  EXAMPLE_SETTINGS,
  main,
  MQTT_UPDATES,
  SIZE_BUDGET,
  UPDATE_SIZE_BUDGET,
} from "./build.ts";
import { SettingsError } from "./settings.ts";

/** Runs `deno task build` with `args`; its exit code and lines. */
async function build(args: string[]): Promise<{ code: number; out: string[] }> {
  const log = console.log, error = console.error;
  const out: string[] = [];
  console.log = console.error = (line: string) => out.push(line);
  try {
    return { code: await main(args), out };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("the update build carries the updater and reads the digits from Storage; the plain one neither", async () => {
  const plain = await buildFirmware(EXAMPLE_SETTINGS);
  const updates = await buildFirmware(EXAMPLE_SETTINGS, undefined, { updates: true });
  assert.equal(plain.updates, false);
  assert.equal(updates.updates, true);
  // The updater's restart and the digits file name, in the update build only.
  for (const mark of ["load()", "mnist.digits", '"done"']) {
    assert.ok(updates.code.includes(mark), mark);
    assert.ok(!plain.code.includes(mark), mark);
  }
  assert.ok(plain.size <= SIZE_BUDGET, `${plain.size}`);
  assert.ok(updates.size <= UPDATE_SIZE_BUDGET, `${updates.size}`);
  assert.ok(updates.size > SIZE_BUDGET, "over the board's plan: the docs say so");
});

Deno.test("--check builds the update variant too and prints it against its own budget", async () => {
  const { code, out } = await build(["--check"]);
  assert.equal(code, 0);
  assert.equal(out.length, 4);
  assert.match(
    out[3],
    new RegExp(
      `^\\(framed, --updates, not written\\): [\\d,]+ bytes of ${
        UPDATE_SIZE_BUDGET.toLocaleString("en-US")
      } \\(updates\\), VERSION `,
    ),
  );
});

Deno.test("--updates and --release build with the updater; MQTT with --updates is refused (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/fw.js`;
    let r = await build(["--server", "10.0.0.1", "--updates", "--out", file]);
    assert.equal(r.code, 0, r.out.join("\n"));
    assert.match(r.out[0], / bytes of [\d,]+ \(updates\), /);
    r = await build(["--server", "10.0.0.1", "--release", `${dir}/rel`, "--out", file]);
    assert.equal(r.code, 0, r.out.join("\n"));
    assert.match(r.out[0], / bytes of [\d,]+ \(updates\), /, "an updated board can update again");
    assert.match(r.out[1], /^release: /);
    for (const flag of [["--updates"], ["--release", `${dir}/rel2`]]) {
      r = await build(["--server", "10.0.0.1", "--transport", "mqtt", ...flag, "--out", file]);
      assert.equal(r.code, 2, r.out.join("\n"));
      assert.deepEqual(r.out.length, 1);
      assert.ok(r.out[0].includes(MQTT_UPDATES), r.out[0]);
    }
    await assert.rejects(
      buildFirmware({ ...EXAMPLE_SETTINGS, protocol: "mqtt" }, undefined, { updates: true }),
      SettingsError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
