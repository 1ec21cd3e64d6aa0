// The both-modes helpers against a real server in process.
import assert from "node:assert/strict";
import { serverWithListeners, stalledRequest } from "./http_modes.ts";

Deno.test("stalledRequest reads an answer longer than its read buffer whole", async () => {
  const server = await serverWithListeners(1, {});
  try {
    const port = server.http!.addr.port;
    // The dashboard's page: over three times the 4 KiB read buffer.
    const answer = await stalledRequest(port, "GET / HTTP/1.1", "");
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.ok(page.length > 3 * 4096);
    assert.equal(answer, `HTTP/1.1 200 OK ${page}`);
  } finally {
    await server.shutdown();
  }
});
