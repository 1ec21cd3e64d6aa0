/**
 * The load generator's core: simulated devices that each send `requests`
 * inferences, one at a time, the legacy way (a connection per request, a
 * bare request, a 96-byte reply, the server closes), framed (over one
 * keep-alive connection per device, or a connection per request) or over
 * HTTP (an Open Inference Protocol infer of one digit over one keep-alive
 * connection per device, `http1.ts`: JSON, or `http-binary` with the binary
 * tensor data extension for the input and the outputs). Every
 * request's latency, status and the server's figures are recorded; nothing
 * is printed. It runs in whichever thread calls it: `LoadPool`
 * (`pool.ts`) runs shares of the clients in Workers.
 *
 * Load is bounded: no request starts after `durationMs`, and a request that
 * takes longer than `timeoutMs` has its connection closed and counts as a
 * `TIMEOUT`. The plan is `load_plan.ts`'s, the record `load_record.ts`'s,
 * the socket reads and writes `load_wire.ts`'s, the HTTP requests
 * `load_http.ts`'s.
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
import { argmax, CLASSES, Command } from "../shared/codec.ts";
import { type DecodedReply } from "../shared/reply_codec.ts";
import { encodeRequest } from "../shared/request_codec.ts";
import { InferenceRequestWriter } from "../shared/request_writer.ts";
import { Status, STATUS_NAMES, statusName, WireError } from "../shared/errors.ts";
import { FrameDecoder } from "../shared/frame.ts";
import { currentThreadNs } from "./cpu.ts";
import { type DigitSet, garbageFloats } from "./digits.ts";
import { Http1Connection } from "./http1.ts";
import type { OipReply } from "../client/oip.ts";
import { Columns, type LoadResult, NO_REPLY } from "./load_record.ts";
import { closeQuietly, errorKind, readFrame, readLegacy, RequestFailure } from "./load_wire.ts";
import { writeAll } from "../server/write_all.ts";
import { isHttp, type LoadPlan } from "./load_plan.ts";
import { httpErrorKind, type HttpRequest, httpRequest, postInfer } from "./load_http.ts";

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
  #httpBodies = new Map<number, HttpRequest>();
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
    if (isHttp(this.plan.protocol)) return await this.#httpClient(c);
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

  /** The OIP infer of digit `pick` (JSON or binary), made once per digit. */
  #httpRequest(pick: number): HttpRequest {
    let request = this.#httpBodies.get(pick);
    if (!request) {
      request = httpRequest(this.#set.digits[pick], this.plan);
      this.#httpBodies.set(pick, request);
    }
    return request;
  }

  /** A client of the HTTP port: one OIP infer at a time over its own keep-alive connection. */
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
          reply = await postInfer(http, this.#httpRequest(pick));
        } catch (e) {
          http?.close();
          http = null;
          const kind = flight.timedOut ? "TIMEOUT" : httpErrorKind(e);
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
