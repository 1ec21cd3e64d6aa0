/**
 * The HTTP port (`Deno.serve`): the Open Inference Protocol (KServe v2)
 * routes, `GET /metrics` for Prometheus, and the live dashboard at `GET /`
 * with its JSON at `GET /dashboard.json`. Inference goes through the same
 * `InferenceQueue` as the boards, so an HTTP digit and a board's digit can
 * share a run.
 *
 * Errors are `{"error": "<CODE>: sentence"}` with the wire's codes: 400 bad
 * input, 404 unknown model or route, 405 wrong method, 413 a body over
 * `maxBodyBytes`, 503 a full queue, 500 the engine failed. Only inference
 * requests are reported to the monitor (probes and scrapes would drown it).
 *
 * @example
 * ```ts ignore
 * import { startHttp } from "./http.ts";
 *
 * const http = startHttp(deps, { hostname: "127.0.0.1", port: 0 });
 * console.log(http.addr.port);
 * await http.shutdown();
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";
import { type Access, deniedResponse } from "../auth/access.ts";
import type { Inference } from "../engine/queue.ts";
import type { Logger } from "../log.ts";
import { addressOf } from "../monitor/devices.ts";
import type { DigitSeen, Monitor } from "../monitor/monitor.ts";
import { DASHBOARD_HTML } from "./dashboard.ts";
import {
  encodeInferResponse,
  type InferRequest,
  modelConfig,
  type ModelInfo,
  modelMetadata,
  parseInferRequest,
} from "./oip.ts";

/** A model the HTTP port can serve: its queue and what OIP says of it. */
export interface HttpModel {
  queue: {
    submit(
      digitU8: ArrayLike<number> | null,
      digit: ArrayLike<number> | null,
      owner?: unknown,
    ): Promise<Inference> | WireError;
  };
  info: ModelInfo;
}

/** What the HTTP port serves from. */
export interface HttpDeps {
  /**
   * The model `/v2/models/{name}[/versions/{version}]` names, or why it
   * cannot serve (a sentence: `MODEL_UNAVAILABLE`, 404).
   */
  models: (name: string, version: string | undefined) => HttpModel | string;
  /** More routes tried before the 404 (the repository extension); null: not theirs. */
  extraRoutes?: (request: Request) => Promise<Response> | null;
  /** 200 on `/v2/health/ready` (model loaded, an engine answers, not draining). */
  ready(): boolean;
  monitor: Monitor;
  log: Logger;
  /** The server's name and version for `GET /v2`. */
  server: { name: string; version: string };
  /** Largest request body, in bytes (default 4 MiB: a full batch of FP32 JSON fits). */
  maxBodyBytes?: number;
  /**
   * With tokens on: the device a request's `Authorization: Bearer` token
   * names, or an `UNAUTHORIZED` error (401). Asked for infer; absent,
   * infer is open.
   */
  authorize?: (request: Request, address: string) => { device: string | null } | WireError;
  /** Who may read `/dashboard.json` and scrape `/metrics`; absent, both are open. */
  access?: Access;
}

/** A running HTTP port. */
export interface HttpListener {
  addr: Deno.NetAddr;
  /** Stops accepting and answers what is in flight. */
  shutdown(): Promise<void>;
  finished: Promise<void>;
}

/** Where and how to listen. */
export interface HttpOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this PEM certificate chain and key. */
  tls?: { cert: string; key: string };
}

const JSON_TYPE = { "content-type": "application/json" };

/** An error body with its HTTP status. */
export function errorResponse(
  httpStatus: number,
  error: WireError,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error: error.toString() }), {
    status: httpStatus,
    headers: { ...JSON_TYPE, ...headers },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_TYPE });
}

/** The HTTP status for a wire error. */
export function httpStatusOf(error: WireError): number {
  switch (error.status) {
    case Status.SERVER_BUSY:
      return 503;
    case Status.FRAME_TOO_LARGE:
      return 413;
    case Status.MODEL_UNAVAILABLE:
      return 404;
    case Status.UNAUTHORIZED:
      return 401;
    case Status.INTERNAL_ERROR:
      return 500;
    default:
      return 400;
  }
}

/** Reads a body up to `max` bytes; a longer one is a `FRAME_TOO_LARGE` error. */
async function readBody(request: Request, max: number): Promise<Uint8Array | WireError> {
  const tooLarge = (size: string) =>
    new WireError(Status.FRAME_TOO_LARGE, `the body is ${size} bytes; the limit is ${max}`);
  const length = request.headers.get("content-length");
  const declared = length === null ? NaN : Number(length);
  if (declared > max) return tooLarge(String(declared));
  if (!request.body) return new Uint8Array(0);
  // A declared length within the limit is read in one go, cheaper than chunk by chunk.
  if (declared >= 0) return new Uint8Array(await request.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.length;
    if (size > max) return tooLarge(`over ${max}`);
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return body;
}

/** A 401 with the bearer challenge. */
function unauthorized(error: WireError): Response {
  return errorResponse(401, error, { "www-authenticate": 'Bearer realm="mnist"' });
}

/** A path segment without its %-escapes (as it came, when they are malformed). */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Routes one request; `infer` does the inference route. */
function route(
  deps: HttpDeps,
  request: Request,
  peer: string,
  received: number,
): Response | Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const method = request.method === "HEAD" ? "GET" : request.method;
  const only = (allowed: string, respond: () => Response | Promise<Response>) => {
    if (method === allowed) return respond();
    return errorResponse(
      405,
      new WireError(
        Status.UNKNOWN_COMMAND,
        `${path} takes ${allowed}, not ${request.method}`,
      ),
      { allow: allowed === "GET" ? "GET, HEAD" : allowed },
    );
  };
  const health = (ok: boolean) => new Response(null, { status: ok ? 200 : 503 });
  switch (path) {
    case "/":
      return only("GET", () =>
        new Response(DASHBOARD_HTML, {
          headers: { "content-type": "text/html; charset=utf-8" },
        }));
    case "/dashboard.json":
      return only("GET", () => {
        const denied = deps.access?.view(request.headers);
        return denied ? deniedResponse(denied) : json(deps.monitor.snapshot());
      });
    case "/metrics":
      return only("GET", async () => {
        const denied = deps.access?.metrics(request.headers);
        if (denied) return deniedResponse(denied);
        return new Response(await deps.monitor.metrics.expose(), {
          headers: { "content-type": deps.monitor.metrics.contentType },
        });
      });
    case "/v2":
      return only("GET", () =>
        json({
          name: deps.server.name,
          version: deps.server.version,
          extensions: ["binary_tensor_data"],
        }));
    case "/v2/health/live":
      return only("GET", () => health(true));
    case "/v2/health/ready":
      return only("GET", () => health(deps.ready()));
  }
  const model = path.match(
    /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/config|\/infer)?$/,
  );
  const extra = model ? null : deps.extraRoutes?.(request);
  if (extra) return extra;
  if (!model) {
    return errorResponse(
      404,
      new WireError(Status.UNKNOWN_COMMAND, `no route ${request.method} ${url.pathname}`),
    );
  }
  const [, name, version, action] = model.map((part) => part && safeDecode(part));
  const served = deps.models(name, version);
  if (action === "/infer") {
    return only("POST", () => infer(deps, request, peer, received, served));
  }
  if (typeof served === "string") {
    return errorResponse(404, new WireError(Status.MODEL_UNAVAILABLE, served));
  }
  if (action === "/ready") return only("GET", () => health(deps.ready()));
  if (action === "/config") return only("GET", () => json(modelConfig(served.info)));
  return only("GET", () => json(modelMetadata(served.info)));
}

/** The request's last 16 digits with their answers, for the dashboard. */
function samplesOf(request: InferRequest | null, results: Inference[]): DigitSeen[] {
  if (!request) return [];
  const samples: DigitSeen[] = [];
  for (let i = Math.max(0, results.length - 16); i < results.length; i++) {
    const at = i * 784;
    const r = results[i];
    samples.push({
      digitU8: request.u8?.subarray(at, at + 784) ?? null,
      digit: request.f32?.subarray(at, at + 784) ?? null,
      predicted: r.predicted,
      score: r.scores[r.predicted],
    });
  }
  return samples;
}

/** `POST /v2/models/{name}/infer`: each digit goes through the queue; answers when all are done. */
async function infer(
  deps: HttpDeps,
  request: Request,
  peer: string,
  received: number,
  served: HttpModel | string,
): Promise<Response> {
  let bytesIn = 0;
  let parsed: InferRequest | null = null;
  let device: string | null = null;
  const finish = (
    response: Response,
    bodyLength: number,
    error: WireError | null,
    results: Inference[] = [],
  ): Response => {
    let queueMs = 0, computeMs = 0;
    for (const r of results) {
      queueMs = Math.max(queueMs, r.queueMs);
      computeMs = Math.max(computeMs, r.inferenceMs);
    }
    deps.monitor.request({
      protocol: "http",
      inference: true,
      status: error ? error.status : Status.OK,
      digits: results.length,
      durationMs: performance.now() - received,
      queueMs,
      computeMs,
      bytesIn,
      bytesOut: bodyLength,
      peer,
      device,
      client: request.headers.get("user-agent"),
      error: error?.message,
      id: parsed?.id,
      samples: samplesOf(parsed, results),
    });
    return response;
  };
  const fail = (error: WireError, results?: Inference[]) => {
    const response = error.status === Status.UNAUTHORIZED
      ? unauthorized(error)
      : errorResponse(httpStatusOf(error), error);
    return finish(response, error.toString().length + 12, error, results);
  };
  const verdict = deps.authorize?.(request, addressOf(peer));
  if (verdict instanceof WireError) return fail(verdict);
  device = verdict?.device ?? null;
  if (typeof served === "string") return fail(new WireError(Status.MODEL_UNAVAILABLE, served));
  const max = deps.maxBodyBytes ?? 4 * 1024 * 1024;
  let body: Uint8Array | WireError;
  try {
    body = await readBody(request, max);
  } catch (e) {
    return fail(
      new WireError(Status.MALFORMED_BUFFER, `the body could not be read: ${(e as Error).message}`),
    );
  }
  if (body instanceof WireError) return fail(body);
  bytesIn = body.length;
  const checked = parseInferRequest(
    body,
    request.headers.get("inference-header-content-length"),
    served.info,
  );
  if (checked instanceof WireError) return fail(checked);
  parsed = checked;
  const pending: Promise<Inference>[] = [];
  for (let i = 0; i < checked.n; i++) {
    const at = i * 784;
    // The request owns its digits: a batch of N waits in its own lane, beside the boards'.
    const submitted = served.queue.submit(
      checked.u8?.subarray(at, at + 784) ?? null,
      checked.f32?.subarray(at, at + 784) ?? null,
      request,
    );
    if (submitted instanceof WireError) {
      // Digits already queued still run; their answers are dropped.
      for (const p of pending) p.catch(() => {});
      return fail(submitted);
    }
    pending.push(submitted);
  }
  let results: Inference[];
  try {
    results = await Promise.all(pending);
  } catch (e) {
    const error = e instanceof WireError
      ? e
      : new WireError(Status.INTERNAL_ERROR, `inference failed: ${(e as Error).message}`);
    return fail(error);
  }
  // The version that answered: a swap may have happened since the route was resolved.
  const version = String(results[0]?.modelVersion ?? served.info.version);
  const encoded = encodeInferResponse(checked, results, { ...served.info, version });
  const response = new Response(encoded.body as Uint8Array<ArrayBuffer>, {
    headers: encoded.headers,
  });
  return finish(response, encoded.body.length, null, results);
}

/** Starts the HTTP port. */
export function startHttp(deps: HttpDeps, options: HttpOptions): HttpListener {
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    ...(options.tls ?? {}),
    onListen: () => {},
    onError: (e) => {
      deps.log.error("http handler failed", { error: (e as Error).message });
      return errorResponse(
        500,
        new WireError(Status.INTERNAL_ERROR, "the request could not be handled"),
      );
    },
  }, async (request, info) => {
    const received = performance.now();
    const addr = info.remoteAddr as Deno.NetAddr;
    const peer = `${addr.hostname}:${addr.port}`;
    const response = await route(deps, request, peer, received);
    if (request.method === "HEAD") {
      return new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  });
  return {
    addr: server.addr as Deno.NetAddr,
    finished: server.finished,
    shutdown: () => server.shutdown(),
  };
}
