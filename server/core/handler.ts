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
 * The decisions are here; the parts they call: `identify.ts` (who sent the
 * request), `outcome.ts` (the reply, encoded, and the observer's event),
 * `code_update.ts` (a board's code update requests), `_submit.ts` (queueing
 * a routed request and answering when its inference ends).
 *
 * @example
 * ```ts
 * import { RequestHandler } from "./handler.ts";
 * import { Command } from "../../shared/codec.ts";
 * import { encodeRequest } from "../../shared/request_codec.ts";
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
import { Command } from "../../shared/codec.ts";
import { decodeRequest, peekModel, peekRequestId, peekToken } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import type { InferenceQueue } from "../engine/queue.ts";
import { answerUpdate } from "./code_update.ts";
import { DigitCopies } from "./digit_copies.ts";
import { addressOf } from "../fleet/registry.ts";
import { identify, namingError, remember } from "./identify.ts";
import { finish, refused, unproved } from "./outcome.ts";
import { type RefusedRead, tokenRefusal, transportRefusal } from "./refusal.ts";
import type {
  HandlerContext,
  HandlerRequest,
  Outcome,
  OutcomeCallback,
  RequestOrigin,
} from "./request.ts";
import { submit } from "./_submit.ts";

/** Answers requests for every transport. */
export class RequestHandler {
  #ctx: HandlerContext;
  #copies = new DigitCopies();

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
   * engine, and no promise, `then` or closure is made. `started`: when the
   * message arrived (a transport that read several at once reads the clock
   * once for them all).
   */
  handleWith<C>(
    message: Uint8Array,
    origin: RequestOrigin,
    done: OutcomeCallback<C>,
    context: C,
    started: number = performance.now(),
  ): void {
    // What came over the wire: the message and, framed, its 4-byte length.
    const bytesIn = message.length + (origin.protocol === "framed" ? 4 : 0);
    const request = decodeRequest(message);
    // Legacy is the command and the digit alone (protocol.md): any string a
    // legacy message carries is not read, so it always gets the default model.
    const legacy = origin.protocol === "legacy";
    if (request instanceof WireError) {
      return done(
        context,
        this.refuse(request, origin, {
          requestId: peekRequestId(message),
          token: legacy ? "" : peekToken(message),
          // Counted against the model it names, when served (as HTTP's route names one).
          model: legacy ? "" : peekModel(message),
          started,
          bytesIn,
        }),
      );
    }
    if (legacy) {
      request.token =
        request.model =
        request.client =
        request.device =
          "";
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
    // Refused once its token is read (so it counts against a device it proves), but never kept.
    const badField = namingError(request);
    if (!badField && origin.session) remember(request, origin.session);
    const auth = this.#ctx.auth;
    if (auth) {
      const identity = origin.identity ??
        { address: addressOf(origin.peer), protocol: origin.protocol };
      const verdict = auth.authorize(request, identity);
      if (verdict instanceof WireError) {
        return done(context, refused(this.#ctx, verdict, origin, request, started, bytesIn));
      }
      device = verdict.device;
      if (device !== null && origin.device !== undefined && device !== origin.device) {
        const error = new WireError(
          Status.UNAUTHORIZED,
          `the token is device ${JSON.stringify(device)}'s, not ${JSON.stringify(origin.device)}'s`,
        );
        return done(context, refused(this.#ctx, error, origin, request, started, bytesIn, device));
      }
    }
    device ??= unproved(this.#ctx, origin);
    if (badField) {
      return done(context, refused(this.#ctx, badField, origin, request, started, bytesIn, device));
    }
    const unchecked = origin.check?.(request) ?? null;
    if (unchecked) {
      return done(
        context,
        refused(this.#ctx, unchecked, origin, request, started, bytesIn, device),
      );
    }
    if (request.command === Command.CODE_CHUNK || request.command === Command.UPDATE_REPORT) {
      return done(context, answerUpdate(this.#ctx, request, origin, started, bytesIn, device));
    }
    if (request.command === Command.GET_STATS) {
      const reply = {
        command: Command.GET_STATS,
        requestId: request.requestId,
        stats: this.#ctx.stats(),
      };
      return done(
        context,
        finish(this.#ctx, origin, request, reply, null, "", started, bytesIn, device),
      );
    }
    const job = request.digits !== undefined;
    const unadmitted = job ? null : origin.admit?.() ?? null;
    if (unadmitted) {
      return done(
        context,
        refused(this.#ctx, unadmitted, origin, request, started, bytesIn, device),
      );
    }
    // A canary routes by the device's id in the fleet: worked out only while one runs.
    const deviceId = this.#ctx.byDevice?.()
      ? identify(request, origin, device).deviceId
      : undefined;
    const queue = this.#route(request, deviceId);
    if (queue instanceof WireError) {
      if (!job) origin.release?.();
      return done(context, refused(this.#ctx, queue, origin, request, started, bytesIn, device));
    }
    // The digits may be a view into a transport's buffer that is reused
    // before the inference ends: one copy serves the queue and an observer,
    // which only reads it. (A job's digits are its transport's own copy.)
    const copied = !job && request.digitU8 !== null;
    if (copied) request.digitU8 = this.#copies.copy(request.digitU8!);
    // One object waits for the engine: what the answer needs, and who is told.
    submit(
      { ctx: this.#ctx, origin, request, queue, started, bytesIn, device, done, context },
      copied,
    );
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

  /** Whether device tokens are on: a request's token is authorized before its body is read. */
  get tokensOn(): boolean {
    return this.#ctx.auth?.tokensOn ?? false;
  }

  /**
   * The refusal its token alone decides for a request from `origin`, else
   * null: asked by a transport before it reads a body the handler would
   * refuse anyway (HTTP's), so an unauthorized client holds no memory
   * (`refusal.ts`).
   */
  unauthorized(token: string, origin: RequestOrigin): WireError | null {
    return tokenRefusal(this.#ctx, token, origin);
  }

  /**
   * The error reply to a request the transport or the decoder refused; logged
   * and observed (`refusal.ts`): `read` is what the transport could read
   * beside the refused part.
   */
  refuse(error: WireError, origin: RequestOrigin, read: RefusedRead = {}): Outcome {
    return transportRefusal(this.#ctx, error, origin, read);
  }
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
