import assert from "node:assert/strict";
import { AuthConfigError, createAuthorizer } from "./config.ts";
import { newToken, tokenLine } from "./tokens.ts";

Deno.test("no flags: everyone is served", async () => {
  const auth = await createAuthorizer({});
  assert.equal(auth.tokensOn, false);
  assert.equal(auth.legacy, "allow");
  assert.equal(auth.legacyFrom, null);
  await auth.close();
});

Deno.test("the flags are read into the authorizer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const token = newToken();
    await Deno.writeTextFile(`${dir}/tokens`, tokenLine("kitchen", token) + "\n");
    const auth = await createAuthorizer({
      tokens: `${dir}/tokens`,
      legacyFrom: "192.168.0.0/16, fd00::/8",
    });
    assert.equal(auth.tokens?.lookup(token), "kitchen");
    assert.deepEqual(auth.legacyFrom?.ranges, ["192.168.0.0/16", "fd00::/8"]);
    await auth.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("each mistake is one sentence naming the flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad`, "kitchen nothex\n");
    const cases: [Parameters<typeof createAuthorizer>[0], string][] = [
      [{ legacy: "maybe" }, '--legacy must be one of allow, deny, got "maybe"'],
      [{ legacyFrom: "10.0.0.0/40" }, '--legacy-from: "10.0.0.0/40": the prefix length'],
      [{ legacyFrom: " , " }, "--legacy-from needs at least one CIDR"],
      [{ legacy: "deny", legacyFrom: "10.0.0.0/8" }, "--legacy-from allows legacy clients"],
      [{ tokens: `${dir}/absent` }, `--tokens: cannot read token file ${dir}/absent`],
      [{ tokens: `${dir}/bad` }, `--tokens: ${dir}/bad line 1: "nothex" is not a sha256 digest`],
    ];
    for (const [flags, message] of cases) {
      await assert.rejects(
        createAuthorizer(flags),
        (e) =>
          e instanceof AuthConfigError && e.message.startsWith(message) &&
          !e.message.includes("\n"),
        message,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
