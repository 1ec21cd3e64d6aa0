import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { TOKEN_LENGTH } from "../../shared/codec.ts";
import { Logger } from "../log.ts";
import { DeviceTokens, newToken, parseTokenFile, TokenFileError, tokenLine } from "./tokens.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

Deno.test("new tokens are 32 URL-safe characters, all different", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const token = newToken();
    assert.equal(token.length, TOKEN_LENGTH);
    assert.match(token, /^[A-Za-z0-9_-]{32}$/);
    seen.add(token);
  }
  assert.equal(seen.size, 100);
});

Deno.test("a token's line is its device name and the sha256 of the token", () => {
  assert.equal(tokenLine("kitchen", "x".repeat(32)), `kitchen ${sha256("x".repeat(32))}`);
});

Deno.test("the file format: comments, blank lines, upper-case hex, CRLF", () => {
  const text = [
    "# devices of the lab",
    "",
    `kitchen ${sha256("a")}   # the one by the window`,
    `  garage\t${sha256("b").toUpperCase()}\r`,
  ].join("\n");
  const entries = parseTokenFile(text, "tokens.txt");
  assert.ok(!(entries instanceof Error));
  assert.deepEqual(entries.map((e) => e.name), ["kitchen", "garage"]);
  assert.equal(entries[1].digest.length, 32);
});

Deno.test("a bad line is refused with the file and line named", () => {
  const good = `ok ${sha256("a")}`;
  const cases: [string, string][] = [
    [`${good}\nlonely`, 'tokens.txt line 2: expected "NAME SHA256HEX", got "lonely"'],
    [`${good}\na b c`, 'tokens.txt line 2: expected "NAME SHA256HEX"'],
    [`bad/name ${sha256("b")}`, 'tokens.txt line 1: device name "bad/name" must be'],
    [`dev ${sha256("b").slice(1)}`, "tokens.txt line 1: "],
    [`dev zz${sha256("b").slice(2)}`, "is not a sha256 digest"],
    [`${good}\n\nok ${sha256("b")}`, 'tokens.txt line 3: device "ok" is listed twice'],
    [`${good}\nother ${sha256("a")}`, 'tokens.txt line 2: "other" has the same token as "ok"'],
  ];
  for (const [text, message] of cases) {
    const result = parseTokenFile(text, "tokens.txt");
    assert.ok(result instanceof TokenFileError, text);
    assert.ok(result.message.includes(message), `${result.message} should include ${message}`);
  }
});

Deno.test("lookup finds the device of a token and nothing for others", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = newToken();
    const b = newToken();
    await Deno.writeTextFile(`${dir}/tokens`, `${tokenLine("a", a)}\n${tokenLine("b", b)}\n`);
    const tokens = await DeviceTokens.open(`${dir}/tokens`, { watch: false });
    assert.equal(tokens.size, 2);
    assert.equal(tokens.lookup(a), "a");
    assert.equal(tokens.lookup(b), "b");
    assert.equal(tokens.lookup(""), null);
    assert.equal(tokens.lookup(a.slice(0, 31)), null);
    assert.equal(tokens.lookup(a.slice(0, 31) + (a[31] === "x" ? "y" : "x")), null);
    // The file holds digests: presenting a digest is not presenting the token.
    assert.equal(tokens.lookup(sha256(a)), null);
    await tokens.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing or bad file at start is a TokenFileError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      DeviceTokens.open(`${dir}/absent`),
      (e) => e instanceof TokenFileError && e.message.includes(`${dir}/absent`),
    );
    await Deno.writeTextFile(`${dir}/bad`, "just-a-name\n");
    await assert.rejects(
      DeviceTokens.open(`${dir}/bad`),
      (e) => e instanceof TokenFileError && e.message.includes("line 1"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the file is reloaded on change; a bad change keeps the old devices and says why", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const log = new Logger("info", (line) => lines.push(line));
  const path = `${dir}/tokens`;
  const first = newToken();
  const second = newToken();
  await Deno.writeTextFile(path, tokenLine("first", first) + "\n");
  // Long enough that a write in steps on a busy machine still reads as one (the in-place case).
  const tokens = await DeviceTokens.open(path, { log, debounceMs: 500 });
  try {
    assert.equal(tokens.lookup(first), "first");

    // Replaced the way editors do: a new file renamed over the old one.
    let reloaded = tokens.nextReload();
    await Deno.writeTextFile(`${path}.new`, tokenLine("second", second) + "\n");
    await Deno.rename(`${path}.new`, path);
    await reloaded;
    assert.equal(tokens.lookup(first), null);
    assert.equal(tokens.lookup(second), "second");
    assert.ok(lines.some((l) => l.includes("INFO token file reloaded") && l.includes("devices=1")));

    reloaded = tokens.nextReload();
    await Deno.writeTextFile(path, `${tokenLine("second", second)}\nbroken line here\n`);
    await reloaded;
    assert.equal(tokens.lookup(second), "second", "the previous devices stay");
    const warning = lines.find((l) => l.includes("WARN token file not reloaded"));
    assert.ok(warning, lines.join("\n"));
    assert.ok(warning.includes("line 2"), warning);

    // Written in place, in two steps: one reload after the last.
    reloaded = tokens.nextReload();
    const file = await Deno.open(path, { write: true, truncate: true });
    await file.write(new TextEncoder().encode(`${tokenLine("first", first)}\n`));
    await file.write(new TextEncoder().encode(`${tokenLine("second", second)}\n`));
    file.close();
    await reloaded;
    assert.equal(tokens.lookup(first), "first");
    assert.equal(tokens.lookup(second), "second");
  } finally {
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});
