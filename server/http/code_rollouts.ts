/**
 * Releases and rollouts on the HTTP port (views: operator or admin token;
 * changes: admin token, as `Access` decides):
 *
 * - `GET /v2/fleet/releases`: `{"releases":[{"name","version","size","crc32",
 *   "sha256"}],"refused":[{"release","error"}]}`.
 * - `POST /v2/fleet/releases`: rescans `--firmware-dir` now and answers the
 *   same (releases are copied in, never uploaded).
 * - `GET /v2/fleet/rollouts`: every rollout with its counts per state.
 * - `POST /v2/fleet/rollouts` `{"release":"NAME/VERSION","share":0.6}` or
 *   `{"release",...,"devices":[ids]}`, optional `"per_minute"`: 201 and the
 *   rollout (`{"id":"r1",...}`).
 * - `GET /v2/fleet/rollouts/{id}[?offset=N&limit=N]`: the rollout, its counts
 *   and each device's state (`device_states`, a window of them with
 *   `offset` and `limit`, in the order they joined; `device_total`: all).
 * - `POST /v2/fleet/rollouts/{id}/pause`, `/resume`, `/stop`: the rollout
 *   after the change, as the GET answers it.
 *
 * @example
 * ```ts
 * import { codeRolloutRoutes } from "./code_rollouts.ts";
 * import { FleetUpdates } from "../fleet/updates.ts";
 * import { ReleaseStore } from "../fleet/releases.ts";
 *
 * const store = new ReleaseStore(null);
 * const routes = codeRolloutRoutes({
 *   updates: new FleetUpdates({ store, maxFailures: 2, perMinute: 100 }),
 *   rescan: () => store.rescan(),
 * });
 * const response = await routes(new Request("http://localhost/v2/fleet/releases"));
 * console.log(await response?.json()); // { releases: [], refused: [] }
 * ```
 * @module
 */
import { cut, shown, Status, WireError } from "../../shared/errors.ts";
import { wholeNumber } from "./_query.ts";
import type { Access } from "../auth/access.ts";
import { parseCodeRolloutSpec } from "../fleet/code_rollouts.ts";
import type { FleetUpdates } from "../fleet/updates.ts";
import { type BodyReading, readBody } from "./body.ts";
import { errorResponse } from "./errors.ts";

/** What the routes change and read. */
export interface RolloutSource {
  updates: FleetUpdates;
  /** Reads `--firmware-dir` again (through its watcher, so rescans never overlap). */
  rescan: () => Promise<void>;
  /** Who may read and change; absent, everything is open. */
  access?: Access;
  /** Milliseconds a request's body has to arrive (`--http-body-timeout-ms`); absent, no deadline. */
  bodyReading?: BodyReading;
}

/** A rollout body names at most this many bytes (a list of 10,000 ids fits). */
const MAX_BODY_BYTES = 1024 * 1024;
const ONE = /^\/v2\/fleet\/rollouts\/([^/]+)(?:\/(pause|resume|stop))?$/;

/** The routes: a response, or null for a path that is not theirs. */
export function codeRolloutRoutes(
  source: RolloutSource,
): (request: Request) => Promise<Response> | null {
  const { updates } = source;
  return (request) => {
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    const one = ONE.exec(path);
    if (path !== "/v2/fleet/releases" && path !== "/v2/fleet/rollouts" && !one) return null;
    return (async () => {
      const method = request.method === "HEAD" ? "GET" : request.method;
      const allowed = one?.[2] ? "POST" : one ? "GET" : "GET, POST";
      if (!allowed.split(", ").includes(method)) {
        return errorResponse(
          new WireError(
            Status.UNKNOWN_COMMAND,
            `${cut(path)} takes ${allowed}, not ${cut(request.method)}`,
          ),
          405,
          { allow: allowed },
        );
      }
      const denied = method === "GET"
        ? source.access?.view(request.headers)
        : source.access?.change(request.headers);
      if (denied) {
        await request.body?.cancel();
        return errorResponse(denied, denied.httpStatus);
      }
      if (path === "/v2/fleet/releases") {
        if (method === "POST") {
          await request.body?.cancel();
          await source.rescan();
        }
        return json(200, releases(updates));
      }
      if (one) {
        const id = one[1];
        const rollout = one[2] ? updates.change(id, one[2] as "pause") : updates.get(id);
        if (rollout instanceof WireError) return errorResponse(rollout);
        if (!rollout) {
          return errorResponse(
            new WireError(Status.UPDATE_UNAVAILABLE, `no rollout ${shown(id)}`),
            404,
          );
        }
        const query = new URL(request.url).searchParams;
        const offset = wholeNumber(query, "offset", 0);
        const limit = wholeNumber(query, "limit", Infinity);
        if (offset instanceof WireError) return errorResponse(offset);
        if (limit instanceof WireError) return errorResponse(limit);
        return json(200, updates.view(rollout, { offset, limit }));
      }
      if (method === "GET") {
        return json(200, { rollouts: updates.list().map((r) => updates.view(r, null)) });
      }
      const bytes = await readBody(request, MAX_BODY_BYTES, source.bodyReading);
      if (bytes instanceof WireError) return errorResponse(bytes);
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        body = null;
      }
      const spec = parseCodeRolloutSpec(body, updates.perMinute);
      if (spec instanceof WireError) return errorResponse(spec, 400);
      const rollout = updates.start(spec);
      if (rollout instanceof WireError) return errorResponse(rollout);
      return json(201, updates.view(rollout, null));
    })();
  };
}

function releases(updates: FleetUpdates): Record<string, unknown> {
  const root = updates.store.root ?? "";
  return {
    releases: updates.store.list().map((r) => ({
      name: r.name,
      version: r.version,
      size: r.size,
      crc32: r.crc32,
      sha256: r.sha256,
    })),
    // Named as NAME/VERSION, so the answer shows no server path.
    refused: updates.store.refused.map((r) => ({
      release: r.path.slice(root.length + 1),
      error: r.error.replaceAll(root + "/", ""),
    })),
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}
