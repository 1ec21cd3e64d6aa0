// The HTTP port with device tokens on, in process and served by listener
// Workers (`--listeners 2`), against the real server and real sockets: an
// inference needs a known bearer token before its model is looked up, and
// one without is refused before its body is read. Needs `deno test
// --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";
import { json, needUnstableNet, plain, withHttp } from "../testing/listener_http.ts";
import { httpCounts } from "../testing/http_modes.ts";

Deno.test("with tokens on, HTTP infer needs the bearer token before its model is looked up, in process and through Workers", async () => {
  needUnstableNet();
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  const wrongShape = json({
    inputs: [{ name: "input", datatype: "UINT8", shape: [1, 3], data: [1, 2, 3] }],
  });
  try {
    for (const listeners of [1, 2]) {
      await withHttp({ listeners, auth: new Authorizer({ tokens }) }, async (server, base) => {
        const infer = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
          fetch(`${base}${path}`, {
            method: "POST",
            body: body as Uint8Array<ArrayBuffer>,
            headers,
          });
        const none = await infer("/v2/models/mnist/infer", plain);
        assert.equal(none.status, 401, `listeners ${listeners}`);
        assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="mnist"');
        assert.match((await none.json()).error, /^UNAUTHORIZED: /);
        // Without a token, neither the models served nor the model's inputs are told.
        for (
          const [path, body] of [["/v2/models/secret/infer", plain], [
            "/v2/models/mnist/infer",
            wrongShape,
          ]] as const
        ) {
          const refused = await infer(path, body);
          assert.equal(refused.status, 401, `${path}, listeners ${listeners}`);
          assert.equal(
            (await refused.json()).error,
            "UNAUTHORIZED: this server needs an Authorization: Bearer token",
          );
        }
        const bearer = { authorization: `Bearer ${token}` };
        const unknown = await infer("/v2/models/secret/infer", plain, bearer);
        assert.equal(unknown.status, 404);
        assert.match((await unknown.json()).error, /^MODEL_UNAVAILABLE: .*served: mnist/);
        const ok = await infer("/v2/models/mnist/infer", plain, bearer);
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
        const rows = server.monitor.snapshot().devices;
        assert.ok(rows.some((row) => row.id === "kitchen"), "the token's device is seen");
        const counts = await httpCounts(Number(new URL(base).port));
        assert.ok(
          counts.includes('mnist_requests_total{protocol="http",status="UNAUTHORIZED"} 3'),
          counts.join("\n"),
        );
      });
    }
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with tokens on, an infer without a known token is refused before its body is read, in process and through Workers", async () => {
  needUnstableNet();
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  try {
    for (const listeners of [1, 2]) {
      await withHttp({ listeners, auth: new Authorizer({ tokens }) }, async (server, base) => {
        // Bodies promised and never sent: refused at once, the memory budget holds none of them.
        const stalled: Deno.TcpConn[] = [];
        for (const authorization of ["", `authorization: Bearer ${"x".repeat(32)}\r\n`]) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.http!.addr.port });
          stalled.push(conn);
          const head = `POST /v2/models/mnist/infer HTTP/1.1\r\nhost: x\r\n${authorization}` +
            `content-length: 1000000\r\n\r\n{"inputs":[`;
          await conn.write(new TextEncoder().encode(head));
          const answer = new Uint8Array(4096);
          const n = await conn.read(answer);
          const text = new TextDecoder().decode(answer.subarray(0, n ?? 0));
          assert.match(text, /^HTTP\/1\.1 401 /, `listeners ${listeners}: ${text}`);
          assert.match(text, /UNAUTHORIZED: /);
        }
        assert.equal(server.limits.buffered, 0, "no body is held");
        const ok = await fetch(`${base}/v2/models/mnist/infer`, {
          method: "POST",
          body: plain,
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
        for (const conn of stalled) conn.close();
      });
    }
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});
