/**
 * The load generator's core: simulated devices that each send `requests`
 * inferences, one at a time, the legacy way (a connection per request, a
 * bare request, a 96-byte reply, the server closes), framed (over one
 * keep-alive connection per device, or a connection per request) or over
 * HTTP (an Open Inference Protocol JSON infer of one digit over one
 * keep-alive connection per device, `http1.ts`). Every
 * request's latency, status and the server's figures are recorded; nothing
 * is printed. It runs in whichever thread calls it: `LoadPool`
 * (`pool.ts`) runs shares of the clients in Workers.
 *
 * Load is bounded: no request starts after `durationMs`, and a request that
 * takes longer than `timeoutMs` has its connection closed and counts as a
 * `TIMEOUT`.
 *
 * @example
 * ```ts
 * import { LoadRunner } from "./load.ts";
 * import { syntheticDigits } from "./digits.ts";
 * import { startServer } from "../server/server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * const runner = new LoadRunner({
 *   hostname: "127.0.0.1", port: server.addr.port, httpPort: server.http!.addr.port,
 *   protocol: "framed", digits: "u8", keepAlive: true, garbage: false,
 *   clients: 4, firstClient: 0, requests: 10, durationMs: 5000, timeoutMs: 5000,
 * }, syntheticDigits(10));
 * const result = await runner.run();
 * console.log(result.count, result.errors); // 40 {}
 * await server.shutdown();
 * ```
 * @module
 */
import {
  argmax,
  CLASSES,
  Command,
  type DecodedReply,
  decodeReply,
  encodeRequest,
  InferenceRequestWriter,
  LEGACY_REPLY_LENGTH,
} from "../shared/codec.ts";
import { Status, STATUS_NAMES, statusName, WireError } from "../shared/errors.ts";
import { FrameDecoder } from "../shared/frame.ts";
import { currentThreadNs } from "./cpu.ts";
import { type DigitSet, garbageFloats } from "./digits.ts";
import { Http1Connection, Http1Error } from "./http1.ts";
import { decodeOipReply, type OipReply, oipRequest } from "../client/oip.ts";

/** The OIP infer route of the served model. */
const INFER_PATH = "/v2/models/mnist/infer";
const JSON_TYPE = "application/json";

/** The protocols. */
export const PROTOCOLS = ["legacy", "framed", "http", "mqtt"] as const;
export type Protocol = typeof PROTOCOLS[number];
/** How a digit travels: 784 floats (3 KiB, the old clients' way) or 784 bytes. */
export const DIGIT_KINDS = ["float", "u8"] as const;
export type DigitKind = typeof DIGIT_KINDS[number];

/** What one runner does. */
export interface LoadPlan {
  hostname: string;
  port: number;
  /** The server's HTTP port (`http` protocol). */
  httpPort: number;
  protocol: Protocol;
  digits: DigitKind;
  /** Framed only: one connection per client for all its requests. */
  keepAlive: boolean;
  /** Send uninitialised-like floats (NaN, ±Infinity, huge) as the old C++ tool did. */
  garbage: boolean;
  /** Clients this runner simulates. */
  clients: number;
  /** The index of its first client among all runners' (it picks the clients' digits). */
  firstClient: number;
  /** Requests per client. */
  requests: number;
  /** No request starts after this many ms. */
  durationMs: number;
  /** A request not answered within this many ms is cut off as `TIMEOUT`. */
  timeoutMs: number;
}

/** Status recorded for a request that got no reply at all (see `errors` for why). */
export const NO_REPLY = -1;

/** One runner's record: one entry per request attempted, in the order they finished. */
export interface LoadResult {
  count: number;
  /** Send to reply (or failure), in ms. */
  latencyMs: Float64Array;
  /** When the request started, in ms after `originMs`. */
  startMs: Float64Array;
  /** The reply's status (`Status`), or `NO_REPLY`. */
  status: Int16Array;
  /** The server's `timer_ms`: its run's inference time (the whole batch's). NaN without a reply. */
  inferenceMs: Float32Array;
  /** The server's `queue_ms` (framed only, else NaN). */
  queueMs: Float32Array;
  /** The server's `batch_size` (framed only, else 0). */
  batchSize: Uint16Array;
  /** 1 when the predicted digit matched the label, 0 when not, -1 when unknown. */
  correct: Int8Array;
  /** Failures by kind: status names (`SERVER_BUSY`, ...) and connection errors (`TIMEOUT`, ...). */
  errors: Record<string, number>;
  /** `performance.timeOrigin + performance.now()` when the run started: a clock all threads share. */
  originMs: number;
  /** From the start to the last request's end, in ms. */
  elapsedMs: number;
  /** CPU time of the thread that ran it, in ns (null where unknown). */
  cpuNs: number | null;
}

/** Why a request failed, for the `errors` table. */
export function errorKind(e: unknown): string {
  if (e instanceof RequestFailure) return e.kind;
  const name = e instanceof Error ? e.name : "Error";
  // Deno.errors.ConnectionRefused -> CONNECTION_REFUSED
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** A failure the runner itself names. */
class RequestFailure extends Error {
  kind: string;
  constructor(kind: string) {
    super(kind);
    this.kind = kind;
  }
}

/** Growable columns of the record. */
class Columns {
  count = 0;
  latencyMs = new Float64Array(1024);
  startMs = new Float64Array(1024);
  status = new Int16Array(1024);
  inferenceMs = new Float32Array(1024);
  queueMs = new Float32Array(1024);
  batchSize = new Uint16Array(1024);
  correct = new Int8Array(1024);

  push(
    start: number,
    latency: number,
    status: number,
    reply: DecodedReply | null,
    correct: number,
    framed: boolean,
  ): void {
    if (this.count === this.latencyMs.length) this.#grow();
    const i = this.count++;
    this.startMs[i] = start;
    this.latencyMs[i] = latency;
    this.status[i] = status;
    this.inferenceMs[i] = reply ? reply.inferenceMs : NaN;
    this.queueMs[i] = reply && framed ? reply.queueMs : NaN;
    this.batchSize[i] = reply && framed ? reply.batchSize : 0;
    this.correct[i] = correct;
  }

  #grow(): void {
    const grow = <T extends { length: number; set(a: T): void }>(a: T, make: (n: number) => T) => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.latencyMs = grow(this.latencyMs, (n) => new Float64Array(n));
    this.startMs = grow(this.startMs, (n) => new Float64Array(n));
    this.status = grow(this.status, (n) => new Int16Array(n));
    this.inferenceMs = grow(this.inferenceMs, (n) => new Float32Array(n));
    this.queueMs = grow(this.queueMs, (n) => new Float32Array(n));
    this.batchSize = grow(this.batchSize, (n) => new Uint16Array(n));
    this.correct = grow(this.correct, (n) => new Int8Array(n));
  }
}

/** A client's current request, watched for its timeout. */
interface InFlight {
  since: number;
  conn: Deno.Conn | null;
  timedOut: boolean;
}

/** Runs one share of the clients in the calling thread. */
export class LoadRunner {
  readonly plan: LoadPlan;
  /** Requests finished so far (for progress). */
  done = 0;
  #set: DigitSet;
  #garbage: Uint8Array[] = [];
  #columns = new Columns();
  #errors: Record<string, number> = {};
  #inFlight = new Set<InFlight>();
  #httpBodies = new Map<number, Uint8Array>();
  #origin = 0;

  constructor(plan: LoadPlan, digits: DigitSet) {
    this.plan = plan;
    this.#set = digits;
    if (plan.garbage) {
      if (plan.digits !== "float") throw new Error("garbage digits are floats: use --digits float");
      for (let seed = 1; seed <= 16; seed++) {
        this.#garbage.push(
          encodeRequest({
            command: Command.INFERENCE_INPUT,
            requestId: seed,
            digit: garbageFloats(seed),
          }, plan.protocol === "framed"),
        );
      }
    }
  }

  /** Runs every client to the end (or the duration) and returns the record. */
  async run(): Promise<LoadResult> {
    const cpuStart = currentThreadNs();
    this.#origin = performance.now();
    const originMs = performance.timeOrigin + this.#origin;
    const watchdog = setInterval(() => this.#watch(), Math.min(50, this.plan.timeoutMs / 4));
    try {
      const clients = [];
      for (let c = 0; c < this.plan.clients; c++) clients.push(this.#client(c));
      await Promise.all(clients);
    } finally {
      clearInterval(watchdog);
    }
    const elapsedMs = performance.now() - this.#origin;
    const cpuEnd = currentThreadNs();
    const c = this.#columns;
    const n = c.count;
    return {
      count: n,
      latencyMs: c.latencyMs.slice(0, n),
      startMs: c.startMs.slice(0, n),
      status: c.status.slice(0, n),
      inferenceMs: c.inferenceMs.slice(0, n),
      queueMs: c.queueMs.slice(0, n),
      batchSize: c.batchSize.slice(0, n),
      correct: c.correct.slice(0, n),
      errors: this.#errors,
      originMs,
      elapsedMs,
      cpuNs: cpuStart === null || cpuEnd === null ? null : cpuEnd - cpuStart,
    };
  }

  /** Closes the connections of requests past their timeout. */
  #watch(): void {
    const now = performance.now();
    for (const flight of this.#inFlight) {
      if (!flight.timedOut && now - flight.since > this.plan.timeoutMs) {
        flight.timedOut = true;
        closeQuietly(flight.conn);
      }
    }
  }

  async #client(c: number): Promise<void> {
    if (this.plan.protocol === "http") return await this.#httpClient(c);
    if (this.plan.protocol === "mqtt") throw new Error("MQTT load runs in bench/mqtt_load.ts");
    const plan = this.plan;
    const framed = plan.protocol === "framed";
    const global = plan.firstClient + c;
    const writer = plan.garbage ? null : new InferenceRequestWriter(framed, plan.digits === "u8");
    const digits = this.#set.digits;
    const buf = new Uint8Array(4096);
    const frames = framed ? new FrameDecoder(1 << 16) : null;
    const scores = new Float32Array(CLASSES);
    const flight: InFlight = { since: 0, conn: null, timedOut: false };
    let conn: Deno.TcpConn | null = null;
    this.#inFlight.add(flight);
    try {
      for (let r = 0; r < plan.requests; r++) {
        const start = performance.now();
        if (start - this.#origin > plan.durationMs) break;
        // Spread clients over the digits: client c's request r gets digit (c * 7919 + r) mod n.
        const pick = (global * 7919 + r) % digits.length;
        const label = plan.garbage ? -1 : this.#set.labels[pick];
        const bytes = writer
          ? writer.write(r + 1, digits[pick])
          : this.#garbage[(global + r) % this.#garbage.length];
        flight.since = start;
        flight.timedOut = false;
        let reply: DecodedReply | WireError | null = null;
        try {
          if (!conn || !plan.keepAlive || !framed) {
            conn = await Deno.connect({ hostname: plan.hostname, port: plan.port });
            conn.setNoDelay(true);
            flight.conn = conn;
            if (flight.timedOut) throw new RequestFailure("TIMEOUT");
          }
          await writeAll(conn, bytes);
          if (framed) {
            reply = await readFrame(conn, frames!, buf, scores);
            if (!plan.keepAlive) {
              closeQuietly(conn);
              conn = null;
            }
          } else {
            reply = await readLegacy(conn, buf, scores);
            closeQuietly(conn);
            conn = null;
          }
        } catch (e) {
          closeQuietly(conn);
          conn = null;
          frames?.reset();
          const kind = flight.timedOut ? "TIMEOUT" : errorKind(e);
          this.#fail(start, kind);
          continue;
        }
        const end = performance.now();
        if (reply instanceof WireError) {
          this.#fail(start, "BAD_REPLY");
          continue;
        }
        const status = reply.command === Command.ERROR ? reply.status || Status.INTERNAL_ERROR : 0;
        let correct = -1;
        if (status === Status.OK) {
          if (!reply.scores || reply.scores.length !== CLASSES) {
            this.#fail(start, "BAD_REPLY");
            continue;
          }
          if (label >= 0) correct = argmax(reply.scores) === label ? 1 : 0;
        } else {
          const name = statusName(status);
          this.#errors[name] = (this.#errors[name] ?? 0) + 1;
        }
        this.#columns.push(start - this.#origin, end - start, status, reply, correct, framed);
        this.done++;
      }
    } finally {
      closeQuietly(conn);
      this.#inFlight.delete(flight);
    }
  }

  /** The JSON body of an OIP infer of digit `pick`, made once per digit. */
  #httpBody(pick: number): Uint8Array {
    let body = this.#httpBodies.get(pick);
    if (!body) {
      const digit = this.#set.digits[pick];
      body = this.plan.digits === "u8"
        ? oipRequest([digit], { datatype: "UINT8", predicted: false }).body
        : oipRequest([Float32Array.from(digit, (v) => v / 255)], { predicted: false }).body;
      this.#httpBodies.set(pick, body);
    }
    return body;
  }

  /** A client of the HTTP port: one OIP JSON infer at a time over its own keep-alive connection. */
  async #httpClient(c: number): Promise<void> {
    const plan = this.plan;
    const global = plan.firstClient + c;
    const flight: InFlight = { since: 0, conn: null, timedOut: false };
    let http: Http1Connection | null = null;
    this.#inFlight.add(flight);
    try {
      for (let r = 0; r < plan.requests; r++) {
        const start = performance.now();
        if (start - this.#origin > plan.durationMs) break;
        const pick = (global * 7919 + r) % this.#set.digits.length;
        flight.since = start;
        flight.timedOut = false;
        let reply: OipReply;
        try {
          if (!http) {
            http = await Http1Connection.open(plan.hostname, plan.httpPort);
            flight.conn = http.conn;
            if (flight.timedOut) throw new RequestFailure("TIMEOUT");
          }
          const { status, body } = await http.post(INFER_PATH, this.#httpBody(pick), JSON_TYPE);
          reply = decodeOipReply(status, body, null);
        } catch (e) {
          http?.close();
          http = null;
          const kind = flight.timedOut
            ? "TIMEOUT"
            : e instanceof Http1Error
            ? e.kind
            : e instanceof SyntaxError
            ? "BAD_REPLY"
            : errorKind(e);
          this.#fail(start, kind);
          continue;
        }
        const end = performance.now();
        let code = 0;
        let correct = -1;
        if (reply.status === 200) {
          if (reply.probabilities?.length !== CLASSES) {
            this.#fail(start, "BAD_REPLY");
            continue;
          }
          const label = this.#set.labels[pick];
          if (label >= 0) correct = argmax(reply.probabilities) === label ? 1 : 0;
        } else {
          // "CODE: sentence": the wire's code names.
          const name = String(reply.body.error ?? `HTTP_${reply.status}`).split(":")[0];
          code = STATUS_NAMES.indexOf(name);
          if (code < 0) code = Status.INTERNAL_ERROR;
          this.#errors[name] = (this.#errors[name] ?? 0) + 1;
        }
        this.#columns.push(start - this.#origin, end - start, code, null, correct, false);
        this.done++;
      }
    } finally {
      http?.close();
      this.#inFlight.delete(flight);
    }
  }

  #fail(start: number, kind: string): void {
    this.#errors[kind] = (this.#errors[kind] ?? 0) + 1;
    this.#columns.push(
      start - this.#origin,
      performance.now() - start,
      NO_REPLY,
      null,
      -1,
      false,
    );
    this.done++;
  }
}

function closeQuietly(conn: Deno.Conn | null): void {
  if (!conn) return;
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Reads one framed reply. */
async function readFrame(
  conn: Deno.Conn,
  frames: FrameDecoder,
  buf: Uint8Array,
  scores: Float32Array,
): Promise<DecodedReply | WireError> {
  for (;;) {
    const payload = frames.next();
    if (payload instanceof WireError) return payload;
    if (payload !== null) return decodeReply(payload, scores);
    const n = await conn.read(buf);
    if (n === null) throw new RequestFailure("CLOSED_BEFORE_REPLY");
    frames.push(buf.subarray(0, n));
  }
}

/** Reads a legacy reply: everything until the server closes; an inference reply must be 96 bytes. */
async function readLegacy(
  conn: Deno.Conn,
  buf: Uint8Array,
  scores: Float32Array,
): Promise<DecodedReply | WireError> {
  let got = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) break;
    got += n;
    if (got === buf.length) throw new RequestFailure("REPLY_TOO_LONG");
  }
  if (got === 0) throw new RequestFailure("CLOSED_BEFORE_REPLY");
  const reply = decodeReply(buf.subarray(0, got), scores);
  if (
    !(reply instanceof WireError) && reply.command === Command.INFERENCE_OUTPUT &&
    got !== LEGACY_REPLY_LENGTH
  ) {
    throw new RequestFailure("BAD_LEGACY_LENGTH");
  }
  return reply;
}
