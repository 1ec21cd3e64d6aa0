/**
 * The request handler every transport calls: a message (or an already
 * decoded request) in, a reply out. It decodes, answers `GET_STATS`, submits
 * digits to the `InferenceQueue`, turns every failure into a typed error
 * reply, logs each request at debug level, and tells an optional observer
 * (`onRequest`) the outcome of every request in one place: metrics and the
 * dashboard subscribe there instead of reaching into a transport.
 *
 * Transports keep what is theirs: the board port (`tcp/connection.ts`) its
 * framing, deadlines and reply order; an HTTP port its routes and JSON. A
 * transport reports the refusals it makes itself (a cut frame, a timeout, a
 * connection cap) through `refuse`, so they reach the log and the observer
 * the same way.
 *
 * @example
 * ```ts ignore
 * import { RequestHandler } from "./handler.ts";
 *
 * const handler = new RequestHandler({ queue, stats: () => server.stats(), log });
 * const outcome = await handler.handle(messageBytes, { protocol: "framed", peer: "10.0.0.7:5123" });
 * // outcome.reply is a codec `Reply`: encodeReply(outcome.reply, true) is the frame to send.
 * ```
 * @module
 */
import {
  Command,
  type DecodedRequest,
  decodeRequest,
  DIGIT_PIXELS,
  encodeLegacyReply,
  encodeReply,
  peekRequestId,
  type Reply,
  type Stats,
} from "../shared/codec.ts";
import { Status, statusName, WireError } from "../shared/errors.ts";
import type { Authorizer, Peer } from "./auth/authorize.ts";
import type { Inference, InferenceQueue } from "./engine/queue.ts";
import type { Logger } from "./log.ts";

/** The transports a request can come by. */
export type Protocol = "legacy" | "framed" | "http";

/** Everything known about one request once it has its outcome: what an observer receives. */
export interface RequestEvent {
  protocol: Protocol;
  /** The client's address (`host:port`; behind a trusted proxy, the real client's). */
  peer: string;
  /** The command asked (-1 when the message could not be read). */
  command: number;
  requestId: number;
  /** The reply's status (`Status`), and its name as on the wire, in logs and metrics. */
  status: number;
  code: string;
  /** The error sentence ("" on success). */
  error: string;
  /** The digit as sent: bytes (0..255) or floats, at most one set; null when none was read. */
  digitU8: Uint8Array | null;
  digit: Float32Array | null;
  /** Set on a served inference, else null. */
  predicted: number | null;
  scores: Float32Array | null;
  queueMs: number | null;
  inferenceMs: number | null;
  batchSize: number | null;
  /** The version of the model that answered, on a served inference; else null. */
  modelVersion: number | null;
  /** From the request's arrival at the handler to its reply being ready, in ms. */
  totalMs: number;
  /** The device the token named (tokens on), else null. */
  device: string | null;
  /** Bytes of the request and of its reply as on the wire. */
  bytesIn: number;
  bytesOut: number;
  /** The request's `token`, `model` and `client` fields ("" when absent or unread). */
  token: string;
  model: string;
  client: string;
}

/** Where a request came from, and what its transport adds. */
export interface RequestOrigin {
  protocol: Protocol;
  peer: string;
  /**
   * Asked before a digit is queued: an error refuses it (a connection over
   * its share of the queue, say). When it admits, `release` is called once
   * the digit has left the queue (answered or failed).
   */
  admit?: () => WireError | null;
  release?: () => void;
  /** Who the authorizer sees: one object per connection, so a proved token is remembered. */
  identity?: Peer;
  /** Whose digits these are (the connection): the queue serves owners in turn. */
  owner?: unknown;
}

/** What the handler shares with its server. */
export interface HandlerContext {
  /** The queue of the model a request names ("" for the default), or `MODEL_UNAVAILABLE`. */
  route: (model: string) => InferenceQueue | WireError;
  stats: () => Stats;
  log: Logger;
  /** Who may be served (tokens, legacy policy); everyone when absent. */
  auth?: Authorizer | null;
  /** Told every request's outcome, once its reply is ready; must not throw. */
  onRequest?: (event: RequestEvent) => void;
}

/** A reply and, for a served inference, what produced it. */
export interface Outcome {
  reply: Reply;
  inference: Inference | null;
  /** The reply encoded for the origin's protocol: what the transport writes. */
  bytes: Uint8Array;
}

/** Answers requests for every transport. */
export class RequestHandler {
  #ctx: HandlerContext;

  constructor(ctx: HandlerContext) {
    this.#ctx = ctx;
  }

  /** Decodes one message (a frame's payload or a whole legacy message) and answers it. */
  handle(message: Uint8Array, origin: RequestOrigin): Outcome | Promise<Outcome> {
    const started = performance.now();
    // What came over the wire: the message and, framed, its 4-byte length.
    const bytesIn = message.length + (origin.protocol === "framed" ? 4 : 0);
    const request = decodeRequest(message);
    if (request instanceof WireError) {
      return this.refuse(request, origin, peekRequestId(message), started, bytesIn);
    }
    return this.handleDecoded(request, origin, started, bytesIn);
  }

  /** Answers a request already decoded (by an HTTP route, say). */
  handleDecoded(
    request: DecodedRequest,
    origin: RequestOrigin,
    started = performance.now(),
    bytesIn = 0,
  ): Outcome | Promise<Outcome> {
    let device: string | null = null;
    const auth = this.#ctx.auth;
    if (auth) {
      const identity = origin.identity ??
        { address: hostOf(origin.peer), protocol: origin.protocol };
      const verdict = auth.authorize(request, identity);
      if (verdict instanceof WireError) {
        return this.#refused(verdict, origin, request, started, bytesIn);
      }
      device = verdict.device;
    }
    if (request.command === Command.GET_STATS) {
      const reply = {
        command: Command.GET_STATS,
        requestId: request.requestId,
        stats: this.#ctx.stats(),
      };
      return this.#finish(origin, request, reply, null, started, bytesIn, device);
    }
    const refused = origin.admit?.() ?? null;
    if (refused) return this.#refused(refused, origin, request, started, bytesIn);
    const queue = this.#ctx.route(request.model);
    if (queue instanceof WireError) {
      origin.release?.();
      return this.#refused(queue, origin, request, started, bytesIn);
    }
    // The digit's bytes may be a view into a transport's buffer that is
    // reused before the inference ends: one copy serves the queue and an
    // observer, which only reads it.
    const copied = request.digitU8 !== null && this.#ctx.onRequest !== undefined;
    if (copied) request.digitU8 = request.digitU8!.slice(0, DIGIT_PIXELS);
    const inference = queue.submit(request.digitU8, request.digit, origin.owner, copied);
    if (inference instanceof WireError) {
      origin.release?.();
      return this.#refused(inference, origin, request, started, bytesIn);
    }
    return inference.then(
      (result) => {
        origin.release?.();
        const reply: Reply = {
          command: Command.INFERENCE_OUTPUT,
          requestId: request.requestId,
          scores: result.scores,
          predicted: result.predicted,
          inferenceMs: result.inferenceMs,
          queueMs: result.queueMs,
          batchSize: result.batchSize,
          modelVersion: result.modelVersion,
        };
        if (this.#ctx.log.enabled("debug")) {
          this.#ctx.log.debug("inference", {
            protocol: origin.protocol,
            peer: origin.peer,
            device: device ?? undefined,
            id: request.requestId,
            predicted: result.predicted,
            batch: result.batchSize,
            queue_ms: result.queueMs.toFixed(3),
            run_ms: result.inferenceMs.toFixed(3),
          });
        }
        return this.#finish(origin, request, reply, result, started, bytesIn, device);
      },
      (error: WireError) => {
        origin.release?.();
        this.#ctx.log.error("inference failed", {
          protocol: origin.protocol,
          peer: origin.peer,
          code: error.code,
          error: error.message,
        });
        return this.#refused(error, origin, request, started, bytesIn, false);
      },
    );
  }

  /**
   * The error reply to a request the transport or the decoder refused, with
   * its id when that could be read (else 0); logged and observed.
   */
  refuse(
    error: WireError,
    origin: RequestOrigin,
    requestId = 0,
    started = performance.now(),
    bytesIn = 0,
  ): Outcome {
    const request: DecodedRequest = {
      command: -1,
      requestId,
      digit: null,
      digitU8: null,
      token: "",
      model: "",
      client: "",
    };
    return this.#refused(error, origin, request, started, bytesIn);
  }

  #refused(
    error: WireError,
    origin: RequestOrigin,
    request: DecodedRequest,
    started: number,
    bytesIn: number,
    log = true,
  ): Outcome {
    if (log && this.#ctx.log.enabled("debug")) {
      this.#ctx.log.debug("request refused", {
        protocol: origin.protocol,
        peer: origin.peer,
        id: request.requestId,
        code: error.code,
        error: error.message,
      });
    }
    const reply: Reply = {
      command: Command.ERROR,
      requestId: request.requestId,
      status: error.status,
      error: error.message,
    };
    return this.#finish(origin, request, reply, null, started, bytesIn);
  }

  /** Encodes the reply for the origin's protocol and tells the observer the request's outcome. */
  #finish(
    origin: RequestOrigin,
    request: DecodedRequest,
    reply: Reply,
    result: Inference | null,
    started: number,
    bytesIn: number,
    device: string | null = null,
  ): Outcome {
    // A legacy inference gets the earlier design's fixed 96-byte reply.
    const bytes = origin.protocol === "legacy" && result
      ? encodeLegacyReply(result.scores, result.inferenceMs)
      : encodeReply(reply, origin.protocol === "framed");
    const outcome = { reply, inference: result, bytes };
    const observer = this.#ctx.onRequest;
    if (!observer) return outcome;
    const status = reply.status ?? Status.OK;
    try {
      observer({
        protocol: origin.protocol,
        peer: origin.peer,
        command: request.command,
        requestId: request.requestId,
        status,
        code: statusName(status),
        error: reply.error ?? "",
        digitU8: request.digitU8,
        digit: request.digit,
        predicted: result?.predicted ?? null,
        scores: result?.scores ?? null,
        queueMs: result?.queueMs ?? null,
        inferenceMs: result?.inferenceMs ?? null,
        batchSize: result?.batchSize ?? null,
        modelVersion: result?.modelVersion ?? null,
        totalMs: performance.now() - started,
        device,
        token: request.token,
        model: request.model,
        client: request.client,
        bytesIn,
        bytesOut: bytes.length,
      });
    } catch (e) {
      this.#ctx.log.error("request observer failed", { error: (e as Error).message });
    }
    return outcome;
  }
}

/** The host part of `host:port` (IPv6 hosts keep their colons). */
function hostOf(peer: string): string {
  const colon = peer.lastIndexOf(":");
  return colon > 0 ? peer.slice(0, colon) : peer;
}
