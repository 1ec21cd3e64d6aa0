import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { type AuthDecision, Authorizer, type Peer } from "./authorize.ts";
import { AddressRanges } from "./cidr.ts";
import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";

const INFER = Command.INFERENCE_INPUT;
const STATS = Command.GET_STATS;
const framed = (address = "10.0.0.7"): Peer => ({ address, protocol: "framed" });
const legacy = (address = "10.0.0.7"): Peer => ({ address, protocol: "legacy" });

async function withTokens(fn: (tokens: DeviceTokens, token: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("kitchen", token) + "\n");
  const tokens = await DeviceTokens.open(`${dir}/tokens`, { watch: false });
  try {
    await fn(tokens, token);
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function refused(verdict: unknown, phrase: string) {
  assert.ok(verdict instanceof WireError, `expected a refusal, got ${JSON.stringify(verdict)}`);
  assert.equal(verdict.status, Status.UNAUTHORIZED);
  assert.equal(verdict.code, "UNAUTHORIZED");
  assert.ok(verdict.message.includes(phrase), verdict.message);
}

Deno.test("without options everyone is served, stats included", () => {
  const auth = new Authorizer();
  assert.deepEqual(auth.authorize({ command: STATS, token: "" }, framed()), { device: null });
  assert.deepEqual(auth.authorize({ command: STATS, token: "" }, legacy()), { device: null });
  assert.deepEqual(auth.authorize({ command: INFER, token: "whatever" }, framed()), {
    device: null,
  });
  assert.equal(auth.describe().warning, null);
});

Deno.test("tokens on: framed and HTTP requests need a known token", async () => {
  await withTokens((tokens, token) => {
    const auth = new Authorizer({ tokens });
    assert.deepEqual(auth.authorize({ command: INFER, token }, framed()), { device: "kitchen" });
    assert.deepEqual(auth.authorize({ command: STATS, token }, framed()), { device: "kitchen" });
    refused(auth.authorize({ command: INFER, token: "" }, framed()), "carries none");
    refused(auth.authorize({ command: STATS, token: "" }, framed()), "carries none");
    refused(auth.authorize({ command: INFER, token: newToken() }, framed()), "not one");
    refused(
      auth.authorize({ command: INFER, token: "" }, { address: "::1", protocol: "http" }),
      "Authorization: Bearer",
    );
    return Promise.resolve();
  });
});

Deno.test("tokens on: legacy inference is still allowed by default, legacy stats are not, and the start line warns", async () => {
  await withTokens((tokens) => {
    const auth = new Authorizer({ tokens });
    assert.deepEqual(auth.authorize({ command: INFER, token: "" }, legacy()), { device: null });
    refused(auth.authorize({ command: STATS, token: "" }, legacy()), "GET_STATS");
    const { summary, warning } = auth.describe();
    assert.equal(summary, "tokens=1 devices legacy=allow");
    assert.ok(warning?.includes("legacy clients"), warning ?? "no warning");
    return Promise.resolve();
  });
});

Deno.test("--legacy deny refuses every legacy request; --legacy-from only those outside the ranges", () => {
  const deny = new Authorizer({ legacy: "deny" });
  refused(deny.authorize({ command: INFER, token: "" }, legacy()), "does not accept legacy");
  assert.deepEqual(deny.authorize({ command: INFER, token: "" }, framed()), { device: null });

  const ranges = AddressRanges.parse("192.168.1.0/24,fd00::/8");
  assert.ok(!(ranges instanceof Error));
  const from = new Authorizer({ legacyFrom: ranges });
  assert.deepEqual(from.authorize({ command: INFER, token: "" }, legacy("192.168.1.9")), {
    device: null,
  });
  assert.deepEqual(from.authorize({ command: INFER, token: "" }, legacy("::ffff:192.168.1.9")), {
    device: null,
  });
  assert.deepEqual(from.authorize({ command: INFER, token: "" }, legacy("fd00::9")), {
    device: null,
  });
  refused(from.authorize({ command: INFER, token: "" }, legacy("10.0.0.1")), "from 10.0.0.1");
  assert.equal(from.describe().summary, "tokens=off legacy=allow-from-192.168.1.0/24,fd00::/8");
});

Deno.test("listeners see every decision with the device, never the token", async () => {
  await withTokens((tokens, token) => {
    const auth = new Authorizer({ tokens });
    const seen: AuthDecision[] = [];
    const stop = auth.onDecision((d) => seen.push(d));
    auth.authorize({ command: INFER, token }, framed());
    auth.authorize({ command: INFER, token: "nope" }, framed("10.0.0.8"));
    stop();
    auth.authorize({ command: INFER, token }, framed());
    assert.deepEqual(seen.map((d) => [d.device, d.code, d.peer.address]), [
      ["kitchen", "OK", "10.0.0.7"],
      [null, "UNAUTHORIZED", "10.0.0.8"],
    ]);
    assert.ok(!JSON.stringify(seen).includes(token));
    return Promise.resolve();
  });
});

Deno.test("a connection's proved token is remembered until the file changes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = newToken();
    const b = newToken();
    const path = `${dir}/tokens`;
    await Deno.writeTextFile(path, `${tokenLine("a", a)}\n${tokenLine("b", b)}\n`);
    const tokens = await DeviceTokens.open(path, { watch: false });
    const auth = new Authorizer({ tokens });
    const peer = framed();
    assert.deepEqual(auth.authorize({ command: INFER, token: a }, peer), { device: "a" });
    assert.deepEqual(auth.authorize({ command: INFER, token: a }, peer), { device: "a" });
    // Another token on the same connection is checked on its own.
    refused(auth.authorize({ command: INFER, token: a.slice(0, 31) + "!" }, peer), "not one");
    assert.deepEqual(auth.authorize({ command: INFER, token: b }, peer), { device: "b" });
    assert.deepEqual(auth.authorize({ command: INFER, token: a }, peer), { device: "a" });
    // Revoked: the next request on the same connection is refused.
    await Deno.writeTextFile(path, `${tokenLine("b", b)}\n`);
    assert.equal(await tokens.reload(), null);
    refused(auth.authorize({ command: INFER, token: a }, peer), "not one");
    assert.deepEqual(auth.authorize({ command: INFER, token: b }, peer), { device: "b" });
    await auth.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
