import assert from "node:assert/strict";
import { WireError } from "../../shared/errors.ts";
import { Authorizer } from "./authorize.ts";
import { authorizeHttp, unauthorizedResponse } from "./http.ts";
import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";

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
      assert.match(body.error, /^UNAUTHORIZED: ./);
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
