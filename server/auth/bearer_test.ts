import assert from "node:assert/strict";
import { bearerToken, sameToken } from "./bearer.ts";
import { tokenDigest } from "./tokens.ts";

Deno.test("bearerToken reads the Authorization header's Bearer token and nothing else", () => {
  const h = (value?: string) => new Headers(value === undefined ? {} : { authorization: value });
  assert.equal(bearerToken(h("Bearer abc")), "abc");
  assert.equal(bearerToken(h("bearer  abc ")), "abc");
  assert.equal(bearerToken(h()), "");
  assert.equal(bearerToken(h("Basic abc")), "");
  assert.equal(bearerToken(h("Bearer")), "");
  assert.equal(bearerToken(h("Bearer a b")), "");
});

Deno.test("sameToken matches only the whole token, as text or as a digest", () => {
  assert.ok(sameToken("abc", "abc"));
  for (const given of ["abd", "xbc", "abcd", "ab", "", "ABC"]) {
    assert.ok(!sameToken(given, "abc"), given);
  }
  assert.ok(!sameToken("", ""), "an unset token opens nothing");
  assert.ok(!sameToken("abc", ""));
  assert.ok(sameToken(tokenDigest("kitchen"), tokenDigest("kitchen")));
  assert.ok(!sameToken(tokenDigest("kitchen"), tokenDigest("hall")));
  assert.ok(!sameToken(tokenDigest("kitchen").subarray(0, 31), tokenDigest("kitchen")));
});

/** Every `.ts` file under server/ except tests, with its text. */
async function serverSources(): Promise<[string, string][]> {
  const root = new URL("../", import.meta.url).pathname;
  const found: [string, string][] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory && entry.name !== "node_modules") await walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
        found.push([path.slice(root.length), await Deno.readTextFile(path)]);
      }
    }
  };
  await walk(root.replace(/\/$/, ""));
  return found;
}

Deno.test("one bearer parser and one comparison: no other reads Bearer or compares a token", async () => {
  const offenders: string[] = [];
  for (const [path, text] of await serverSources()) {
    if (path.endsWith("auth/bearer.ts")) continue;
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      if (/^\s*(\*|\/\/)/.test(line)) return;
      if (
        /timingSafeEqual|\/\^Bearer|charCodeAt\(\w+\)\s*\^/.test(line) ||
        // A token against anything but "", null, undefined or a number: a comparison of secrets.
        /[tT]oken\w*\)?\s*[!=]==?\s*(?!""|null\b|undefined\b|\d)[\w"'`]/.test(line) ||
        /(?<!""|null|undefined|\d)\s*[!=]==?\s*(\w+\.)*\w*[tT]oken\b(?!\w*\.length)/.test(line)
      ) {
        offenders.push(`${path}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, [], "compare tokens with sameToken, read them with bearerToken");
});
