/**
 * `POST /v2/models/{name}[/versions/{version}]/infer`: the HTTP transport's
 * part of an inference and nothing more. It reads the body (limited while
 * read, inflated when compressed), decodes the Open Inference Protocol
 * request against the model served when the body has arrived, and hands the
 * digits to the one request handler as one job; the handler authorizes,
 * admits, routes, runs and observes, and this encodes the outcome.
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
import { Command, type Reply } from "../../shared/codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { bearerToken } from "../auth/bearer.ts";
import type { RequestHandler } from "../core/handler.ts";
import type { Outcome, Protocol, RequestOrigin } from "../core/request.ts";
import type { Inference } from "../engine/job.ts";
import { readBody } from "./body.ts";
import { errorBody, errorHeaders, httpStatusOf } from "./errors.ts";
import {
  encodeInferResponse,
  type InferRequest,
  type ModelInfo,
  parseInferRequest,
} from "./oip.ts";

/** What the infer route needs of the server. */
export interface InferDeps {
  handler: RequestHandler;
  /** What OIP says of the model a route names, or `MODEL_UNAVAILABLE`. */
  model: (name: string, version: string | undefined) => ModelInfo | WireError;
  /** Largest request body, in bytes, after inflating. */
  maxBodyBytes: number;
}

const encoder = new TextEncoder();

/** One HTTP inference as the handler sees its origin: the request is its own lane. */
class HttpInference implements RequestOrigin {
  readonly protocol: Protocol = "http";
  readonly owner = this;
  status = 200;
  headers: Record<string, string> = {};
  parsed: InferRequest | null = null;
  info: ModelInfo | null = null;

  constructor(readonly peer: string) {}

  encode(reply: Reply, results: Inference[] | null): Uint8Array {
    if (results && this.parsed && this.info) {
      const version = String(results[0].modelVersion);
      const encoded = encodeInferResponse(this.parsed, results, { ...this.info, version });
      this.headers = encoded.headers;
      return encoded.body;
    }
    const error = new WireError(reply.status ?? Status.INTERNAL_ERROR, reply.error ?? "");
    this.status = httpStatusOf(error);
    this.headers = errorHeaders(this.status);
    return encoder.encode(errorBody(error));
  }

  /** Answers `error` before the request reaches the handler's queue (counted as refused). */
  refuse(deps: InferDeps, error: WireError, started: number, bytesIn: number): Response {
    return this.respond(deps.handler.refuse(error, this, 0, started, bytesIn));
  }

  respond(outcome: Outcome): Response {
    return new Response(outcome.bytes as Uint8Array<ArrayBuffer>, {
      status: this.status,
      headers: this.headers,
    });
  }
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
  const origin = new HttpInference(peer);
  const body = await readBody(request, deps.maxBodyBytes);
  if (body instanceof WireError) return origin.refuse(deps, body, started, 0);
  // The model is looked up once the body is here: what serves now answers.
  const info = deps.model(name, version);
  if (info instanceof WireError) return origin.refuse(deps, info, started, body.length);
  const parsed = parseInferRequest(
    body,
    request.headers.get("inference-header-content-length"),
    info,
  );
  if (parsed instanceof WireError) return origin.refuse(deps, parsed, started, body.length);
  origin.parsed = parsed;
  origin.info = info;
  const outcome = await deps.handler.handleDecoded(
    {
      command: Command.INFERENCE_INPUT,
      requestId: 0,
      digitU8: parsed.u8,
      digit: parsed.f32,
      digits: parsed.n,
      version: version === undefined ? undefined : Number(version),
      token: bearerToken(request.headers),
      model: name,
      client: request.headers.get("user-agent") ?? "",
      device: "",
      label: parsed.id ?? "",
    },
    origin,
    started,
    body.length,
  );
  return origin.respond(outcome);
}
