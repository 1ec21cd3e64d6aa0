import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseTokenFile } from "../server/auth/tokens.ts";

const SCRIPT = new URL("./token.ts", import.meta.url).pathname;

async function run(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("deno task token NAME prints a 32-character token and the file line of its sha256", async () => {
  const { code, stdout } = await run("kitchen");
  assert.equal(code, 0);
  const [tokenLine, fileLine] = stdout.trim().split("\n");
  const token = tokenLine.replace(/^token\s+/, "");
  assert.equal(token.length, 32);
  const line = fileLine.replace(/^line\s+/, "");
  assert.equal(line, `kitchen ${createHash("sha256").update(token).digest("hex")}`);
  const parsed = parseTokenFile(line, "out");
  assert.ok(!(parsed instanceof Error));
  assert.equal(parsed[0].name, "kitchen");
});

Deno.test("--line-only prints the line alone on stdout and the token on stderr", async () => {
  const { code, stdout, stderr } = await run("--line-only", "garage");
  assert.equal(code, 0);
  const token = stderr.trim().split(": ")[1];
  assert.equal(stdout, `garage ${createHash("sha256").update(token).digest("hex")}\n`);
});

Deno.test("a bad name or none is one sentence on stderr and exit 2", async () => {
  for (const args of [["bad name"], [], ["a", "b"], ["--nope", "x"]]) {
    const { code, stdout, stderr } = await run(...args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stdout, "");
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, /^token: .* \(deno task token --help\)$/m);
  }
});
