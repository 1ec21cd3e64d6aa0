// The request handler's one place where every outcome is known: the observer
// sees each request of each protocol with its status, digit and result.
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status } from "../../shared/errors.ts";
import { oldClientRequest } from "../../shared/testing.ts";
import { legacyExchange } from "../../client/client.ts";
import type { RequestEvent } from "./request.ts";
import { address, splitFramed, withServer } from "../testing/server.ts";
import { readAll } from "../testing/conn.ts";
import { writeAll } from "../write_all.ts";
import { Authorizer } from "../auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../auth/tokens.ts";

Deno.test("the observer is told every request's outcome, with its digit, result and fields", async () => {
  const events: RequestEvent[] = [];
  await withServer({ onRequest: (e) => events.push(e) }, async (server) => {
    const digitU8 = new Uint8Array(784).map((_, i) => i & 0xff);
    const conn = await Deno.connect(address(server));
    await writeAll(
      conn,
      Uint8Array.of(
        ...encodeRequest({ command: 1, requestId: 5, digitU8, client: "fw/1.2", token: "t" }, true),
        ...encodeRequest({ command: Command.GET_STATS, requestId: 6 }, true),
        ...encodeRequest({ command: 1, requestId: 7, digitU8: digitU8.subarray(0, 9) }, true),
      ),
    );
    await conn.closeWrite();
    const { replies } = splitFramed(await readAll(conn));
    conn.close();
    await legacyExchange(address(server), oldClientRequest(new Float32Array(784)));

    const byId = new Map(events.map((e) => [`${e.protocol}:${e.requestId}`, e]));
    assert.equal(events.length, 4);
    const served = byId.get("framed:5")!;
    assert.equal(served.status, Status.OK);
    assert.equal(served.code, "OK");
    assert.deepEqual(served.digitU8, digitU8);
    assert.equal(served.predicted, replies[0].predicted);
    assert.deepEqual(served.scores, replies[0].scores);
    assert.ok(served.batchSize! >= 1 && served.inferenceMs! > 0 && served.totalMs > 0);
    assert.equal(served.client, "fw/1.2");
    assert.equal(served.token, "t");
    assert.match(served.peer, /^127\.0\.0\.1:\d+$/);
    assert.equal(byId.get("framed:6")!.command, Command.GET_STATS);
    const refused = byId.get("framed:7")!;
    assert.equal(refused.code, "BAD_DIGIT_LENGTH");
    assert.match(refused.error, /9 values/);
    const legacy = byId.get("legacy:0")!;
    assert.equal(legacy.status, Status.OK);
    assert.equal(legacy.digit?.length, 784);
  });
});

Deno.test("handleWith tells its callback once per request with its context: at once for a refusal, later for an inference", async () => {
  await withServer({}, async (server) => {
    const told: [number, number | undefined][] = [];
    const done = (context: number, outcome: { reply: { status?: number } }) =>
      told.push([context, outcome.reply.status]);
    const origin = { protocol: "framed" as const, peer: "127.0.0.1:1" };
    server.handler.handleWith(Uint8Array.of(1, 2, 3), origin, done, 1);
    assert.deepEqual(
      told,
      [[1, Status.MALFORMED_BUFFER]],
      "a message that cannot be read: at once",
    );
    const digit = encodeRequest({ command: 1, requestId: 9, digitU8: new Uint8Array(784) }, false);
    server.handler.handleWith(digit, origin, done, 2);
    assert.equal(told.length, 1, "an inference is told when it ends");
    await server.queue.drained();
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(told.length, 2);
    assert.equal(told[1][0], 2);
    assert.ok(told[1][1] === undefined || told[1][1] === Status.OK);
  });
});

Deno.test("a request's time is counted from the arrival its transport gives handleWith", async () => {
  const events: RequestEvent[] = [];
  await withServer({ onRequest: (e) => events.push(e) }, async (server) => {
    const origin = { protocol: "framed" as const, peer: "127.0.0.1:1" };
    const digit = encodeRequest({ command: 1, requestId: 3, digitU8: new Uint8Array(784) }, false);
    const done = () => {};
    // Read a second ago, with a crowd of frames served before it.
    server.handler.handleWith(digit, origin, done, null, performance.now() - 1000);
    server.handler.handleWith(Uint8Array.of(1, 2, 3), origin, done, null, performance.now() - 500);
    await server.queue.drained();
    await new Promise((r) => setTimeout(r, 0));
    const byId = new Map(events.map((e) => [e.requestId, e]));
    assert.ok(byId.get(3)!.totalMs >= 1000, `served: ${byId.get(3)!.totalMs} ms`);
    assert.ok(byId.get(0)!.totalMs >= 500, `refused: ${byId.get(0)!.totalMs} ms`);
  });
});

Deno.test("tokens on: a refusal counts against the device its token proved, else its address, never a device it only names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mnist-attribution-" });
  const kitchen = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("kitchen", kitchen)}\n`);
  const tokens = await DeviceTokens.open(`${dir}/tokens`);
  const events: RequestEvent[] = [];
  try {
    await withServer(
      {
        auth: new Authorizer({ tokens, legacy: "deny" }),
        onRequest: (e) => events.push(e),
        httpPort: 0,
      },
      async (server) => {
        // HTTP: a body its transport refuses, with kitchen's bearer token; without one, the
        // request is refused before its body is read.
        for (const [authorization, status] of [[`Bearer ${kitchen}`, 400], ["", 401]] as const) {
          const response = await fetch(
            `http://127.0.0.1:${server.http!.addr.port}/v2/models/mnist/infer`,
            { method: "POST", body: "{", headers: authorization ? { authorization } : {} },
          );
          assert.equal(response.status, status);
          await response.body?.cancel();
        }
        const digitU8 = new Uint8Array(784);
        const conn = await Deno.connect(address(server));
        await writeAll(
          conn,
          Uint8Array.of(
            // Proved kitchen, refused after: a model that is not served.
            ...encodeRequest(
              { command: 1, requestId: 1, digitU8, token: kitchen, model: "nope" },
              true,
            ),
            // No token, naming kitchen: refused before anything proved who sent it.
            ...encodeRequest({ command: 1, requestId: 2, digitU8, device: "kitchen" }, true),
            // Kitchen's token on a request that does not decode (no digit): counted against kitchen.
            ...encodeRequest({ command: 1, requestId: 6, token: kitchen }, true),
            // Kitchen's token with a device field no device may have: counted against kitchen.
            ...encodeRequest(
              { command: 1, requestId: 5, digitU8, token: kitchen, device: "bad device" },
              true,
            ),
          ),
        );
        await conn.closeWrite();
        await readAll(conn);
        conn.close();
        // A connection whose first request (with the firmware's name) is refused still keeps
        // that name for the requests after it, which the firmware sends without it.
        const board = await Deno.connect(address(server));
        await writeAll(
          board,
          Uint8Array.of(
            ...encodeRequest({ command: 1, requestId: 3, digitU8, client: "fw/1" }, true),
            ...encodeRequest({ command: 1, requestId: 4, digitU8, token: kitchen }, true),
          ),
        );
        await board.closeWrite();
        await readAll(board);
        board.close();
      },
    );
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
  const http = events.filter((e) => e.protocol === "http").map((e) => [e.code, e.deviceId]);
  assert.deepEqual(http, [["MALFORMED_BUFFER", "kitchen"], ["UNAUTHORIZED", "addr:127.0.0.1"]]);
  const board = events.filter((e) => e.protocol !== "http")
    .sort((a, b) => a.requestId - b.requestId)
    .map((e) => [e.requestId, e.code, e.deviceId, e.identifiedBy, e.firmware]);
  assert.deepEqual(board, [
    [1, "MODEL_UNAVAILABLE", "kitchen", "token", ""],
    [2, "UNAUTHORIZED", "addr:127.0.0.1", "address", ""],
    [3, "UNAUTHORIZED", "addr:127.0.0.1", "address", "fw/1"],
    [4, "OK", "kitchen", "token", "fw/1"],
    [5, "MALFORMED_BUFFER", "kitchen", "token", ""],
    [6, "BAD_DIGIT_LENGTH", "kitchen", "token", ""],
  ]);
});
