/**
 * Warm before ready: before the start line, the server sends its own request
 * path real requests over loopback for a start-up budget (`--warm-up-ms`), so
 * that the JIT has compiled that path, and the engines have run full batches,
 * before the first client comes: a fresh server then serves at its warm rate
 * from its first second instead of spending its first tens of thousands of
 * requests at three quarters of it.
 *
 * Framed connections send what boards and pipelining clients send: many
 * connections one inference at a time (as many as a busy fleet opens at once,
 * so accepting and per-connection setup warm too), a few pipelining bursts
 * that fill whole batches, and a stats request (the board port: accepting,
 * framing, the handler, the queue's lanes and batches, the engines, the
 * ordered replies), while HTTP keep-alive clients post OIP infers, in JSON
 * and with binary tensors (`Inference-Header-Content-Length`), over raw
 * HTTP/1.1 (no client library's cost in the server's own event loop). The
 * requests are real ones through the real sockets (the clients are in
 * `_warm_up_clients.ts`); the server keeps them out
 * of its metrics, dashboard, capture and observers (the monitor counts them
 * in a throwaway twin, so its code warms too), and is not ready while it
 * warms. Some clients open a connection per request, legacy ones included,
 * so that accepting and closing connections warm as well; a client that is
 * refused (legacy denied, a limit) stops. With device tokens on, framed and
 * HTTP requests are refused (they carry none), which still warms every part
 * but the engines. When the engines are too slow for the warm-up's traffic,
 * the clients give up `GRACE_MS` after the budget, and the server waits
 * (`settle`, at most `SETTLE_MS`) until what they left in the queues has
 * run: it is counted nowhere and is not in the first client's way.
 *
 * @example
 * ```ts
 * import { warmUp } from "./warm_up.ts";
 * import { startServer } from "./server.ts";
 *
 * const server = await startServer({ port: 0, httpPort: null, warmUpMs: 0 });
 * const report = await warmUp({ board: server.addr, http: null, model: server.queue.model }, 200);
 * console.log(report.framed > 0); // true
 * await server.shutdown();
 * ```
 * @module
 */
import { warmChurn, warmFramed, warmHttp } from "./_warm_up_clients.ts";
import type { InferenceQueue } from "./engine/queue.ts";

/** Where the warm-up sends. */
export interface WarmUpTarget {
  /** The board port's address (a wildcard host is reached on loopback). */
  board: Deno.NetAddr;
  /** The HTTP port's address, or null without HTTP. */
  http: Deno.NetAddr | null;
  /** The model HTTP infers name (the default model's name). */
  model: string;
}

/** What the warm-up did. */
export interface WarmUpReport {
  /** Framed replies and HTTP replies received. */
  framed: number;
  http: number;
  /** HTTP replies with status 200 to binary-tensor infers. */
  httpBinaryOk: number;
  /** Board connections opened at once. */
  connections: number;
  /** Replies to requests that had a connection each (legacy, and framed reconnects). */
  churned: number;
  /** How long it took, ms. */
  ms: number;
}

/**
 * Framed connections that warm at once, each with the requests it sends per
 * burst: many one at a time (boards) and a few pipelining, so that lanes and
 * batches form as under load.
 */
const BURSTS = [...Array(192).fill(1), 32, 32, 32, 32];

/**
 * Clients that open a connection per request and close it (legacy clients do
 * so by the protocol; boards reconnect), so that accepting, setting up and
 * closing a connection warm too: a fleet's first second opens hundreds.
 */
const CHURN = ["framed", "framed", "legacy", "legacy"] as const;

/** HTTP keep-alive clients that warm at once: JSON and binary tensors, alternately. */
const HTTP_CLIENTS = 4;

/** How long past its budget a warm-up may wait for its last replies before it gives up on them. */
export const GRACE_MS = 2_000;

/**
 * How long a warm-up that gave up may wait for what it left in the queues
 * (a slow or stalled engine) before the server starts anyway.
 */
export const SETTLE_MS = 5_000;

/**
 * Waits until `queues` hold nothing of the warm-up (nothing queued or
 * running), at most `limitMs`; resolves with the digits still in flight
 * then (0: settled).
 */
export async function settle(
  queues: readonly Pick<InferenceQueue, "inFlight" | "settled">[],
  limitMs = SETTLE_MS,
): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<void>((resolve) => timer = setTimeout(resolve, limitMs));
  await Promise.race([Promise.all(queues.map((q) => q.settled())), limit]);
  clearTimeout(timer);
  return queues.reduce((n, q) => n + q.inFlight, 0);
}

/**
 * Sends the request path real requests for `budgetMs`, then resolves once
 * the last bursts are answered: at most `GRACE_MS` later, when whatever is
 * still waiting is abandoned (a server that does not answer starts anyway).
 */
export async function warmUp(target: WarmUpTarget, budgetMs: number): Promise<WarmUpReport> {
  const started = performance.now();
  const until = started + budgetMs;
  const report: WarmUpReport = {
    framed: 0,
    http: 0,
    httpBinaryOk: 0,
    connections: 0,
    churned: 0,
    ms: 0,
  };
  if (budgetMs <= 0) return report;
  const stop = new AbortController();
  const giveUp = setTimeout(() => stop.abort(), budgetMs + GRACE_MS);
  const framed = BURSTS.map((burst, i) =>
    warmFramed(target.board, until, burst, i, stop.signal, () => report.connections++)
      .then((n) => report.framed += n)
  );
  const churn = CHURN.map((protocol, i) =>
    warmChurn(target.board, until, protocol === "legacy", i, stop.signal)
      .then((n) => report.churned += n)
  );
  const http = target.http
    ? Array.from(
      { length: HTTP_CLIENTS },
      (_, i) =>
        warmHttp(target.http!, target.model, i % 2 === 1, until, stop.signal)
          .then(({ replies, ok }) => {
            report.http += replies;
            if (i % 2 === 1) report.httpBinaryOk += ok;
          }),
    )
    : [];
  // A warm-up that fails (a port closed under it) only ends early: serving does not depend on it.
  await Promise.allSettled([...framed, ...churn, ...http]);
  clearTimeout(giveUp);
  report.ms = performance.now() - started;
  return report;
}
