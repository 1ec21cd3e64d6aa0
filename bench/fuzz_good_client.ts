/**
 * The fuzzer's well-behaved client (`fuzz.ts` runs it beside the fuzz
 * connections): real digits over framed requests, a few in flight, and a
 * legacy request now and then; every reply must give the answer the same
 * digit got before the run. A connection lost is counted once and replaced.
 *
 * @example
 * ```ts
 * import { goodClient } from "./fuzz_good_client.ts";
 * import { startServer } from "../server/server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * const stop = { stopped: false };
 * setTimeout(() => stop.stopped = true, 200);
 * const problems: string[] = [];
 * const counts = await goodClient(server.addr, undefined, stop, problems);
 * console.log(counts.errors, problems); // 0 []: every reply as before the run
 * await server.shutdown();
 * ```
 * @module
 */
import { Command } from "../shared/codec.ts";
import { WireError } from "../shared/errors.ts";
import { InferenceClient, legacyInfer } from "../client/client.ts";
import { loadDigits } from "./digits.ts";
import { checkReply, MAX_PROBLEMS } from "./fuzz_check.ts";

/**
 * The well-behaved client: framed requests with real digits, a few in
 * flight, plus a legacy request now and then (none when a token is needed);
 * every reply is checked against the answer the same digit got before the run.
 */
export async function goodClient(
  address: { hostname: string; port: number },
  token: string | undefined,
  stop: { stopped: boolean },
  problems: string[],
): Promise<{ requests: number; errors: number }> {
  const { digits } = await loadDigits("mnist");
  const sample = digits.slice(0, 32);
  const counts = { requests: 0, errors: 0 };
  const fail = (what: string) => {
    counts.errors++;
    if (problems.length < MAX_PROBLEMS) problems.push(`good client: ${what}`);
  };
  let client = await InferenceClient.connect(address, { token });
  let nextId = 1;
  const expected: number[] = [];
  try {
    for (const digit of sample) {
      const reply = await client.infer({ digitU8: digit });
      nextId++;
      const problem = checkReply(reply, false);
      if (problem) throw new Error(`before the run: ${problem} ${reply.error}`);
      expected.push(reply.predicted);
    }
  } catch (e) {
    fail((e as Error).message);
    client.close();
    return counts;
  }
  const check = (i: number, id: number, reply: Awaited<ReturnType<InferenceClient["infer"]>>) => {
    counts.requests++;
    const problem = checkReply(reply, false);
    if (problem) fail(problem);
    else if (reply.requestId !== id) fail(`reply to request ${id} carries id ${reply.requestId}`);
    else if (reply.predicted !== expected[i]) {
      fail(`digit ${i} predicted ${reply.predicted}, before the run ${expected[i]}`);
    }
  };
  const inFlight = 4;
  let i = 0;
  let broken = false;
  while (!stop.stopped) {
    const batch = [];
    for (let k = 0; k < inFlight; k++, i++) {
      const index = i % sample.length;
      const id = nextId++;
      batch.push(
        client.infer({ digitU8: sample[index] }).then(
          (reply) => check(index, id, reply),
          (e) => {
            counts.requests++;
            broken = true;
            fail((e as Error).message);
          },
        ),
      );
    }
    await Promise.all(batch);
    if (broken) {
      // The connection is gone: carry on with a new one, so one loss counts once.
      client.close();
      try {
        client = await InferenceClient.connect(address, { token });
      } catch (e) {
        fail(`cannot reconnect: ${(e as Error).message}`);
        break;
      }
      nextId = 1;
      broken = false;
    }
    if (token === undefined && i % 64 === 0) {
      const index = i % sample.length;
      counts.requests++;
      try {
        const { reply, length } = await legacyInfer(
          address,
          Array.from(sample[index], (p) => p / 255),
        );
        if (reply instanceof WireError) fail(`legacy reply undecodable: ${reply}`);
        else {
          const problem = checkReply(reply, true);
          const best = reply.scores ? reply.scores.indexOf(Math.max(...reply.scores)) : -1;
          if (problem) fail(`legacy: ${problem}`);
          else if (reply.command !== Command.INFERENCE_OUTPUT) fail("legacy: not an inference");
          else if (length !== 96) fail(`legacy reply of ${length} bytes`);
          else if (best !== expected[index]) fail(`legacy digit ${index} predicted ${best}`);
        }
      } catch (e) {
        fail(`legacy: ${(e as Error).message}`);
      }
    }
  }
  client.close();
  return counts;
}
