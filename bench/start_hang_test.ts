import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import { parseStartHangArgs } from "./start_hang.ts";

Deno.test("start-hang defaults: 100 starts at 2 threads, 100 clients × 20; bad flags are refused", () => {
  const o = parseStartHangArgs([]);
  assert.equal(o.starts, 100);
  assert.equal(o.threads, 2);
  assert.equal(o.clients, 100);
  assert.equal(o.requests, 20);
  assert.equal(o.instances, null);
  assert.equal(o.engine, null);
  for (const bad of [["--starts", "0"], ["--threads", "x"], ["--clients", "5000"], ["--nope"]]) {
    assert.throws(() => parseStartHangArgs(bad), UsageError, bad.join(" "));
  }
});

Deno.test("end to end: 2 starts of a real server under immediate load, none hung", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./start_hang.ts", import.meta.url).pathname,
      "--starts",
      "2",
      "--threads",
      "1",
      "--clients",
      "5",
      "--requests",
      "3",
    ],
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, text + new TextDecoder().decode(stderr));
  assert.match(text, /started and served: 2\/2 \(100\.0%\)/);
  assert.match(text, /hung: +0\/2/);
});
