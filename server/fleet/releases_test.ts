// The release store on real folders: what it serves, what it refuses and
// why, and a server that watches --firmware-dir picks up a release copied in.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { callHttp, fakeFirmware, NAME, releaseDir } from "../testing/releases.ts";
import { withServer } from "../testing/server.ts";
import { releaseMac, ReleaseStore, writeRelease } from "./releases.ts";
import { MAX_RELEASE_ID } from "../../shared/update_codec.ts";

Deno.test("the store serves matching releases, refuses the rest with a reason, and forgets removed ones", async () => {
  const dir = await releaseDir({ "1.0.1": fakeFirmware(300, 1), "1.0.2": fakeFirmware(300, 2) });
  try {
    // A manifest that names another release, and a folder without one.
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/${NAME}/1.0.2/release.json`));
    await Deno.writeTextFile(
      `${dir}/${NAME}/1.0.2/release.json`,
      JSON.stringify({ ...manifest, version: "1.0.9" }),
    );
    await Deno.mkdir(`${dir}/${NAME}/1.0.3`);
    const store = new ReleaseStore(dir);
    await store.rescan();
    assert.deepEqual(store.list().map((r) => r.id), [`${NAME}/1.0.1`]);
    const reasons = Object.fromEntries(
      store.refused.map((r) => [r.path.slice(dir.length + 1), r.error]),
    );
    assert.match(reasons[`${NAME}/1.0.2`], /names "mnist-device\/1.0.9", not its folder/);
    assert.match(reasons[`${NAME}/1.0.3`], /cannot read release.json/);

    const release = store.get(`${NAME}/1.0.1`)!;
    const sha1 = createHash("sha1").update(release.bytes).digest();
    const token = "t".repeat(32);
    assert.deepEqual(
      Array.from(releaseMac(release, token)),
      Array.from(createHmac("sha1", token).update(sha1).digest()),
    );

    // A file larger than any board's code is refused before it is read (a sparse 64 MiB here).
    await Deno.mkdir(`${dir}/${NAME}/1.0.4`);
    const big = await Deno.open(`${dir}/${NAME}/1.0.4/firmware.js`, { write: true, create: true });
    await big.truncate(64 * 1024 * 1024);
    big.close();
    await Deno.writeTextFile(
      `${dir}/${NAME}/1.0.4/release.json`,
      JSON.stringify({ ...manifest, version: "1.0.4", size: 64 * 1024 * 1024 }),
    );
    await store.rescan();
    const refused = store.refused.find((r) => r.path.endsWith("1.0.4"));
    assert.match(refused?.error ?? "", /firmware.js is 67108864 bytes, more than a release may be/);

    // An id longer than a board's update request holds (and its reply buffer takes in an offer).
    const long = "1.0.5-" + "x".repeat(MAX_RELEASE_ID - NAME.length - 6);
    await writeRelease(dir, `${NAME} ${long}`, 'print("long")');
    await writeRelease(dir, `${NAME} ${long.slice(0, -1)}`, 'print("long enough")');
    await store.rescan();
    assert.ok(store.get(`${NAME}/${long.slice(0, -1)}`), `${MAX_RELEASE_ID} characters are served`);
    assert.match(
      store.refused.find((r) => r.path.endsWith(long))?.error ?? "",
      new RegExp(
        `is ${
          MAX_RELEASE_ID + 1
        } characters; a board's update request holds at most ${MAX_RELEASE_ID}$`,
      ),
    );

    // Counted as a board holds it: bytes, so printable ASCII only.
    await writeRelease(dir, `${NAME} 1.0.6-é`, 'print("accent")');
    await store.rescan();
    assert.match(
      store.refused.find((r) => r.path.endsWith("1.0.6-é"))?.error ?? "",
      /is not printable ASCII without spaces/,
    );

    await Deno.remove(`${dir}/${NAME}/1.0.1`, { recursive: true });
    await store.rescan();
    assert.equal(store.get(`${NAME}/1.0.1`), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server watching --firmware-dir lists a release copied in without being asked", async () => {
  const dir = await releaseDir({});
  try {
    await withServer({ httpPort: 0, firmwareDir: dir, watch: true }, async (server) => {
      assert.deepEqual((await callHttp(server, "GET", "/v2/fleet/releases")).body.releases, []);
      await writeRelease(dir, `${NAME} 2.0.0`, fakeFirmware(200, 9));
      let listed: { version: string }[] = [];
      for (let i = 0; i < 150 && listed.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        listed = (await callHttp(server, "GET", "/v2/fleet/releases")).body.releases;
      }
      assert.deepEqual(listed.map((r) => r.version), ["2.0.0"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
