// Who opens what: the rules of `Access`, then the real server on loopback
// (startServer on port 0, fetch) with device, operator, admin and metrics tokens.
import assert from "node:assert/strict";
import { sha256Hex } from "../models/model.ts";
import { Logger } from "../log.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";
import { type InferenceServer } from "../inference_server.ts";
import { Access, AccessDenied } from "./access.ts";
import { Authorizer } from "./authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";

const ADMIN = "admin-token-0123456789";
const OPERATOR = "operator-token-0123456789";
const METRICS = "metrics-token-0123456789";
const BUNDLED = new URL("../../models/mnist/1/model.onnx", import.meta.url).pathname;

const bearer = (token?: string) =>
  new Headers(token === undefined ? {} : { authorization: `Bearer ${token}` });

/** The HTTP status a decision comes to: 200 when served. */
const statusOf = (denied: AccessDenied | null) => denied?.httpStatus ?? 200;

Deno.test("views: operator or admin token; with neither, open only while device tokens are off", () => {
  const both = new Access({ adminToken: ADMIN, operatorToken: OPERATOR, deviceTokens: true });
  assert.equal(statusOf(both.view(bearer(OPERATOR))), 200);
  assert.equal(statusOf(both.view(bearer(ADMIN))), 200);
  for (const token of [undefined, "a-device-token", OPERATOR + "x", OPERATOR.slice(0, -1)]) {
    const denied = both.view(bearer(token));
    assert.ok(denied instanceof AccessDenied, String(token));
    assert.equal(denied.httpStatus, 401);
    assert.equal(denied.code, "UNAUTHORIZED");
  }
  const adminOnly = new Access({ adminToken: ADMIN, deviceTokens: false });
  assert.equal(statusOf(adminOnly.view(bearer(ADMIN))), 200);
  assert.equal(statusOf(adminOnly.view(bearer())), 401, "a configured token closes the views");
  // The sentence speaks of device tokens only where there are any.
  assert.equal(
    (both.view(bearer("nope")) as AccessDenied).message,
    "the bearer token is not the operator or admin token (a device token never opens operator views)",
  );
  assert.equal(
    (adminOnly.view(bearer("nope")) as AccessDenied).message,
    "the bearer token is not the operator or admin token",
  );
  assert.equal(statusOf(new Access({ deviceTokens: false }).view(bearer())), 200);
  const closed = new Access({ deviceTokens: true }).view(bearer(OPERATOR));
  assert.equal(statusOf(closed), 403);
});

Deno.test("changes: the admin token only; without one always 403. /metrics: its own token", () => {
  const access = new Access({ adminToken: ADMIN, operatorToken: OPERATOR, metricsToken: METRICS });
  assert.equal(statusOf(access.change(bearer(ADMIN))), 200);
  for (const token of [undefined, OPERATOR, METRICS, ADMIN + "x"]) {
    assert.equal(statusOf(access.change(bearer(token))), 401, String(token));
  }
  assert.equal(statusOf(new Access({ operatorToken: OPERATOR }).change(bearer(OPERATOR))), 403);
  assert.equal(statusOf(new Access().change(bearer())), 403);
  assert.equal(statusOf(access.metrics(bearer(METRICS))), 200);
  for (const token of [undefined, ADMIN, OPERATOR, METRICS.slice(0, -1), METRICS + "0"]) {
    assert.equal(statusOf(access.metrics(bearer(token))), 401, String(token));
  }
  assert.equal(statusOf(new Access({ deviceTokens: true }).metrics(bearer())), 200);
});

/** A real server whose repository has version 1 (serving) and a refused version 2. */
async function withRepositoryServer(
  options: ServerOptions & { deviceTokens?: boolean },
  fn: (
    base: string,
    device: string,
    root: string,
    server: InferenceServer,
  ) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-access-" });
  const bytes = await Deno.readFile(BUNDLED);
  for (const [version, sha] of [[1, await sha256Hex(bytes)], [2, "0".repeat(64)]] as const) {
    await Deno.mkdir(`${root}/mnist/${version}`, { recursive: true });
    await Deno.writeFile(`${root}/mnist/${version}/model.onnx`, bytes);
    await Deno.writeTextFile(
      `${root}/mnist/${version}/model.json`,
      JSON.stringify({ sha256: sha }),
    );
  }
  const device = newToken();
  await Deno.writeTextFile(`${root}/tokens`, tokenLine("kitchen", device) + "\n");
  const tokens = options.deviceTokens
    ? await DeviceTokens.open(`${root}/tokens`, { watch: false })
    : null;
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    modelRepository: root,
    auth: new Authorizer({ tokens }),
    log: new Logger("error", () => {}),
    ...options,
  });
  try {
    await fn(`http://127.0.0.1:${server.http!.addr.port}`, device, root, server);
  } finally {
    await server.shutdown();
    await server.finished;
    await tokens?.close();
    await Deno.remove(root, { recursive: true });
  }
}

async function call(url: string, token?: string, method = "GET") {
  const response = await fetch(url, { method, headers: bearer(token) });
  const text = await response.text();
  return { status: response.status, text, challenge: response.headers.get("www-authenticate") };
}

/** One all-zero digit by OIP JSON with `token`. */
function inferAs(base: string, token: string): Promise<Response> {
  return fetch(`${base}/v2/models/mnist/infer`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      inputs: [{
        name: "input",
        shape: [1, 1, 28, 28],
        datatype: "UINT8",
        data: Array(784).fill(0),
      }],
    }),
  });
}

const ALL_TOKENS = { deviceTokens: true, operatorToken: OPERATOR, adminToken: ADMIN };

Deno.test("a device token opens infer but never /dashboard.json", async () => {
  await withRepositoryServer(ALL_TOKENS, async (base, device) => {
    const infer = await inferAs(base, device);
    assert.equal(infer.status, 200, await infer.clone().text());
    await infer.body?.cancel();
    for (const token of [device, undefined, "not-a-token-at-all"]) {
      const refused = await call(`${base}/dashboard.json`, token);
      assert.equal(refused.status, 401, `token ${token}`);
      assert.match(refused.challenge ?? "", /^Bearer /);
      assert.match(JSON.parse(refused.text).error, /^UNAUTHORIZED: /);
      assert.doesNotMatch(refused.text, /kitchen/);
    }
    assert.equal((await call(`${base}/v2/health/ready`)).status, 200, "probes stay open");
    assert.equal((await call(`${base}/metrics`)).status, 200, "no --metrics-token: open");
  });
});

Deno.test("the operator token and the admin token open /dashboard.json", async () => {
  await withRepositoryServer(ALL_TOKENS, async (base, device) => {
    // The device shows on the dashboard once it has been served.
    const infer = await inferAs(base, device);
    await infer.body?.cancel();
    for (const token of [OPERATOR, ADMIN]) {
      const view = await call(`${base}/dashboard.json`, token);
      assert.equal(view.status, 200, view.text);
      assert.equal(JSON.parse(view.text).devices[0].id, "kitchen");
    }
  });
  // Tokens off and only an admin token configured: the admin token still opens the views.
  await withRepositoryServer({ adminToken: ADMIN }, async (base) => {
    assert.equal((await call(`${base}/dashboard.json`, ADMIN)).status, 200);
    assert.equal((await call(`${base}/dashboard.json`)).status, 401);
  });
});

Deno.test("tokens on and neither operator nor admin token: /dashboard.json is 403 for everyone", async () => {
  await withRepositoryServer({ deviceTokens: true }, async (base, device) => {
    for (const token of [device, undefined]) {
      const closed = await call(`${base}/dashboard.json`, token);
      assert.equal(closed.status, 403, `token ${token}`);
      assert.match(JSON.parse(closed.text).error, /^UNAUTHORIZED: .*--operator-token/);
    }
  });
});

Deno.test("--metrics-token: /metrics opens with it alone", async () => {
  await withRepositoryServer(
    { deviceTokens: true, metricsToken: METRICS, adminToken: ADMIN, operatorToken: OPERATOR },
    async (base, device) => {
      const wrong = [undefined, device, ADMIN, OPERATOR, METRICS.slice(0, -1), METRICS + "0"];
      for (const token of wrong) {
        const refused = await call(`${base}/metrics`, token);
        assert.equal(refused.status, 401, `token ${token}`);
        assert.match(refused.challenge ?? "", /^Bearer /);
      }
      const scrape = await call(`${base}/metrics`, METRICS);
      assert.equal(scrape.status, 200);
      assert.match(scrape.text, /^# HELP /m);
    },
  );
});

Deno.test("the repository index needs the admin token and shows no absolute path", async () => {
  await withRepositoryServer({}, async (base) => {
    const closed = await call(`${base}/v2/repository/index`, OPERATOR, "POST");
    assert.equal(closed.status, 403, "no admin token configured: changes are closed");
    assert.match(JSON.parse(closed.text).error, /^UNAUTHORIZED: .*--admin-token/);
  });
  await withRepositoryServer(
    ALL_TOKENS,
    async (base, device, root) => {
      for (const token of [undefined, device, OPERATOR, ADMIN.slice(1)]) {
        const refused = await call(`${base}/v2/repository/index`, token, "POST");
        assert.equal(refused.status, 401, `token ${token}`);
        assert.match(refused.challenge ?? "", /^Bearer /);
        assert.doesNotMatch(refused.text, /mnist/);
      }
      const index = await call(`${base}/v2/repository/index`, ADMIN, "POST");
      assert.equal(index.status, 200, index.text);
      const rows: { version: string; state: string; reason: string }[] = JSON.parse(index.text);
      assert.deepEqual(rows.map((r) => `${r.version}/${r.state}`), ["2/UNAVAILABLE", "1/READY"]);
      assert.match(rows[0].reason, /mnist\/2\/model/, "the reason names the file, relative");
      assert.ok(!index.text.includes(root), index.text);
      assert.doesNotMatch(index.text, /(^|[\s'"(])\/(tmp|home|root|work|usr)\//, index.text);
    },
  );
});
