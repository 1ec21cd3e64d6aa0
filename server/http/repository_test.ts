// The repository routes behind a real Deno.serve on loopback, over a real
// repository folder with real ONNX files. The "server" here is the smallest
// caller that does what the real one does on a rescan: scan, then serve each
// model's latest version.
import assert from "node:assert/strict";
import { type IndexRow, repositoryRoutes } from "./repository.ts";
import { repositoryControl } from "./repository_control.ts";
import { withoutPaths } from "./_without_paths.ts";
import { Access } from "../auth/access.ts";
import { ModelRepository } from "../models/repository.ts";
import { RepositoryWatcher } from "../models/watch.ts";
import { sha256Hex } from "../models/model.ts";
import { ModelChanges } from "../models/model_changes.ts";
import { until } from "../testing/until.ts";

const dense10 = await Deno.readFile(
  new URL("../testdata/dense_784x10.onnx", import.meta.url),
);
const TOKEN = "admin-secret-0123456789";

async function putVersion(root: string, model: string, version: number, sha?: string) {
  const dir = `${root}/${model}/${version}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${dir}/model.onnx`, dense10);
  await Deno.writeTextFile(
    `${dir}/model.json`,
    JSON.stringify({ sha256: sha ?? await sha256Hex(dense10) }),
  );
}

async function start(adminToken: string | null) {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-http-repo-" });
  await putVersion(root, "mnist", 1);
  await putVersion(root, "mnist", 2, "0".repeat(64));
  // The probe is the engine's job in these tests' "server"; the repository's own probe is tested
  // in server/models/repository_test.ts.
  const repository = ModelRepository.open(root, { probe: async () => {} });
  const served = new Map<string, number | null>();
  const changes = new ModelChanges();
  // A rescan waits for this while a test holds it: a change stays under way.
  const held = { rescan: Promise.resolve(), entered: 0 };
  const watcher = RepositoryWatcher.start({
    root,
    watch: false,
    sighup: false,
    rescan: async () => {
      held.entered++;
      await held.rescan;
      for (const model of await repository.scan()) {
        served.set(model.name, model.latest?.version ?? null);
      }
    },
  });
  await watcher.trigger("request");
  const routes = repositoryRoutes(repositoryControl({
    repository,
    watcher,
    access: new Access({ adminToken }),
    serving: (name) => served.get(name) ?? null,
    changes,
  }));
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => routes(request) ?? new Response("not found", { status: 404 }),
  );
  const base = `http://127.0.0.1:${http.addr.port}`;
  // The admin token unless the call says otherwise ("" sends none).
  const post = (path: string, init: { token?: string; body?: string } = {}) => {
    const token = init.token ?? adminToken;
    return fetch(`${base}${path}`, {
      method: "POST",
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body: init.body,
    });
  };
  return {
    root,
    served,
    held,
    changes,
    post,
    base,
    async [Symbol.asyncDispose]() {
      watcher.close();
      await http.shutdown();
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test("the index lists every version with its state and reason", async () => {
  await using s = await start(TOKEN);
  const response = await s.post("/v2/repository/index");
  assert.equal(response.status, 200);
  const rows: IndexRow[] = await response.json();
  assert.deepEqual(rows.map((r) => [r.name, r.version, r.state]), [
    ["mnist", "2", "UNAVAILABLE"],
    ["mnist", "1", "READY"],
  ]);
  assert.match(rows[0].reason, /sha256 .* says 0{64}/);
  assert.ok(!rows[0].reason.includes(s.root), "no absolute path: " + rows[0].reason);
  assert.equal(rows[1].reason, "");
  const ready: IndexRow[] = await (await s.post("/v2/repository/index", {
    body: JSON.stringify({ ready: true }),
  })).json();
  assert.deepEqual(ready.map((r) => r.version), ["1"]);
});

Deno.test("index, load and unload need the admin token: 403 with none configured", async () => {
  await using s = await start(null);
  for (const path of ["models/mnist/load", "models/mnist/unload", "index"]) {
    const response = await s.post(`/v2/repository/${path}`, { token: "anything" });
    assert.equal(response.status, 403);
    const body = await response.json();
    assert.match(body.error, /^UNAUTHORIZED: .*no admin token is configured/);
  }
  assert.equal(s.served.get("mnist"), 1);
});

Deno.test("a missing or wrong admin token gets 401 and changes nothing", async () => {
  await using s = await start(TOKEN);
  for (const token of ["", "wrong", TOKEN + "x", TOKEN.slice(0, -1)]) {
    for (const path of ["models/mnist/unload", "index"]) {
      const response = await s.post(`/v2/repository/${path}`, { token });
      assert.equal(response.status, 401, `token ${token}`);
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
      assert.match((await response.json()).error, /^UNAUTHORIZED: /);
    }
  }
  assert.equal(s.served.get("mnist"), 1);
});

Deno.test("unload stops a model serving; load brings back its latest valid version", async () => {
  await using s = await start(TOKEN);
  let response = await s.post("/v2/repository/models/mnist/unload", { token: TOKEN });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal(s.served.get("mnist"), null);
  const rows: IndexRow[] = await (await s.post("/v2/repository/index")).json();
  assert.deepEqual(rows.find((r) => r.version === "1"), {
    name: "mnist",
    version: "1",
    state: "UNAVAILABLE",
    reason: "unloaded",
  });

  // Fix version 2 meanwhile: load serves it.
  await putVersion(s.root, "mnist", 2);
  response = await s.post("/v2/repository/models/mnist/load", { token: TOKEN });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal(s.served.get("mnist"), 2);
});

Deno.test("a load or unload while another change of the model is under way is 503 SERVER_BUSY", async () => {
  await using s = await start(TOKEN);
  let release!: () => void;
  s.held.rescan = new Promise((resolve) => release = resolve);
  const entered = s.held.entered;
  const unloading = s.post("/v2/repository/models/mnist/unload");
  await until(() => s.held.entered > entered, "the unload's rescan began");
  for (const action of ["load", "unload"]) {
    const busy = await s.post(`/v2/repository/models/mnist/${action}`);
    assert.equal(busy.status, 503);
    assert.equal(
      (await busy.json()).error,
      'SERVER_BUSY: a change of model "mnist" is under way',
    );
  }
  release();
  const unloaded = await unloading;
  assert.equal(unloaded.status, 200);
  await unloaded.body?.cancel();
  assert.equal(s.served.get("mnist"), null, "the first change is done, the others changed nothing");
  const loaded = await s.post("/v2/repository/models/mnist/load");
  assert.equal(loaded.status, 200, "the next change goes through");
  await loaded.body?.cancel();
  // A rollout's change (a promote, say) holds the same lock.
  let done!: () => void;
  const promoting = s.changes.start("mnist", () => new Promise<void>((r) => done = r));
  const during = await s.post("/v2/repository/models/mnist/unload");
  assert.equal(during.status, 503);
  await during.body?.cancel();
  done();
  await promoting;
});

Deno.test("load finds a model copied in since the last scan; unknown names get 404", async () => {
  await using s = await start(TOKEN);
  await putVersion(s.root, "fast", 1);
  let response = await s.post("/v2/repository/models/fast/load", { token: TOKEN });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal(s.served.get("fast"), 1);
  for (const action of ["load", "unload"]) {
    response = await s.post(`/v2/repository/models/nope/${action}`, { token: TOKEN });
    assert.equal(response.status, 404);
    const body = await response.json();
    assert.match(body.error, /^MODEL_UNAVAILABLE: no model named "nope"/);
  }
});

Deno.test("a model with no valid version cannot be loaded, and the answer says why", async () => {
  await using s = await start(TOKEN);
  await putVersion(s.root, "broken", 1, "f".repeat(64));
  const response = await s.post("/v2/repository/models/broken/load", { token: TOKEN });
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.match(body.error, /^MODEL_UNAVAILABLE: .*could not be loaded \(version 1: .* says f{64}/);
  assert.ok(!body.error.includes(s.root), "no absolute path: " + body.error);
});

Deno.test("wrong method, bad body and other paths", async () => {
  await using s = await start(TOKEN);
  let response = await fetch(`${s.base}/v2/repository/index`);
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "POST");
  await response.body?.cancel();
  response = await s.post("/v2/repository/index", { body: "[1,2" });
  assert.equal(response.status, 400);
  assert.match((await response.json()).error, /^MALFORMED_BUFFER: /);
  response = await s.post("/v2/repository/index", { body: "x".repeat(70_000) });
  assert.equal(response.status, 413);
  await response.body?.cancel();
  response = await s.post("/v2/repository/models/mnist/reload", { token: TOKEN });
  assert.equal(response.status, 404);
  assert.equal(await response.text(), "not found");
});

Deno.test("a field the route does not take is refused, not ignored, and changes nothing", async () => {
  await using s = await start(TOKEN);
  const refusals: [string, unknown, RegExp][] = [
    ["index", { reddy: true }, /unknown field "reddy": this route takes "ready"$/],
    ["index", { ready: "x" }, /"ready" must be true or false/],
    ["models/mnist/unload", { parameters: { unload_dependants: true } }, /unknown parameter/],
    ["models/mnist/unload", { parameters: { unload_dependents: 1 } }, /must be true or false/],
    ["models/mnist/unload", { parameters: [] }, /"parameters" must be an object/],
    ["models/mnist/unload", { force: true }, /unknown field "force"/],
    [
      "models/mnist/load",
      { parameters: { config: "{}" } },
      /load takes no parameters \("config"\)/,
    ],
  ];
  for (const [path, body, error] of refusals) {
    const response = await s.post(`/v2/repository/${path}`, { body: JSON.stringify(body) });
    assert.equal(response.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.match((await response.json()).error, new RegExp("^MALFORMED_BUFFER: .*" + error.source));
  }
  // Nothing was unloaded; what Triton's client sends is taken.
  const unload = { parameters: { unload_dependents: false } };
  const rows: IndexRow[] = await (await s.post("/v2/repository/index", {
    body: JSON.stringify({ ready: true }),
  })).json();
  assert.deepEqual(rows.map((r) => r.name), ["mnist"]);
  const response = await s.post("/v2/repository/models/mnist/unload", {
    body: JSON.stringify(unload),
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
});

Deno.test("withoutPaths: paths under the repository become relative, other absolute ones their last part", () => {
  const root = "/srv/mnist/models";
  assert.equal(
    withoutPaths(`model ${root}/mnist/2/model.onnx sha256 abc`, root),
    "model mnist/2/model.onnx sha256 abc",
  );
  assert.equal(withoutPaths(`folder ${root}/ has`, `${root}/`), "folder  has");
  assert.equal(
    withoutPaths("model file /opt/m/one.onnx does not exist: readfile '/opt/m/one.json'", root),
    "model file one.onnx does not exist: readfile 'one.json'",
  );
  assert.equal(withoutPaths("version 2 of 3 (1/2 done)", root), "version 2 of 3 (1/2 done)");
});

Deno.test("a body over 64 KiB is refused while it streams in, long before it ends", async () => {
  await using s = await start(TOKEN);
  const total = 64 * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  let answered = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (answered || sent >= total) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const response = await fetch(`${s.base}/v2/repository/index`, {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  answered = true;
  assert.equal(response.status, 413);
  assert.match((await response.json()).error, /^FRAME_TOO_LARGE: /);
  assert.ok(sent < total, `answered after ${sent} of ${total} bytes`);
});
