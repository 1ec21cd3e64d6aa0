/**
 * `POST /v2/models/{name}[/versions/{version}]/infer`: the HTTP transport's
 * part of an inference and nothing more. It reads the body (limited while
 * read, inflated when compressed) and splits it into the Open Inference
 * Protocol request's JSON and binary parts (`readInferInput`), and hands it
 * to the one request handler (`answerInfer`): the handler authorizes it, then
 * asks this origin to check the tensors against the model served now
 * (`check`: the token first, as on every transport), admits,
 * routes, runs its digits as one job and observes; this encodes the outcome. With
 * `--listeners N` the first half runs in the listener Worker that took the
 * connection and the second on the main thread (`listener_http.ts`).
 *
 * @example
 * ```ts
 * import { inferResponse } from "./infer.ts";
 * import { RequestHandler } from "../core/handler.ts";
 * import { Status, WireError } from "../../shared/errors.ts";
 * import { Logger } from "../log.ts";
 *
 * const unavailable = new WireError(Status.MODEL_UNAVAILABLE, "no model is served");
 * const handler = new RequestHandler({
 *   route: () => unavailable,
 *   stats: () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "", modelVersion: 0 }),
 *   log: new Logger("error"),
 * });
 * const request = new Request("http://x/v2/models/mnist/infer", { method: "POST", body: "{}" });
 * const response = await inferResponse(
 *   { handler, model: () => unavailable, maxBodyBytes: 1 << 20 },
 *   request,
 *   "127.0.0.1:5000",
 *   "mnist",
 * );
 * console.log(response.status); // 404
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { type Reply } from "../../shared/reply_codec.ts";
import { MAX_CLIENT_LENGTH } from "../../shared/device_name.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { bearerToken } from "../auth/bearer.ts";
import type { RequestHandler } from "../core/handler.ts";
import type { RefusedRead } from "../core/refusal.ts";
import type { Peer } from "../auth/authorize.ts";
import { addressOf } from "../fleet/registry.ts";
import type { HandlerRequest, Outcome, Protocol, RequestOrigin } from "../core/request.ts";
import type { Inference } from "../engine/job.ts";
import { type BodyReading, readBody } from "./body.ts";
import { errorBody, errorHeaders, httpStatusOf } from "./errors.ts";
import { safeDecode, unreadableUrl } from "./model_route.ts";
import { ByteSlab } from "../core/byte_slab.ts";
import { checkInferRequest, type InferRequest } from "./oip_request.ts";
import { type ModelInfo } from "./oip_model.ts";
import { encodeGeneralResponse, inferResponseText, JSON_HEADERS } from "./oip_response.ts";
import { type SplitBody, splitBody } from "./oip_request_body.ts";

/** What the infer route needs of the server. */
export interface InferDeps {
  handler: RequestHandler;
  /** What OIP says of the model a route names, or `MODEL_UNAVAILABLE`. */
  model: (name: string, version: string | undefined) => ModelInfo | WireError;
  /** Largest request body, in bytes, after inflating. */
  maxBodyBytes: number;
  /** The body's deadline and memory budget; absent, neither. */
  bodyReading?: BodyReading;
}

/** What the transport read of an infer request: plain data, so a listener Worker can post it. */
export interface InferInput {
  /** The body split into its JSON and binary parts, or why it could not be read or split. */
  split: SplitBody | WireError;
  /** Body bytes read (0 when the body was refused). */
  bytesIn: number;
  /** The bearer token ("" without one) and the `User-Agent`. */
  token: string;
  client: string;
}

/** An HTTP answer as data: status, headers, body. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  /** Text for a plain JSON answer (a `Response` takes a string at a fraction of a buffer's cost), else bytes. */
  body: Uint8Array | string;
}

const encoder = new TextEncoder();

/** Where answers' UTF-8 goes: it is read for its length, then dropped. */
const texts = new ByteSlab(4096);

/**
 * The UTF-8 of an answer's text, for the handler's byte counts: ASCII (the
 * common JSON) goes into a view of a shared slab, anything else its own buffer.
 */
function utf8(text: string): Uint8Array {
  const bytes = texts.take(text.length);
  return encoder.encodeInto(text, bytes).read === text.length ? bytes : encoder.encode(text);
}

/** One HTTP inference as the handler sees its origin: the request is its own lane. */
class HttpInference implements RequestOrigin {
  readonly protocol: Protocol = "http";
  readonly owner = this;
  status = 200;
  headers: Record<string, string> = {};
  parsed: InferRequest | null = null;
  info: ModelInfo | null = null;
  /** The answer as text, when `encode` wrote plain JSON: the body, `bytes` being its UTF-8. */
  text: string | null = null;
  /** Who the authorizer sees: one object from before the body is read to the answer. */
  readonly identity: Peer;

  /**
   * `read`: the body's JSON and binary parts and the model its route names,
   * for `check` (absent for a request refused before the handler).
   */
  constructor(
    readonly peer: string,
    readonly read?: { split: SplitBody; model: () => ModelInfo | WireError },
    identity?: Peer,
  ) {
    this.identity = identity ?? { address: addressOf(peer), protocol: "http" };
  }

  /** Once the handler has authorized the request: its tensors checked against the model. */
  check(request: HandlerRequest): WireError | null {
    if (!this.read) return null;
    const info = this.read.model();
    if (info instanceof WireError) return info;
    const parsed = checkInferRequest(this.read.split, info);
    if (parsed instanceof WireError) return parsed;
    this.parsed = parsed;
    this.info = info;
    request.digitU8 = parsed.u8;
    request.digit = parsed.f32;
    request.digits = parsed.n;
    request.label = parsed.id ?? "";
    return null;
  }

  encode(reply: Reply, results: Inference[] | null): Uint8Array {
    if (results && this.parsed && this.info) {
      const version = String(results[0].modelVersion);
      const model = { ...this.info, version };
      const text = inferResponseText(this.parsed, results, model);
      if (text !== null) {
        this.text = text;
        this.headers = JSON_HEADERS;
        return utf8(text);
      }
      const encoded = encodeGeneralResponse(this.parsed, results, model);
      this.headers = encoded.headers;
      return encoded.body;
    }
    const error = new WireError(reply.status ?? Status.INTERNAL_ERROR, reply.error ?? "");
    this.status = httpStatusOf(error);
    this.headers = errorHeaders(this.status);
    return encoder.encode(errorBody(error));
  }

  /** Answers `error` before the request reaches the handler's queue (counted as refused). */
  refuse(deps: InferDeps, error: WireError, read: RefusedRead): HttpAnswer {
    return this.answer(deps.handler.refuse(error, this, read));
  }

  answer(outcome: Outcome): HttpAnswer {
    return { status: this.status, headers: this.headers, body: this.text ?? outcome.bytes };
  }
}

/** Reads an infer request's body (limited while read) and splits it; nothing here needs the model. */
export async function readInferInput(
  request: Request,
  maxBodyBytes: number,
  reading?: BodyReading,
): Promise<InferInput> {
  const body = await readBody(request, maxBodyBytes, reading);
  const token = bearerToken(request.headers);
  // The fleet keeps a client's name as a board's firmware: as long as a board's may be.
  const client = (request.headers.get("user-agent") ?? "").slice(0, MAX_CLIENT_LENGTH);
  if (body instanceof WireError) return { split: body, bytesIn: 0, token, client };
  const headerLength = request.headers.get("inference-header-content-length");
  return {
    split: splitBody(body, headerLength),
    bytesIn: body.length,
    token,
    client,
  };
}

/**
 * Answers a read infer request through the handler: authorized, then checked
 * against the model served now (the body has arrived), its digits as one job.
 */
export async function answerInfer(
  deps: InferDeps,
  input: InferInput,
  peer: string,
  name: string,
  version: string | undefined,
  started: number,
  identity?: Peer,
): Promise<HttpAnswer> {
  const { split, bytesIn } = input;
  if (split instanceof WireError) {
    return new HttpInference(peer, undefined, identity).refuse(deps, split, {
      started,
      bytesIn,
      token: input.token,
      model: name,
      version: version === undefined ? undefined : Number(version),
    });
  }
  const read = { split, model: () => deps.model(name, version) };
  const origin = new HttpInference(peer, read, identity);
  const outcome = await deps.handler.handleDecoded(
    {
      command: Command.INFERENCE_INPUT,
      requestId: 0,
      digitU8: null,
      digit: null,
      version: version === undefined ? undefined : Number(version),
      token: input.token,
      model: name,
      client: input.client,
      device: "",
    },
    origin,
    started,
    bytesIn,
  );
  return origin.answer(outcome);
}

/** An infer's path in a URL that cannot be parsed: its model and version. */
const UNREADABLE_INFER = /\/v2\/models\/([^/?#]+)(?:\/versions\/([^/?#]+))?\/infer\/*(?:[?#]|$)/;

/**
 * The answer to a request whose URL cannot be read (`unreadableUrl`: its
 * `Host` header makes none), or null when it can, whichever thread took it.
 * An inference (a POST to `/v2/models/{m}[/versions/{v}]/infer`) is refused
 * through the handler and observed as any unreadable request is; any other request gets
 * the same 400 unobserved, as a wrong route's 404 is.
 */
export function answerUnreadable(
  deps: InferDeps,
  method: string,
  url: string,
  peer: string,
): HttpAnswer | null {
  const error = unreadableUrl(url);
  if (!error) return null;
  const infer = method === "POST" ? UNREADABLE_INFER.exec(url) : null;
  if (infer) {
    // Counted against the model its path names, when that one is served.
    const [, model, version] = infer.map((part) => part && safeDecode(part));
    const pinned = version === undefined ? undefined : Number(version);
    return new HttpInference(peer).refuse(deps, error, { model, version: pinned });
  }
  const status = httpStatusOf(error);
  return { status, headers: errorHeaders(status), body: errorBody(error) };
}

/** An answer as a `Response`. */
export function responseOf({ status, headers, body }: HttpAnswer): Response {
  return new Response(body as string | Uint8Array<ArrayBuffer>, { status, headers });
}

/** Answers one infer request through the handler. */
export async function inferResponse(
  deps: InferDeps,
  request: Request,
  peer: string,
  name: string,
  version?: string,
): Promise<Response> {
  const started = performance.now();
  // A token the handler would refuse is refused before the body is read: an
  // unauthorized client holds none of the bodies' memory budget.
  const origin = new HttpInference(peer);
  const token = bearerToken(request.headers);
  const unauthorized = deps.handler.unauthorized(token, origin);
  if (unauthorized) {
    const pinned = version === undefined ? undefined : Number(version);
    return responseOf(
      origin.refuse(deps, unauthorized, { started, token, model: name, version: pinned }),
    );
  }
  const input = await readInferInput(request, deps.maxBodyBytes, deps.bodyReading);
  return responseOf(
    await answerInfer(deps, input, peer, name, version, started, origin.identity),
  );
}
