/**
 * The one request path every transport calls: the board port's legacy and
 * framed messages, HTTP's Open Inference Protocol requests, and whatever
 * comes next. A transport turns its bytes into a decoded request and the
 * outcome back into bytes; everything between is here: authorize (device
 * tokens, legacy policy), admit (the connection's share; the queue's budget
 * of `--max-queued` digits over every transport), route to one model
 * version, run, observe (debug log, and the `onRequest` observer that
 * metrics, the dashboard and `--capture` subscribe to), and map every
 * failure to a status.
 *
 * A request of several digits (an HTTP batch) is one job: admitted or
 * refused whole, and answered whole by one model version.
 *
 * @example
 * ```ts
 * import { RequestHandler } from "./handler.ts";
 * import { Command, encodeRequest } from "../../shared/codec.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 * import { Logger } from "../log.ts";
 *
 * const handler = new RequestHandler({
 *   route: () => new WireError(Status.MODEL_UNAVAILABLE, "no model is loaded"),
 *   stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "", modelVersion: 0 }),
 *   log: new Logger("error"),
 * });
 * const digitU8 = new Uint8Array(784);
 * const message = encodeRequest({ command: Command.INFERENCE_INPUT, requestId: 7, digitU8 }, false);
 * const outcome = await handler.handle(message, { protocol: "legacy", peer: "10.0.0.7:5123" });
 * console.log(outcome.reply.status === Status.MODEL_UNAVAILABLE); // true
 * ```
 * @module
 */
import {
  Command,
  decodeRequest,
  DIGIT_PIXELS,
  encodeLegacyReply,
  encodeReply,
  peekRequestId,
  type Reply,
} from "../../shared/codec.ts";
import { Status, statusName, WireError } from "../../shared/errors.ts";
import type { Inference, InferenceQueue } from "../engine/queue.ts";
import { addressOf, type IdentifiedBy } from "../fleet/registry.ts";
import type { HandlerContext, HandlerRequest, Outcome, RequestOrigin } from "./request.ts";

/** Answers requests for every transport. */
export class RequestHandler {
  #ctx: HandlerContext;

  constructor(ctx: HandlerContext) {
    this.#ctx = ctx;
  }

  /** Decodes one message (a frame's payload or a whole legacy message) and answers it. */
  handle(message: Uint8Array, origin: RequestOrigin): Outcome | Promise<Outcome> {
    return settled((done, context) => this.handleWith(message, origin, done, context));
  }

  /**
   * `handle` without a promise: `done(context, outcome)` is called once, at
   * once (a refusal, stats) or when the inference ends. A board's connection
   * answers every frame this way: per request one object waits for the
   * engine, and no promise, `then` or closure is made.
   */
  handleWith<C>(
    message: Uint8Array,
    origin: RequestOrigin,
    done: OutcomeCallback<C>,
    context: C,
  ): void {
    const started = performance.now();
    // What came over the wire: the message and, framed, its 4-byte length.
    const bytesIn = message.length + (origin.protocol === "framed" ? 4 : 0);
    const request = decodeRequest(message);
    if (request instanceof WireError) {
      return done(context, this.refuse(request, origin, peekRequestId(message), started, bytesIn));
    }
    this.handleDecodedWith(
      request,
      origin,
      started,
      bytesIn,
      done as OutcomeCallback<unknown>,
      context,
    );
  }

  /** Answers a request already decoded (by an HTTP route, say). */
  handleDecoded(
    request: HandlerRequest,
    origin: RequestOrigin,
    started = performance.now(),
    bytesIn = 0,
  ): Outcome | Promise<Outcome> {
    return settled((done, context) =>
      this.handleDecodedWith(
        request,
        origin,
        started,
        bytesIn,
        done as OutcomeCallback<unknown>,
        context,
      )
    );
  }

  /**
   * The one function every request passes through, whatever its transport:
   * authorizes, admits, routes and queues a decoded request; `done(context,
   * outcome)` is called once, at once or when its inference ends.
   */
  handleDecodedWith(
    request: HandlerRequest,
    origin: RequestOrigin,
    started: number,
    bytesIn: number,
    done: OutcomeCallback<unknown>,
    context: unknown,
  ): void {
    let device: string | null = null;
    // The firmware pads its serial with spaces to the token's 32 characters.
    if (request.device) request.device = request.device.trimEnd();
    if (request.device && !validDeviceId(request.device)) {
      const error = new WireError(
        Status.MALFORMED_BUFFER,
        'the device field must be 1 to 64 printable ASCII characters, not starting with "addr:"',
      );
      return done(context, this.#refused(error, origin, request, started, bytesIn));
    }
    const auth = this.#ctx.auth;
    if (auth) {
      const identity = origin.identity ??
        { address: hostOf(origin.peer), protocol: origin.protocol };
      const verdict = auth.authorize(request, identity);
      if (verdict instanceof WireError) {
        return done(context, this.#refused(verdict, origin, request, started, bytesIn));
      }
      device = verdict.device;
      if (device !== null && origin.device !== undefined && device !== origin.device) {
        const error = new WireError(
          Status.UNAUTHORIZED,
          `the token is device ${JSON.stringify(device)}'s, not ${JSON.stringify(origin.device)}'s`,
        );
        return done(context, this.#refused(error, origin, request, started, bytesIn));
      }
    }
    device ??= origin.device ?? null;
    if (request.command === Command.CODE_CHUNK || request.command === Command.UPDATE_REPORT) {
      return done(context, this.#update(request, origin, started, bytesIn, device));
    }
    if (request.command === Command.GET_STATS) {
      const reply = {
        command: Command.GET_STATS,
        requestId: request.requestId,
        stats: this.#ctx.stats(),
      };
      return done(
        context,
        this.#finish(origin, request, reply, null, "", started, bytesIn, device),
      );
    }
    const job = request.digits !== undefined;
    const refused = job ? null : origin.admit?.() ?? null;
    if (refused) return done(context, this.#refused(refused, origin, request, started, bytesIn));
    // A canary routes by the device's id in the fleet: worked out only while one runs.
    const deviceId = this.#ctx.byDevice?.()
      ? identify(request, origin, device).deviceId
      : undefined;
    const queue = this.#route(request, deviceId);
    if (queue instanceof WireError) {
      if (!job) origin.release?.();
      return done(context, this.#refused(queue, origin, request, started, bytesIn));
    }
    // The digits may be a view into a transport's buffer that is reused
    // before the inference ends: one copy serves the queue and an observer,
    // which only reads it. (A job is copied by the queue.)
    const copied = !job && request.digitU8 !== null && this.#ctx.onRequest !== undefined;
    if (copied) request.digitU8 = request.digitU8!.slice(0, DIGIT_PIXELS);
    const model = queue.model;
    if (job) {
      const results = queue.submitJob(
        request.digits!,
        request.digitU8,
        request.digit,
        origin.owner,
        request.version,
      );
      if (results instanceof WireError) {
        return done(context, this.#refused(results, origin, request, started, bytesIn));
      }
      results.then(
        (all) => done(context, this.#served(origin, request, all, model, started, bytesIn, device)),
        (error: WireError) => done(context, this.#failed(error, origin, request, started, bytesIn)),
      );
      return;
    }
    // One object waits for the engine: what the answer needs, and who is told.
    const waiting: Waiting = {
      handler: this,
      origin,
      request,
      model,
      started,
      bytesIn,
      device,
      done,
      context,
    };
    const inference = queue.submitWith(
      request.digitU8,
      request.digit,
      origin.owner,
      copied,
      RequestHandler.#answered,
      waiting,
    );
    if (inference instanceof WireError) {
      origin.release?.();
      done(context, this.#refused(inference, origin, request, started, bytesIn));
    }
  }

  /** A queued digit's answer or error: released from the connection's share, then told. */
  static #answered(w: Waiting, result: Inference | WireError): void {
    w.origin.release?.();
    const self = w.handler;
    w.done(
      w.context,
      result instanceof WireError
        ? self.#failed(result, w.origin, w.request, w.started, w.bytesIn)
        : self.#served(w.origin, w.request, [result], w.model, w.started, w.bytesIn, w.device),
    );
  }

  /**
   * A chunk request or an update report (framed and MQTT boards only, from a
   * device with an id of its own): the chunk, or an empty OK.
   */
  #update(
    request: HandlerRequest,
    origin: RequestOrigin,
    started: number,
    bytesIn: number,
    device: string | null,
  ): Outcome {
    const refuse = (error: WireError) => this.#refused(error, origin, request, started, bytesIn);
    if (origin.protocol !== "framed" && origin.protocol !== "mqtt") {
      return refuse(
        new WireError(Status.UNKNOWN_COMMAND, "code updates travel over framed and MQTT requests"),
      );
    }
    const updates = this.#ctx.updates;
    if (!updates) {
      return refuse(
        new WireError(Status.UPDATE_UNAVAILABLE, "this server holds no releases (--firmware-dir)"),
      );
    }
    const who = identify(request, origin, device);
    if (who.by === "address") {
      return refuse(
        new WireError(Status.UPDATE_UNAVAILABLE, "code updates need a device id or a token"),
      );
    }
    // A chunk, or null for a report taken.
    const answer = request.command === Command.CODE_CHUNK
      ? updates.chunk(who.deviceId, request.chunk!)
      : updates.report(who.deviceId, request.update!, request.error ?? "");
    if (answer instanceof WireError) return refuse(answer);
    const reply: Reply = { command: request.command, requestId: request.requestId };
    if (answer) reply.chunk = answer;
    return this.#finish(origin, request, reply, null, "", started, bytesIn, device);
  }

  /** The queue of the request's model (for its device), if it serves the version asked for. */
  #route(request: HandlerRequest, deviceId: string | undefined): InferenceQueue | WireError {
    const queue = this.#ctx.route(request.model, request.version, deviceId);
    if (queue instanceof WireError || !request.version) return queue;
    const serves = queue.engineSet.version;
    if (serves === request.version) return queue;
    return new WireError(
      Status.MODEL_UNAVAILABLE,
      `model ${JSON.stringify(queue.model)} has no version ${request.version} serving; ` +
        `it serves version ${serves}`,
    );
  }

  #served(
    origin: RequestOrigin,
    request: HandlerRequest,
    results: Inference[],
    model: string,
    started: number,
    bytesIn: number,
    device: string | null,
  ): Outcome {
    const first = results[0];
    const reply: Reply = {
      command: Command.INFERENCE_OUTPUT,
      requestId: request.requestId,
      scores: first.scores,
      predicted: first.predicted,
      inferenceMs: first.inferenceMs,
      queueMs: first.queueMs,
      batchSize: first.batchSize,
      modelVersion: first.modelVersion,
    };
    // An offer rides on a board's inference reply (never legacy's fixed 96 bytes, nor HTTP's).
    const updates = this.#ctx.updates;
    const board = origin.protocol === "framed" || origin.protocol === "mqtt";
    if (updates && board && request.digits === undefined) {
      const who = identify(request, origin, device);
      const token = this.#ctx.auth?.tokensOn ? request.token : "";
      if (who.by !== "address") reply.update = updates.offer(who.deviceId, who.firmware, token);
    }
    if (this.#ctx.log.enabled("debug")) {
      this.#ctx.log.debug("inference", {
        protocol: origin.protocol,
        peer: origin.peer,
        // The fleet's id: the token's name, else the board's own (this request's or its connection's).
        device: device ?? (request.device || origin.session?.device || undefined),
        id: request.label || request.requestId,
        model,
        version: first.modelVersion,
        digits: results.length,
        predicted: results.length === 1
          ? first.predicted
          : results.map((r) => r.predicted).join(""),
        batch: first.batchSize,
        queue_ms: first.queueMs.toFixed(3),
        run_ms: first.inferenceMs.toFixed(3),
      });
    }
    return this.#finish(origin, request, reply, results, model, started, bytesIn, device);
  }

  #failed(
    error: WireError,
    origin: RequestOrigin,
    request: HandlerRequest,
    started: number,
    bytesIn: number,
  ): Outcome {
    // A version a swap overtook is the client's to retry; an engine failure is logged.
    if (error.status === Status.INTERNAL_ERROR) {
      this.#ctx.log.error("inference failed", {
        protocol: origin.protocol,
        peer: origin.peer,
        code: error.code,
        error: error.message,
      });
    }
    return this.#refused(
      error,
      origin,
      request,
      started,
      bytesIn,
      error.status !== Status.INTERNAL_ERROR,
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
    const request: HandlerRequest = {
      command: -1,
      requestId,
      digit: null,
      digitU8: null,
      token: "",
      model: "",
      client: "",
      device: "",
    };
    return this.#refused(error, origin, request, started, bytesIn);
  }

  #refused(
    error: WireError,
    origin: RequestOrigin,
    request: HandlerRequest,
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
    return this.#finish(origin, request, reply, null, "", started, bytesIn);
  }

  /** Encodes the reply for the origin's protocol and tells the observer the request's outcome. */
  #finish(
    origin: RequestOrigin,
    request: HandlerRequest,
    reply: Reply,
    results: Inference[] | null,
    model: string,
    started: number,
    bytesIn: number,
    device: string | null = origin.device ?? null,
  ): Outcome {
    const result = results?.[0] ?? null;
    // A legacy inference gets the fixed 96-byte reply the legacy protocol defines.
    const bytes = origin.encode
      ? origin.encode(reply, results)
      : origin.protocol === "legacy" && result
      ? encodeLegacyReply(result.scores, result.inferenceMs)
      : encodeReply(reply, origin.protocol === "framed");
    const outcome = { reply, results, bytes };
    const observer = this.#ctx.onRequest;
    if (!observer) return outcome;
    const { deviceId, by, firmware } = identify(request, origin, device);
    const status = reply.status ?? Status.OK;
    let version = result?.modelVersion ?? null;
    if (status !== Status.OK && isInference(request.command)) {
      // A refused inference counts against the model it was for, when that
      // model is served (never a name a client made up).
      const queue = this.#ctx.route(request.model);
      if (!(queue instanceof WireError)) {
        model = queue.model;
        version = queue.engineSet.version;
      }
    }
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
        digits: request.digitU8 || request.digit ? request.digits ?? 1 : 0,
        results,
        modelName: model,
        predicted: result?.predicted ?? null,
        scores: result?.scores ?? null,
        queueMs: result?.queueMs ?? null,
        inferenceMs: result?.inferenceMs ?? null,
        batchSize: result?.batchSize ?? null,
        modelVersion: version,
        totalMs: performance.now() - started,
        device,
        deviceId,
        identifiedBy: by === "token" && !this.#ctx.auth?.tokensOn ? "device" : by,
        firmware,
        token: request.token,
        model: request.model,
        client: request.client,
        label: request.label ?? "",
        bytesIn,
        bytesOut: bytes.length,
      });
    } catch (e) {
      this.#ctx.log.error("request observer failed", { error: (e as Error).message });
    }
    return outcome;
  }
}

/** Told once a request's outcome; `context` is the caller's, passed through. */
export type OutcomeCallback<C> = (context: C, outcome: Outcome) => void;

/** A digit waiting for its inference: what its answer needs. */
interface Waiting {
  handler: RequestHandler;
  origin: RequestOrigin;
  request: HandlerRequest;
  model: string;
  started: number;
  bytesIn: number;
  device: string | null;
  done: OutcomeCallback<unknown>;
  context: unknown;
}

/** The outcome `start` reports: itself when reported at once, else its promise. */
function settled(
  start: (done: OutcomeCallback<unknown>, context: unknown) => void,
): Outcome | Promise<Outcome> {
  let now: Outcome | null = null;
  let resolve: ((outcome: Outcome) => void) | null = null;
  start((_, outcome) => resolve ? resolve(outcome) : now = outcome, null);
  return now ?? new Promise<Outcome>((r) => resolve = r);
}

/** Whether a command asks for an inference (or may have: -1 is a message that could not be read). */
export function isInference(command: number): boolean {
  return command !== Command.GET_STATS && command !== Command.CODE_CHUNK &&
    command !== Command.UPDATE_REPORT;
}

/**
 * The device's id in the fleet (the token's name, else its `device` field,
 * else `addr:<address>`) and firmware. The firmware sends `device` and
 * `client` on a connection's first request only: the session keeps them.
 */
function identify(
  request: HandlerRequest,
  origin: RequestOrigin,
  device: string | null,
): { deviceId: string; by: IdentifiedBy; firmware: string } {
  const session = origin.session;
  let deviceField = request.device;
  let firmware = request.client;
  if (session) {
    if (deviceField && validDeviceId(deviceField)) session.device = deviceField;
    else deviceField = session.device;
    if (firmware) session.client = firmware;
    else firmware = session.client;
  }
  if (device !== null) return { deviceId: device, by: "token", firmware };
  if (deviceField) return { deviceId: deviceField, by: "device", firmware };
  return { deviceId: "addr:" + addressOf(origin.peer), by: "address", firmware };
}

/** A `device` field the fleet can key by: short, printable, never a server-made `addr:` id. */
function validDeviceId(id: string): boolean {
  return id.length <= 64 && /^[\x21-\x7e][\x20-\x7e]*$/.test(id) && !id.startsWith("addr:");
}

/** The host part of `host:port` (IPv6 hosts keep their colons). */
function hostOf(peer: string): string {
  const colon = peer.lastIndexOf(":");
  return colon > 0 ? peer.slice(0, colon) : peer;
}
