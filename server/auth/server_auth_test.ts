// Tokens and the legacy policy end to end: a real server on loopback, real
// sockets, the real model.
import assert from "node:assert/strict";
import { Command, LEGACY_REPLY_LENGTH } from "../../shared/codec.ts";
import { type DecodedReply, decodeReply } from "../../shared/reply_codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { InferenceClient, legacyExchange } from "../../client/client.ts";
import { Logger } from "../log.ts";
import { withServer } from "../testing/server.ts";
import { Authorizer } from "./authorize.ts";
import { AddressRanges } from "./cidr.ts";
import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";

const digitU8 = Uint8Array.from({ length: 784 }, (_, i) => {
  const r = Math.hypot((i % 28) - 13.5, Math.floor(i / 28) - 13.5);
  return r > 6 && r < 9 ? 255 : 0;
});

function assertUnauthorized(reply: DecodedReply | WireError, requestId: number) {
  assert.ok(!(reply instanceof WireError), String(reply));
  assert.equal(reply.command, Command.ERROR);
  assert.equal(reply.status, Status.UNAUTHORIZED);
  assert.equal(reply.requestId, requestId, "the refusal names the request");
  assert.ok(reply.error.length > 0);
}

function legacyInference(): Uint8Array {
  return encodeRequest(
    { command: Command.INFERENCE_INPUT, digit: Array.from(digitU8, (v) => v / 255) },
    false,
  );
}

Deno.test("tokens on: framed requests need a known token, legacy inference still works, stats are guarded", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  const path = `${dir}/tokens`;
  await Deno.writeTextFile(path, `# lab\n${tokenLine("kitchen", token)}\n`);
  const tokens = await DeviceTokens.open(path, { debounceMs: 50 });
  const lines: string[] = [];
  const log = new Logger("debug", (line) => lines.push(line));
  try {
    await withServer({ auth: new Authorizer({ tokens }), log }, async (server, address) => {
      assert.match(
        server.describe(),
        / tokens=1 devices legacy=allow dashboard=http:\/\/127\.0\.0\.1:\d+\/$/,
      );
      assert.ok(lines.some((l) => l.includes("WARN tokens are on but legacy clients")));

      const good = await InferenceClient.connect(address, { token });
      const reply = await good.infer({ digitU8 });
      assert.equal(reply.status, Status.OK);
      assert.equal(reply.scores?.length, 10);
      assert.ok(
        lines.some((l) => l.includes("DEBUG inference") && l.includes("device=kitchen")),
        "the device's name is in the log",
      );
      const stats = await good.stats();
      assert.equal(stats.status, Status.OK);
      assert.ok(stats.stats && stats.stats.served >= 1);
      good.close();

      // One connection: missing, wrong, then right; each refusal carries its id and the connection goes on.
      const client = await InferenceClient.connect(address);
      const missing = client.infer({ digitU8 });
      const wrong = client.send({
        command: Command.INFERENCE_INPUT,
        digitU8,
        token: newToken(),
      });
      const noStats = client.stats();
      const right = client.send({ command: Command.INFERENCE_INPUT, digitU8, token });
      assertUnauthorized(await missing, 1);
      assertUnauthorized(await wrong, 2);
      assertUnauthorized(await noStats, 3);
      const ok = await right;
      assert.equal(ok.status, Status.OK);
      assert.equal(ok.requestId, 4);
      // The token comes before the model, as over HTTP: a model no one serves is not told.
      const secret = client.send({ command: Command.INFERENCE_INPUT, digitU8, model: "secret" });
      assertUnauthorized(await secret, 5);
      client.close();

      // Old clients keep working; their stats request is refused (it carries no token).
      const legacy = await legacyExchange(address, legacyInference());
      assert.equal(legacy.length, LEGACY_REPLY_LENGTH);
      const legacyStats = decodeReply(
        await legacyExchange(address, encodeRequest({ command: Command.GET_STATS }, false)),
      );
      assertUnauthorized(legacyStats, 0);

      // A device added to the file is served once the file is reloaded.
      const added = newToken();
      const reloaded = tokens.nextReload();
      await Deno.writeTextFile(path, `${tokenLine("garage", added)}\n`, { append: true });
      await reloaded;
      const garage = await InferenceClient.connect(address, { token: added });
      assert.equal((await garage.infer({ digitU8 })).status, Status.OK);
      garage.close();
    });
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--legacy deny and --legacy-from refuse legacy clients with UNAUTHORIZED, framed ones go on", async () => {
  const deny = new Authorizer({ legacy: "deny" });
  await withServer({ auth: deny }, async (server, address) => {
    assert.match(
      server.describe(),
      / tokens=off legacy=deny dashboard=http:\/\/127\.0\.0\.1:\d+\/$/,
    );
    const bytes = await legacyExchange(address, legacyInference());
    assertUnauthorized(decodeReply(bytes), 0);
    const client = await InferenceClient.connect(address);
    assert.equal((await client.infer({ digitU8 })).status, Status.OK);
    client.close();
  });

  const elsewhere = AddressRanges.parse("10.0.0.0/8,fd00::/8");
  const here = AddressRanges.parse("127.0.0.0/8");
  assert.ok(!(elsewhere instanceof Error) && !(here instanceof Error));
  await withServer({ auth: new Authorizer({ legacyFrom: elsewhere }) }, async (_, address) => {
    assertUnauthorized(decodeReply(await legacyExchange(address, legacyInference())), 0);
  });
  await withServer({ auth: new Authorizer({ legacyFrom: here }) }, async (_, address) => {
    const bytes = await legacyExchange(address, legacyInference());
    assert.equal(bytes.length, LEGACY_REPLY_LENGTH);
    const reply = decodeReply(bytes);
    assert.ok(!(reply instanceof WireError) && reply.command === Command.INFERENCE_OUTPUT);
  });
});
