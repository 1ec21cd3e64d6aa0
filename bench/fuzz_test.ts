// The fuzzer: its checks must catch bad replies, its mutations must be what
// they say, and a bounded slice (20,000 frames) runs against a real server.
import assert from "node:assert/strict";
import { Command } from "../shared/codec.ts";
import { encodeLegacyReply, encodeReply } from "../shared/reply_codec.ts";
import { decodeRequest, encodeRequest } from "../shared/request_codec.ts";
import { Status, WireError } from "../shared/errors.ts";
import { Authorizer } from "../server/auth/authorize.ts";
import { DeviceTokens, newToken, tokenLine } from "../server/auth/tokens.ts";
import { Logger } from "../server/log.ts";
import { startServer } from "../server/server.ts";
import { UsageError } from "../cli/args.ts";
import { formatFuzzResult, fuzzFailed, runFuzz } from "./fuzz.ts";
import { parseFuzzArgs } from "./fuzz_args.ts";
import { checkReplies } from "./fuzz_check.ts";
import { BODY_MUTATIONS, Mutator } from "./fuzz_mutate.ts";

const scores = Float32Array.from([0.01, 0.01, 0.01, 0.9, 0.01, 0.01, 0.01, 0.02, 0.01, 0.01]);
const legacyRequest = encodeRequest({
  command: Command.INFERENCE_INPUT,
  digit: new Array(784).fill(0),
}, false);
const framedRequest = encodeRequest(
  { command: Command.INFERENCE_INPUT, requestId: 5, digitU8: new Uint8Array(784) },
  true,
);

Deno.test("flags: defaults, a server on loopback only, bounds", () => {
  const o = parseFuzzArgs([]);
  assert.equal(o.server, null);
  assert.equal(o.frames, Infinity);
  assert.equal(o.duration, 10);
  assert.equal(o.connections, 32);
  const p = parseFuzzArgs(["--server", "127.0.0.1:4000", "--frames", "500", "--seed", "3"]);
  assert.deepEqual(p.server, { hostname: "127.0.0.1", port: 4000 });
  assert.equal(p.frames, 500);
  assert.equal(p.seed, 3);
  assert.equal(p.duration, Infinity, "--frames alone is bounded by frames");
  assert.equal(parseFuzzArgs(["--frames", "9", "--duration", "2"]).duration, 2);
  assert.deepEqual(parseFuzzArgs(["--server", "[::1]:4000"]).server, {
    hostname: "::1",
    port: 4000,
  });
  for (
    const bad of [
      ["--server", "10.0.0.1:4000"],
      ["--server", "localhost"],
      ["--frames", "0"],
      ["--duration", "x"],
      ["--nope"],
    ]
  ) {
    assert.throws(() => parseFuzzArgs(bad), UsageError, bad.join(" "));
  }
});

Deno.test("the reply checker accepts valid replies and closes, and catches bad ones", () => {
  const ok = encodeLegacyReply(scores, 0.3);
  assert.equal(checkReplies(legacyRequest, ok, false), null);
  assert.equal(checkReplies(legacyRequest, new Uint8Array(0), false), null, "a close");
  const error = encodeReply(
    { command: Command.ERROR, status: Status.MALFORMED_BUFFER, error: "x" },
    false,
  );
  assert.equal(checkReplies(legacyRequest, error, false), null);
  const framedOk = encodeReply({
    command: Command.INFERENCE_OUTPUT,
    requestId: 5,
    scores,
    predicted: 3,
  }, true);
  const framedError = encodeReply(
    { command: Command.ERROR, requestId: 5, status: 7, error: "no" },
    true,
  );
  const both = new Uint8Array([...framedOk, ...framedError]);
  assert.equal(checkReplies(framedRequest, both, false), null);

  const bad: [Uint8Array, Uint8Array, string][] = [
    [legacyRequest, ok.subarray(0, 40), "undecodable"],
    [legacyRequest, encodeReply({ command: Command.INFERENCE_OUTPUT, scores }, false), "not 96"],
    [
      legacyRequest,
      encodeReply({ command: Command.ERROR, status: 0, error: "x" }, false),
      "status 0",
    ],
    [
      legacyRequest,
      encodeReply({ command: Command.ERROR, status: 99, error: "x" }, false),
      "status 99",
    ],
    [
      legacyRequest,
      encodeReply({ command: Command.ERROR, status: 4 }, false),
      "without a sentence",
    ],
    [legacyRequest, encodeReply({ command: 9 }, false), "command 9"],
    [legacyRequest, encodeLegacyReply(Float32Array.from({ length: 10 }, () => NaN), 0), "score 0"],
    [framedRequest, both.subarray(0, both.length - 3), "cut short"],
    [framedRequest, new Uint8Array(8).fill(0xab), "cannot be framed"],
    [
      framedRequest,
      encodeReply({ command: Command.INFERENCE_OUTPUT, scores, predicted: 4 }, true),
      "predicted 4",
    ],
  ];
  for (const [sent, received, phrase] of bad) {
    const problem = checkReplies(sent, received, false);
    assert.ok(problem?.includes(phrase), `${phrase}: got ${problem}`);
  }
  // A reset may cut the last reply: that is a close, not a bad reply.
  assert.equal(checkReplies(framedRequest, both.subarray(0, both.length - 3), true), null);
});

Deno.test("mutations are repeatable from a seed and do what they say", () => {
  const a = new Mutator(9);
  const b = new Mutator(9);
  const kinds = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const x = a.nextCase();
    const y = b.nextCase();
    assert.deepEqual(x, y);
    kinds.add(x.kind.split(" ")[1] ?? x.kind);
  }
  for (const kind of [...BODY_MUTATIONS, "length-lie", "random"]) assert.ok(kinds.has(kind), kind);

  const m = new Mutator(1);
  for (let i = 0; i < 50; i++) {
    const bent = m.mutateBody(legacyRequest, "vector-length");
    assert.equal(bent.length, legacyRequest.length);
    const decoded = decodeRequest(bent);
    assert.ok(decoded instanceof WireError, "a wrong vector length is refused");
    assert.ok(
      decoded.status === Status.BAD_DIGIT_LENGTH || decoded.status === Status.MALFORMED_BUFFER,
      decoded.code,
    );
  }
  assert.deepEqual(m.mutateBody(legacyRequest, "none"), legacyRequest);
  assert.ok(m.mutateBody(legacyRequest, "cut").length < legacyRequest.length);
});

Deno.test("the fuzzer reports a server that answers garbage", async () => {
  // Not our server: one that answers every connection with bytes no codec reads.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        try {
          await conn.read(new Uint8Array(65536));
          await conn.write(new Uint8Array(96).fill(0xab));
        } catch {
          // The fuzzer closed first.
        } finally {
          try {
            conn.close();
          } catch {
            // Closed.
          }
        }
      })();
    }
  })();
  try {
    const result = await runFuzz({
      ...parseFuzzArgs(["--server", `127.0.0.1:${listener.addr.port}`, "--seed", "1"]),
      frames: 200,
      connections: 4,
    });
    assert.ok(result.invalid > 0, formatFuzzResult(result));
    assert.ok(result.good.errors > 0);
    assert.ok(fuzzFailed(result));
    assert.match(formatFuzzResult(result), /first problems:/);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("20,000 fuzz frames against a real server: no crash, hang or invalid reply; the good client sees no error", async () => {
  const result = await runFuzz({
    ...parseFuzzArgs(["--seed", "20000"]),
    frames: 20_000,
    duration: 300,
  });
  const summary = formatFuzzResult(result);
  assert.ok(result.frames >= 20_000, summary);
  assert.equal(result.crashes, 0, summary);
  assert.equal(result.hangs, 0, summary);
  assert.equal(result.invalid, 0, summary);
  assert.ok(result.good.requests > 0, summary);
  assert.equal(result.good.errors, 0, summary);
  assert.ok(!fuzzFailed(result));
});

Deno.test("fuzzing a server with tokens on: refusals are valid replies and the good client, with its token, is served", async () => {
  const dir = await Deno.makeTempDir();
  const token = newToken();
  await Deno.writeTextFile(`${dir}/tokens`, tokenLine("good", token) + "\n");
  const tokens = await DeviceTokens.open(`${dir}/tokens`, { watch: false });
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("error", () => {}),
    auth: new Authorizer({ tokens }),
  });
  try {
    const result = await runFuzz({
      ...parseFuzzArgs(["--server", `127.0.0.1:${server.addr.port}`, "--seed", "7"]),
      frames: 3000,
      connections: 8,
      token,
    });
    const summary = formatFuzzResult(result);
    assert.ok(!fuzzFailed(result), summary);
    assert.ok(result.good.requests > 0, summary);
  } finally {
    await server.shutdown();
    await tokens.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--server where no server listens: one sentence, exit 2", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "fuzz", "--server", `127.0.0.1:${port}`, "--frames", "10"],
    cwd: new URL("..", import.meta.url).pathname,
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 2, text);
  assert.equal(
    text,
    `fuzz: no server answered on 127.0.0.1:${port}: the connection was refused ` +
      "(CONNECTION_REFUSED)\n",
  );
  assert.equal(new TextDecoder().decode(stdout), "");
});
