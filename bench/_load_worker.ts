/**
 * A load Worker: runs its share of the clients with `LoadRunner` when told
 * to go, reports progress every 200 ms and posts the record back. Private to
 * `bench/`; `LoadPool` (`pool.ts`) drives it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { DigitSet } from "./digits.ts";
import { LoadRunner } from "./load.ts";
import type { PoolReply, PoolRequest } from "./pool.ts";

let digits: DigitSet | null = null;
let runner: LoadRunner | null = null;

function post(message: PoolReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = async (event: MessageEvent<PoolRequest>) => {
  const message = event.data;
  try {
    if (message.type === "digits") {
      digits = message.set;
    } else if (message.type === "prepare") {
      runner = new LoadRunner(message.plan, digits!);
      post({ type: "ready" });
    } else if (message.type === "go") {
      const current = runner!;
      const progress = setInterval(() => post({ type: "progress", done: current.done }), 200);
      try {
        const result = await current.run();
        const columns = [
          result.latencyMs,
          result.startMs,
          result.status,
          result.inferenceMs,
          result.queueMs,
          result.batchSize,
          result.correct,
        ];
        post({ type: "result", result }, columns.map((c) => c.buffer as ArrayBuffer));
      } finally {
        clearInterval(progress);
        runner = null;
      }
    }
  } catch (e) {
    post({ type: "error", message: (e as Error).stack ?? String(e) });
  }
};
