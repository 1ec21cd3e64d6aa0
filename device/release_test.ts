// A release written as `deno task build --release` writes it is one the server serves.
import assert from "node:assert/strict";
import { ReleaseStore } from "../server/fleet/releases.ts";
import { NAME } from "../server/testing/releases.ts";
import { clientName } from "./build.ts";
import { writeRelease } from "./release.ts";

Deno.test("the firmware's name in its client string is the one the update tests use", () => {
  assert.ok(clientName("1a2b3c4d").startsWith(`${NAME} `));
});

Deno.test("writeRelease lays out NAME/VERSION with a manifest the server's store accepts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const folder = await writeRelease(dir, "mnist-device 1.0.0+1a2b3c4d", 'print("hello")');
    assert.equal(folder, `${dir}/mnist-device/1.0.0+1a2b3c4d`);
    const manifest = JSON.parse(await Deno.readTextFile(`${folder}/release.json`));
    assert.deepEqual(Object.keys(manifest), ["name", "version", "size", "crc32", "sha256"]);
    const store = new ReleaseStore(dir);
    await store.rescan();
    assert.deepEqual(store.refused, []);
    const release = store.get("mnist-device/1.0.0+1a2b3c4d")!;
    assert.equal(new TextDecoder().decode(release.bytes), 'print("hello")');
    assert.equal(release.size, 14);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
