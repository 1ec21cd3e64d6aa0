/**
 * The rollout routes of a model version (shadow, canary, promote, rollback;
 * the fleet's code rollouts are `rollouts.ts`), JSON in and out (docs/models.md):
 *
 * - `POST /v2/models/{m}/shadow` `{"version":N,"sample":0.1}` starts a
 *   shadow; `GET` its figures; `DELETE` stops it (answers the last figures).
 * - `POST /v2/models/{m}/canary` `{"version":N,"share":0.5}` or
 *   `{"version":N,"devices":["id",...]}`; `GET` both versions' figures side
 *   by side; `DELETE` ends it.
 * - `POST /v2/models/{m}/promote` `{"version":N}`; `POST .../rollback`.
 *
 * GETs are operator views (`Access.view`); everything else is a change
 * (`Access.change`: the admin token). Errors are `{"error":"CODE: sentence"}`.
 *
 * @example
 * ```ts
 * import { modelRolloutRoutes } from "./model_rollouts.ts";
 * import { Access } from "../auth/access.ts";
 * import { startServer } from "../server.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: null });
 * const routes = modelRolloutRoutes(server.rollouts, new Access({ adminToken: null }));
 * const response = await routes(new Request("http://localhost/v2/models/mnist/promote", { method: "POST" }));
 * console.log(response?.status); // 403: changes need an admin token
 * await server.shutdown();
 * ```
 * @module
 */
import { DEVICE_NAME_RULE, isDeviceName } from "../../shared/device_name.ts";
import { cut, shown, Status, WireError } from "../../shared/errors.ts";
import type { Access } from "../auth/access.ts";
import { canaryJson, RolloutError, shadowJson } from "../rollout/rollout.ts";
import type { Rollouts } from "../rollout/rollouts.ts";
import type { BodyReading } from "./body.ts";
import { errorResponse } from "./errors.ts";
import { readJsonObject, unknownField } from "./_json_body.ts";
import { withoutPaths } from "./_without_paths.ts";

const ROUTE = /^\/v2\/models\/([^/]+)\/(shadow|canary|promote|rollback)$/;

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}

/** The fields each action's POST takes (its GET and DELETE none). */
const FIELDS: Record<string, readonly string[]> = {
  promote: ["version"],
  rollback: [],
  shadow: ["version", "sample"],
  canary: ["version", "share", "devices"],
};

function bad(message: string): RolloutError {
  return new RolloutError(400, "MALFORMED_BUFFER", message);
}

/** The body's `version`: a whole number from 1. */
function versionIn(body: Record<string, unknown>): number {
  const version = body.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw bad('the body needs "version": a whole number from 1');
  }
  return version;
}

/** A fraction 0..1 named `name`, or undefined when absent. */
function fractionIn(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw bad(`"${name}" must be a number from 0 to 1`);
  }
  return value;
}

/** The canary's cohort: `share` or `devices`, exactly one. */
function cohortIn(body: Record<string, unknown>): { share: number } | { devices: string[] } {
  const share = fractionIn(body, "share");
  const devices = body.devices;
  if ((share === undefined) === (devices === undefined)) {
    throw bad('the body needs exactly one of "share" (0 to 1) and "devices" (a list of ids)');
  }
  if (share !== undefined) return { share };
  if (
    !Array.isArray(devices) || devices.length === 0 || devices.length > 100_000 ||
    !devices.every((d) =>
      typeof d === "string" &&
      (isDeviceName(d) || (d.startsWith("addr:") && d.length > 5 && d.length <= 72))
    )
  ) {
    // A fleet id: a device's name, or addr:<address> for a client that names none.
    throw bad(
      `"devices" must be a list of 1 to 100,000 device ids (${DEVICE_NAME_RULE}, or addr:<address>), in a body of at most 64 KiB`,
    );
  }
  return { devices };
}

/** The routes as one handler: a Response for their paths, null for any other path. */
export function modelRolloutRoutes(
  rollouts: Rollouts,
  access: Access,
  bodyReading?: BodyReading,
): (request: Request) => Promise<Response> | null {
  return (request) => {
    const match = ROUTE.exec(new URL(request.url).pathname.replace(/\/+$/, ""));
    if (!match) return null;
    const action = match[2];
    const allowed = action === "promote" || action === "rollback"
      ? ["POST"]
      : ["GET", "POST", "DELETE"];
    const method = request.method === "HEAD" ? "GET" : request.method;
    return (async () => {
      if (!allowed.includes(method)) {
        await request.body?.cancel();
        const error = new WireError(
          Status.UNKNOWN_COMMAND,
          `${action} takes ${allowed.join(", ")}, not ${cut(request.method)}`,
        );
        return errorResponse(error, 405, { allow: allowed.join(", ") });
      }
      const denied = method === "GET"
        ? access.view(request.headers)
        : access.change(request.headers);
      if (denied) {
        await request.body?.cancel();
        return errorResponse(denied, denied.httpStatus);
      }
      const body = await readJsonObject(request, bodyReading);
      if (body instanceof Response) return body;
      try {
        const name = decodeURIComponent(match[1]);
        return json(await answer(rollouts, name, action, method, body));
      } catch (e) {
        if (e instanceof RolloutError) {
          const error = new WireError(e.status, withoutPaths(e.message, rollouts.repositoryRoot));
          return errorResponse(error, e.httpStatus);
        }
        if (e instanceof URIError) {
          return errorResponse(bad("the model name is not valid percent-encoding"), 400);
        }
        const error = new WireError(
          Status.INTERNAL_ERROR,
          `${action} failed: ${(e as Error).message}`,
        );
        return errorResponse(error, 500);
      }
    })();
  };
}

/** Does what the route asks; the answer's body. */
async function answer(
  rollouts: Rollouts,
  name: string,
  action: string,
  method: string,
  body: Record<string, unknown>,
): Promise<unknown> {
  const unknown = unknownField(body, method === "POST" ? FIELDS[action] : []);
  if (unknown) throw bad(unknown.message);
  const running = (what: "shadow" | "canary") => {
    const rollout = rollouts.get(name);
    if (!rollout?.[what]) {
      throw new RolloutError(
        404,
        "MODEL_UNAVAILABLE",
        `model ${shown(name)} has no ${what} running`,
      );
    }
    return rollout;
  };
  if (action === "promote") {
    const { from, to } = await rollouts.promote(name, versionIn(body));
    return { model: name, from, version: to };
  }
  if (action === "rollback") {
    const { ended, from, to } = await rollouts.rollback(name);
    return { model: name, ended, from, version: to };
  }
  if (action === "shadow") {
    if (method === "GET") return shadowJson(running("shadow"));
    if (method === "DELETE") {
      const figures = shadowJson(running("shadow"));
      await rollouts.stopShadow(name);
      return figures;
    }
    const version = versionIn(body);
    return shadowJson(await rollouts.startShadow(name, version, fractionIn(body, "sample")));
  }
  if (method === "GET") return canaryJson(running("canary"));
  if (method === "DELETE") {
    const figures = canaryJson(running("canary"));
    await rollouts.endCanary(name);
    return figures;
  }
  const version = versionIn(body);
  return canaryJson(await rollouts.startCanary(name, version, cohortIn(body)));
}
