// bench:memory as a user runs it: a real server per instance count, its RSS read from /proc.
import assert from "node:assert/strict";

const SCRIPT = new URL("./memory.ts", import.meta.url).pathname;

function memory(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("bench:memory prints idle and loaded RSS per instance count and each added instance's cost", async () => {
  const { code, stdout } = await memory([
    "--instances",
    "1,2",
    "--settle",
    "0",
    "--clients",
    "4",
    "--requests",
    "2",
  ]);
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, text);
  const rows = text.split("\n").filter((line) => /^wasm\s/.test(line)).map((l) => l.split(/\s+/));
  assert.equal(rows.length, 2, text);
  const [one, two] = rows;
  assert.equal(one[1], "1");
  assert.equal(two[1], "2");
  // idle, loaded, idle +MB/inst, loaded +MB/inst, failed
  assert.ok(Number(one[2]) > 0 && Number(one[3]) >= Number(one[2]), text);
  assert.equal(one[4], "-");
  assert.ok(Math.abs(Number(two[4]) - (Number(two[2]) - Number(one[2]))) < 0.11, text);
  assert.equal(two[6], "0");
});

Deno.test("bench:memory refuses a list without 1 instance, its baseline", async () => {
  const { code, stderr } = await memory(["--instances", "2,3"]);
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /--instances must include 1/);
});
