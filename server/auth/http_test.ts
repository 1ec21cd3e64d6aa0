import assert from "node:assert/strict";
import { WireError } from "../../shared/errors.ts";
import { Authorizer } from "./authorize.ts";
import { authorizeHttp, bearerToken, unauthorizedResponse } from "./http.ts";
import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";

Deno.test("bearerToken reads the Authorization header's Bearer token and nothing else", () => {
  const h = (value?: string) => new Headers(value === undefined ? {} : { authorization: value });
  assert.equal(bearerToken(h("Bearer abc")), "abc");
  assert.equal(bearerToken(h("bearer  abc ")), "abc");
  assert.equal(bearerToken(h()), "");
  assert.equal(bearerToken(h("Basic abc")), "");
  assert.equal(bearerToken(h("Bearer")), "");
  assert.equal(bearerToken(h("Bearer a b")), "");
});

Deno.test("HTTP requests over a real socket: 401 with a challenge without the token, the device with it", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("kitchen", token) + "\n");
  const tokens = await DeviceTokens.open(`${dir}/tokens`, { watch: false });
  const auth = new Authorizer({ tokens });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req, info) => {
    const verdict = authorizeHttp(auth, req.headers, info.remoteAddr.hostname);
    if (verdict instanceof WireError) return unauthorizedResponse(verdict);
    return Response.json({ device: verdict.device });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const refusedHeaders: Record<string, string>[] = [{}, {
      authorization: `Bearer ${newToken()}`,
    }];
    for (const headers of refusedHeaders) {
      const res = await fetch(url, { headers });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
      const body = await res.json();
      assert.equal(body.code, "UNAUTHORIZED");
      assert.equal(body.status, 7);
      assert.ok(body.error.length > 0);
    }
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { device: "kitchen" });
  } finally {
    await server.shutdown();
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});
