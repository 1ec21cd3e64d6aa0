import assert from "node:assert/strict";
import { InferenceClient, legacyInfer } from "../client/client.ts";
import { LEGACY_REPLY_LENGTH } from "../shared/codec.ts";
import { Status } from "../shared/errors.ts";
import { spawnEchoListeners } from "./echo_listeners.ts";

Deno.test("two reusePort listeners on one port both take connections and answer each request by its id", async () => {
  const echo = await spawnEchoListeners(2);
  try {
    const clients = await Promise.all(
      Array.from(
        { length: 40 },
        () => InferenceClient.connect({ hostname: "127.0.0.1", port: echo.port }),
      ),
    );
    const replies = await Promise.all(
      clients.map((client) => client.infer({ digitU8: new Uint8Array(784) })),
    );
    for (const client of clients) client.close();
    assert.ok(replies.every((reply) => reply.status === Status.OK));
  } finally {
    const counts = await echo.stop();
    assert.equal(counts.length, 2);
    assert.equal(counts[0] + counts[1], 40);
    // The kernel spreads connections by a hash of their addresses: 40 all on one side would be a broken reusePort.
    assert.ok(counts.every((n) => n > 0), `connections per listener: ${counts}`);
  }
});

Deno.test("a legacy request gets one 96-byte reply and the close, as from the server", async () => {
  const echo = await spawnEchoListeners(1);
  try {
    const replies = await Promise.all(
      Array.from(
        { length: 20 },
        () => legacyInfer({ hostname: "127.0.0.1", port: echo.port }, new Float32Array(784)),
      ),
    );
    for (const reply of replies) {
      assert.equal(reply.length, LEGACY_REPLY_LENGTH);
      assert.equal(reply.reply.status, Status.OK);
    }
  } finally {
    await echo.stop();
  }
});
