/**
 * The HTTP port (`Deno.serve`): the Open Inference Protocol (KServe v2)
 * routes, `GET /metrics` for Prometheus, and the live dashboard at `GET /`
 * with its JSON at `GET /dashboard.json`. Inference is `infer.ts`, which
 * hands each request to the one request handler the board port uses, so
 * tokens, admission, model versions and observation are the same on both.
 *
 * Errors are `{"error": "<CODE>: sentence"}` with the wire's codes
 * (`errors.ts`); 405 for a wrong method, 404 for an unknown route.
 *
 * @example
 * ```ts
 * import { startServer } from "../server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * const { hostname, port } = server.http!.addr;
 * const ready = await fetch(`http://${hostname}:${port}/v2/health/ready`);
 * console.log(ready.status); // 200
 * await server.shutdown();
 * ```
 * @module
 */
import { cut, shown, Status, WireError } from "../../shared/errors.ts";
import type { Access } from "../auth/access.ts";
import type { AddressRanges } from "../auth/cidr.ts";
import type { RequestHandler } from "../core/handler.ts";
import type { Logger } from "../log.ts";
import type { Monitor } from "../monitor/monitor.ts";
import { Answering } from "./answering.ts";
import type { BodyReading } from "./body.ts";
import { DASHBOARD_HTML } from "./dashboard.ts";
import { clientPeer } from "./forwarded.ts";
import { errorResponse, handlerFailed } from "./errors.ts";
import { answerUnreadable, inferResponse, responseOf } from "./infer.ts";
import { MODEL_ROUTE, pathOf, safeDecode } from "./model_route.ts";
import { modelConfig, type ModelInfo, modelMetadata, OIP_EXTENSIONS } from "./oip_model.ts";

/** What the HTTP port serves from. */
export interface HttpDeps {
  /** The one request handler: every inference goes through it. */
  handler: RequestHandler;
  /**
   * What OIP says of the model `/v2/models/{name}[/versions/{version}]`
   * names, or why it cannot serve (`MODEL_UNAVAILABLE`, 404).
   */
  model: (name: string, version: string | undefined) => ModelInfo | WireError;
  /** More routes tried before the 404 (the repository extension); null: not theirs. */
  extraRoutes?: (request: Request) => Promise<Response> | null;
  /** The fleet's views (`/v2/fleet/...`, `/fleet`); null: not theirs. */
  fleetRoutes?: (request: Request) => Response | Promise<Response> | null;
  /** 200 on `/v2/health/ready` (model loaded, an engine answers, not draining). */
  ready(): boolean;
  /** 200 on `/v2/health/live` (absent: always): false only where the process needs a restart. */
  live?(): boolean;
  monitor: Monitor;
  log: Logger;
  /** The server's name and version for `GET /v2`. */
  server: { name: string; version: string };
  /** Largest request body, in bytes, limited while it is read. */
  maxBodyBytes: number;
  /** A request body's deadline and memory budget; absent, neither. */
  bodyReading?: BodyReading;
  /** Who may read `/dashboard.json` and scrape `/metrics`; absent, both are open. */
  access?: Access;
  /** `--trusted-proxy`: peers whose `X-Forwarded-For` names the client (`clientPeer`). */
  trustedProxies?: AddressRanges | null;
}

/** A running HTTP port. */
export interface HttpListener {
  addr: Deno.NetAddr;
  /** Requests each listener Worker has taken since start (`--listeners N`); absent in process. */
  readonly requestsPerListener?: number[];
  /** Stops accepting and answers what is in flight. */
  shutdown(): Promise<void>;
  finished: Promise<void>;
}

const JSON_TYPE = { "content-type": "application/json" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_TYPE });
}

/** Triton's statistics extension (an operator's view): every model, one model, or one version. */
function stats(deps: HttpDeps, request: Request, name?: string, version?: string): Response {
  const denied = deps.access?.view(request.headers);
  if (denied) return errorResponse(denied, denied.httpStatus);
  const document = deps.monitor.modelStats.toJson(name, version);
  if (document) return json(document);
  return errorResponse(
    new WireError(
      Status.MODEL_UNAVAILABLE,
      `no statistics for model ${shown(name)}${
        version === undefined ? "" : ` version ${shown(version)}`
      }: it is not served`,
    ),
  );
}

/** Routes one request. */
function route(deps: HttpDeps, request: Request, peer: string): Response | Promise<Response> {
  const url = URL.parse(request.url);
  // Its Host header makes no URL: refused as unreadable (parsed once, here, on every request).
  if (!url) return responseOf(answerUnreadable(deps, request.method, request.url, peer)!);
  const path = pathOf(url);
  const method = request.method === "HEAD" ? "GET" : request.method;
  const only = (allowed: string, respond: () => Response | Promise<Response>) => {
    if (method === allowed) return respond();
    return errorResponse(
      new WireError(
        Status.UNKNOWN_COMMAND,
        `${cut(path)} takes ${allowed}, not ${cut(request.method)}`,
      ),
      405,
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
        return denied ? errorResponse(denied, denied.httpStatus) : json(deps.monitor.snapshot());
      });
    case "/metrics":
      return only("GET", async () => {
        const denied = deps.access?.metrics(request.headers);
        if (denied) return errorResponse(denied, denied.httpStatus);
        return new Response(await deps.monitor.metrics.expose(), {
          headers: { "content-type": deps.monitor.metrics.contentType },
        });
      });
    case "/v2":
      return only("GET", () =>
        json({
          name: deps.server.name,
          version: deps.server.version,
          extensions: OIP_EXTENSIONS,
        }));
    case "/v2/models/stats":
      return only("GET", () => stats(deps, request));
    case "/v2/health/live":
      return only("GET", () => health(deps.live?.() ?? true));
    case "/v2/health/ready":
      return only("GET", () => health(deps.ready()));
  }
  // The model routes first: an inference need not pass the fleet's routes (no
  // path of theirs starts /v2/models/).
  const model = MODEL_ROUTE.exec(path);
  if (!model) {
    const fleet = deps.fleetRoutes?.(request);
    if (fleet) return fleet;
  }
  const extra = model ? null : deps.extraRoutes?.(request);
  if (extra) return extra;
  if (!model) {
    return errorResponse(
      new WireError(
        Status.UNKNOWN_COMMAND,
        `no route ${cut(request.method)} ${cut(url.pathname)}`,
      ),
      404,
    );
  }
  const [, name, version, action] = model.map((part) => part && safeDecode(part));
  if (action === "/infer") {
    return only("POST", () => inferResponse(deps, request, peer, name, version));
  }
  if (action === "/stats") return only("GET", () => stats(deps, request, name, version));
  const info = deps.model(name, version);
  if (info instanceof WireError) return errorResponse(info);
  if (action === "/ready") return only("GET", () => health(deps.ready()));
  if (action === "/config") return only("GET", () => json(modelConfig(info)));
  return only("GET", () => json(modelMetadata(info)));
}

/** The answer to one request from `peer` (`host:port`), whichever thread took its connection. */
export function answerHttp(
  deps: HttpDeps,
  request: Request,
  peer: string,
): Response | Promise<Response> {
  const response = route(deps, request, peer);
  // Only HEAD waits here for its answer (to drop the body): the rest go as they come.
  return request.method === "HEAD" ? withoutBody(response) : response;
}

/** A HEAD request's answer: the GET's status and headers, no body. */
async function withoutBody(response: Response | Promise<Response>): Promise<Response> {
  const { status, headers } = await response;
  return new Response(null, { status, headers });
}

/** Where and how to listen. */
export interface HttpOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this PEM certificate chain and key. */
  tls?: { cert: string; key: string };
}

/** Starts the HTTP port. */
export function startHttp(deps: HttpDeps, options: HttpOptions): HttpListener {
  const answering = new Answering();
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    ...(options.tls ?? {}),
    onListen: () => {},
    onError: (e) => handlerFailed(deps.log, e),
  }, (request, info) => {
    answering.track(info);
    const peer = clientPeer(info.remoteAddr, request.headers, deps.trustedProxies ?? null);
    return answerHttp(deps, request, peer);
  });
  return {
    addr: server.addr as Deno.NetAddr,
    finished: server.finished,
    shutdown: () => answering.shutdown(server),
  };
}
