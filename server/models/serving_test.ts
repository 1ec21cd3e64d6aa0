// Live model changes on a real server: a new version folder swaps in under
// load with no failed request, a corrupt one is refused while the old one
// serves, and removing the newest rolls back.
import assert from "node:assert/strict";
import { InferenceClient } from "../../client/client.ts";
import { Status } from "../../shared/errors.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { type InferenceServer } from "../inference_server.ts";
import { sha256Hex } from "./model.ts";
import type { LoadFailure } from "./version_status.ts";
import { until } from "../testing/until.ts";

const BUNDLED = new URL("../../models/mnist/1/model.onnx", import.meta.url).pathname;
const DENSE = new URL("../testdata/dense_784x10.onnx", import.meta.url).pathname;

/** Writes `bytes` as version `version` of `mnist` the way the README says: copy aside, then mv. */
async function addVersion(root: string, version: number, bytes: Uint8Array, sha256?: string) {
  const staging = `${root}/.staging-${version}`;
  await Deno.mkdir(staging, { recursive: true });
  await Deno.writeFile(`${staging}/model.onnx`, bytes);
  await Deno.writeTextFile(
    `${staging}/model.json`,
    JSON.stringify({ sha256: sha256 ?? await sha256Hex(bytes) }),
  );
  await Deno.rename(staging, `${root}/mnist/${version}`);
}

async function withRepository(
  fn: (root: string, server: InferenceServer, failures: LoadFailure[]) => Promise<void>,
) {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-repo-" });
  await Deno.mkdir(`${root}/mnist`);
  await addVersion(root, 1, await Deno.readFile(BUNDLED));
  const failures: LoadFailure[] = [];
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    modelRepository: root,
    instances: 2,
    log: new Logger("error"),
    onLoadFailure: (f) => failures.push(f),
  });
  try {
    await fn(root, server, failures);
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
}

/** Keeps `clients` framed connections pipelining until stopped; collects every reply. */
function load(server: InferenceServer, clients: number) {
  const replies: { status: number; version: number }[] = [];
  let running = true;
  const done = Promise.all(Array.from({ length: clients }, async () => {
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      while (running) {
        const batch = await Promise.all(
          Array.from({ length: 16 }, () => client.infer({ digitU8: new Uint8Array(784).fill(9) })),
        );
        for (const r of batch) replies.push({ status: r.status, version: r.modelVersion });
      }
    } finally {
      client.close();
    }
  }));
  return {
    replies,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

Deno.test("a new version swaps in under load: every reply OK, every later one from the new version", async () => {
  await withRepository(async (root, server) => {
    const traffic = load(server, 8);
    await until(() => traffic.replies.length >= 64, "replies from version 1");
    await addVersion(root, 2, await Deno.readFile(DENSE));
    await server.serving.rescan();
    const swappedAt = traffic.replies.length;
    // Counted in replies, not time: a busy machine's batches in flight at the swap come back first.
    const fromV2 = () => traffic.replies.slice(swappedAt).filter((r) => r.version === 2).length;
    await until(() => fromV2() >= 256, "replies from version 2");
    await traffic.stop();
    assert.deepEqual(traffic.replies.filter((r) => r.status !== Status.OK), []);
    assert.ok(traffic.replies.some((r) => r.version === 1));
    const last = traffic.replies.slice(-32);
    assert.ok(last.every((r) => r.version === 2), "replies after the swap come from version 2");
    assert.ok(traffic.replies.length > swappedAt);
    assert.equal(server.model.version, 2);
    assert.equal(server.stats().modelVersion, 2);
  });
});

Deno.test("a corrupt version is refused and counted; the serving version goes on; rollback on removal", async () => {
  await withRepository(async (root, server, failures) => {
    await addVersion(root, 2, await Deno.readFile(DENSE));
    await server.serving.rescan();
    assert.equal(server.model.version, 2);
    // Garbage whose metadata matches its bytes: only loading it can tell.
    const junk = new TextEncoder().encode("not an onnx model at all");
    await addVersion(root, 3, junk);
    // A checksum mismatch.
    await addVersion(root, 4, await Deno.readFile(DENSE), "0".repeat(64));
    await server.serving.rescan();
    assert.equal(server.model.version, 2);
    const kinds = failures.map((f) => `${f.version}:${f.kind}`).sort();
    assert.deepEqual(kinds, ["3:corrupt", "4:checksum"]);
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const reply = await client.infer({ digitU8: new Uint8Array(784) });
    assert.equal(reply.status, Status.OK);
    assert.equal(reply.modelVersion, 2);

    // Removing the newest valid version goes back to the previous one.
    await Deno.remove(`${root}/mnist/2`, { recursive: true });
    await server.serving.rescan();
    assert.equal(server.model.version, 1);
    const back = await client.infer({ digitU8: new Uint8Array(784) });
    assert.equal(back.modelVersion, 1);
    client.close();
  });
});

Deno.test("a request naming a model that is not served gets MODEL_UNAVAILABLE with its id", async () => {
  await withRepository(async (_root, server) => {
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const named = await client.send({ command: 1, digitU8: new Uint8Array(784), model: "mnist" });
    const unknown = await client.send({ command: 1, digitU8: new Uint8Array(784), model: "nope" });
    client.close();
    assert.equal(named.status, Status.OK);
    assert.equal(unknown.status, Status.MODEL_UNAVAILABLE);
    assert.ok(unknown.requestId > 0);
    assert.match(unknown.error, /no version of model "nope"/);
  });
});

Deno.test("the file watcher swaps a version copied in, without any trigger", async () => {
  await withRepository(async (root, server) => {
    server.watcher?.close();
    const watched = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      modelRepository: root,
      watch: true,
      log: new Logger("error"),
    });
    try {
      await addVersion(root, 2, await Deno.readFile(DENSE));
      for (let i = 0; i < 100 && watched.model.version !== 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(watched.model.version, 2);
    } finally {
      await watched.shutdown();
    }
  });
});

Deno.test("Triton's repository routes on the real server: index, unload, load with the admin token", async () => {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-repo-" });
  await Deno.mkdir(`${root}/mnist`);
  await addVersion(root, 1, await Deno.readFile(BUNDLED));
  const token = "admin-token-0123456789";
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    modelRepository: root,
    adminToken: token,
    log: new Logger("error"),
  });
  const base = `http://127.0.0.1:${server.http!.addr.port}`;
  const post = async (path: string, auth?: string) => {
    const response = await fetch(`${base}${path}`, {
      method: "POST",
      headers: auth ? { authorization: `Bearer ${auth}` } : {},
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  try {
    assert.equal((await post("/v2/repository/index")).status, 401, "the index needs the token");
    const index = await post("/v2/repository/index", token);
    assert.equal(index.status, 200);
    assert.deepEqual(
      index.body.map((r: { name: string; version: string; state: string }) =>
        `${r.name}/${r.version}/${r.state}`
      ),
      ["mnist/1/READY"],
    );
    assert.equal((await post("/v2/repository/models/mnist/unload")).status, 401);
    assert.equal((await post("/v2/repository/models/mnist/unload", token)).status, 200);
    const client = await InferenceClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const gone = await client.infer({ digitU8: new Uint8Array(784) });
    assert.equal(gone.status, Status.MODEL_UNAVAILABLE);
    const ready = await fetch(`${base}/v2/health/ready`);
    await ready.body?.cancel();
    assert.equal(ready.status, 503, "the default model unloaded: not ready");
    assert.equal((await post("/v2/repository/models/mnist/load", token)).status, 200);
    const back = await client.infer({ digitU8: new Uint8Array(784) });
    client.close();
    assert.equal(back.status, Status.OK);
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});
