/**
 * Load for the cluster tests: legacy clients (a connection per request, as
 * old clients) and framed keep-alive clients (as boards), each looping until
 * a deadline and recording every request's start, end and outcome. A framed
 * client whose kept-alive connection was closed before any reply came
 * reconnects and sends that request again, once, as the firmware does after
 * a close while idle; a failure on a fresh connection is a failure.
 * Private to `deploy/`.
 *
 * @example
 * ```ts
 * import { churn } from "./_churn.ts";
 * import { startServer } from "../server/server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * const record = await churn({ hostname: "127.0.0.1", port: server.addr.port }, {
 *   legacy: 2, framed: 2, durationMs: 500, timeoutMs: 5000,
 * });
 * console.log(record.ok > 0, record.failures.length); // true 0
 * await server.shutdown();
 * ```
 * @module
 */
import { type Address, InferenceClient, legacyInfer } from "../client/client.ts";
import { Status, WireError } from "../shared/errors.ts";

/** One failed request. */
export interface Failure {
  protocol: "legacy" | "framed";
  /** ms since the churn started. */
  startMs: number;
  endMs: number;
  reason: string;
}

/** What a churn did. */
export interface ChurnRecord {
  ok: number;
  /** Framed requests sent again on a new connection after their kept-alive one closed. */
  resent: number;
  failures: Failure[];
  /** Start times (ms since the churn started) of requests that succeeded. */
  okStarts: number[];
}

/** How much load. */
export interface ChurnPlan {
  legacy: number;
  framed: number;
  durationMs: number;
  /** A request unanswered after this long fails. */
  timeoutMs: number;
  /** Called with the ms since start, every 50 ms, until the end (to act on the cluster mid-run). */
  onTick?: (ms: number) => void;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(new Error(`no reply within ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const DIGIT = new Uint8Array(784).map((_, i) => (i * 37) % 256);
const DIGIT_FLOATS = Array.from(DIGIT, (v) => v / 255);

/** Runs the clients until `durationMs`; resolves with every outcome. */
export async function churn(address: Address, plan: ChurnPlan): Promise<ChurnRecord> {
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const record: ChurnRecord = { ok: 0, resent: 0, failures: [], okStarts: [] };
  const fail = (protocol: Failure["protocol"], startMs: number, reason: string) =>
    record.failures.push({ protocol, startMs, endMs: now(), reason });
  const succeed = (startMs: number) => {
    record.ok++;
    record.okStarts.push(startMs);
  };

  const legacyClient = async () => {
    while (now() < plan.durationMs) {
      const start = now();
      try {
        const { reply, length } = await withTimeout(
          legacyInfer(address, DIGIT_FLOATS),
          plan.timeoutMs,
          () => {},
        );
        if (length !== 96 || reply instanceof WireError || reply.status !== Status.OK) {
          fail("legacy", start, `reply of ${length} bytes: ${String(reply)}`);
        } else succeed(start);
      } catch (e) {
        fail("legacy", start, (e as Error).message);
      }
    }
  };

  const framedClient = async () => {
    let client: InferenceClient | null = null;
    let answered = 0;
    const infer = async (c: InferenceClient) => {
      const reply = await withTimeout(c.infer({ digitU8: DIGIT }), plan.timeoutMs, () => c.close());
      if (reply.status !== Status.OK) throw new WireError(reply.status, "not OK");
      return reply;
    };
    while (now() < plan.durationMs) {
      const start = now();
      try {
        if (!client) {
          client = await InferenceClient.connect(address);
          answered = 0;
        }
        try {
          await infer(client);
        } catch (e) {
          // A kept-alive connection closed under us before this request was
          // answered: reconnect and send it again, once.
          if (answered === 0 || !/closed/.test((e as Error).message)) throw e;
          client.close();
          client = await InferenceClient.connect(address);
          answered = 0;
          record.resent++;
          await infer(client);
        }
        answered++;
        succeed(start);
      } catch (e) {
        client?.close();
        client = null;
        fail("framed", start, e instanceof WireError ? e.toString() : (e as Error).message);
      }
    }
    client?.close();
  };

  const ticker = setInterval(() => plan.onTick?.(now()), 50);
  try {
    await Promise.all([
      ...Array.from({ length: plan.legacy }, legacyClient),
      ...Array.from({ length: plan.framed }, framedClient),
    ]);
  } finally {
    clearInterval(ticker);
  }
  return record;
}
