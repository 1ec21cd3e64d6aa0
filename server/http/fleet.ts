/**
 * The fleet's operator views on the HTTP port (read-only: the operator or
 * admin token, as `Access.view` decides):
 *
 * - `GET /v2/fleet/devices[?state=online|silent&firmware=V&update=S&offset=N&limit=N]`:
 *   the devices, most recently heard from first: `{"devices":[{"id","state",
 *   "address","protocol","firmware","model_version","requests","errors",...}],
 *   "total":N}` (`total`: how many match, before `offset` and `limit`).
 * - `GET /v2/fleet/devices/{id}`: one device; 404 (`UNKNOWN_COMMAND`) when
 *   it is unknown or forgotten.
 * - `GET /v2/fleet/series`: the fleet's requests, errors by code and latency
 *   per minute over the last hour.
 * - Releases and rollouts: see `rollouts.ts`.
 * - `GET /fleet`: the fleet page (`fleet.html`), which reads the three.
 *
 * @example
 * ```ts
 * import { fleetRoutes } from "./fleet.ts";
 * import { DeviceRegistry } from "../fleet/registry.ts";
 * import { TrafficSeries } from "../fleet/series.ts";
 *
 * const routes = fleetRoutes({
 *   fleet: new DeviceRegistry({ silentAfterMs: 600_000, forgetAfterMs: 604_800_000 }),
 *   series: new TrafficSeries(),
 * });
 * const response = await routes(new Request("http://localhost/v2/fleet/devices?state=silent"));
 * console.log(response?.status); // 200
 * ```
 * @module
 */
import { cut, shown, Status, WireError } from "../../shared/errors.ts";
import { wholeNumber } from "./_query.ts";
import { UPDATE_STATE_NAMES } from "../../shared/update_codec.ts";
import type { Access } from "../auth/access.ts";
import type { DeviceRegistry } from "../fleet/registry.ts";
import { DEVICE_STATES, type DeviceState } from "../fleet/device_view.ts";
import type { TrafficSeries } from "../fleet/series.ts";
import { errorResponse } from "./errors.ts";
import { readPage } from "./page.ts";

/** The fleet page, read once at start. */
export const FLEET_HTML: string = readPage("fleet.html");

/** What the fleet routes read. */
export interface FleetSource {
  fleet: DeviceRegistry;
  series: TrafficSeries;
  /** Who may read the views; absent, they are open. */
  access?: Access;
  /** Releases and rollouts (`rollouts.ts`), tried first. */
  rollouts?: (request: Request) => Promise<Response> | null;
}

const JSON_TYPE = { "content-type": "application/json" };

/** The fleet's routes: a response, or null for a path that is not theirs. */
export function fleetRoutes(
  source: FleetSource,
): (request: Request) => Response | Promise<Response> | null {
  return (request) => {
    const rollouts = source.rollouts?.(request);
    if (rollouts) return rollouts;
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, "");
    if (path === "/fleet") {
      return get(
        request,
        () => new Response(FLEET_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
      );
    }
    if (!path.startsWith("/v2/fleet/")) return null;
    const view = () => source.access?.view(request.headers) ?? null;
    if (path === "/v2/fleet/devices") {
      return get(request, () => view() ?? devices(source.fleet, url.searchParams));
    }
    if (path === "/v2/fleet/series") {
      return get(request, () => view() ?? json({ minutes: source.series.minutes() }));
    }
    const one = path.match(/^\/v2\/fleet\/devices\/([^/]+)$/);
    if (one) {
      return get(request, () => {
        const denied = view();
        if (denied) return denied;
        const id = safeDecode(one[1]);
        const device = source.fleet.get(id);
        if (device) return json(device);
        return errorResponse(
          new WireError(Status.UNKNOWN_COMMAND, `no device ${shown(id)} is known`),
          404,
        );
      });
    }
    return errorResponse(
      new WireError(Status.UNKNOWN_COMMAND, `no route ${request.method} ${url.pathname}`),
      404,
    );
  };
}

function devices(fleet: DeviceRegistry, query: URLSearchParams): Response {
  const state = query.get("state");
  if (state !== null && !DEVICE_STATES.includes(state as DeviceState)) {
    return errorResponse(
      new WireError(
        Status.MALFORMED_BUFFER,
        `state must be one of ${DEVICE_STATES.join(", ")}, not ${shown(state)}`,
      ),
    );
  }
  const firmware = query.get("firmware");
  const update = query.get("update");
  if (update !== null && !UPDATE_STATE_NAMES.includes(update)) {
    return errorResponse(
      new WireError(
        Status.MALFORMED_BUFFER,
        `update must be one of ${UPDATE_STATE_NAMES.join(", ")}, not ${shown(update)}`,
      ),
    );
  }
  const offset = wholeNumber(query, "offset", 0);
  const limit = wholeNumber(query, "limit", Infinity);
  if (offset instanceof WireError) return errorResponse(offset);
  if (limit instanceof WireError) return errorResponse(limit);
  const { total, pages } = fleet.window({
    state: (state ?? undefined) as DeviceState | undefined,
    firmware: firmware || undefined,
    update: update || undefined,
  }, { offset, limit });
  const end = `],"total":${total}}`;
  // A page of devices a pull: a large fleet neither stalls other clients nor sits whole in memory.
  let opened = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A turn of the event loop between pages, also for a reader that takes them all at once
      // (a listener Worker's answer is read whole on the main thread).
      if (opened) await new Promise((resolve) => setTimeout(resolve, 0));
      const page = pages.next();
      if (page.done) {
        controller.enqueue(encoder.encode((opened ? "" : '{"devices":[') + end));
        controller.close();
        return;
      }
      const rows = page.value.map((device) => JSON.stringify(device)).join(",");
      controller.enqueue(encoder.encode((opened ? "," : '{"devices":[') + rows));
      opened = true;
    },
  });
  return new Response(body, { headers: JSON_TYPE });
}

const encoder = new TextEncoder();

/** GET (and HEAD) only; a denial from `Access` answers with its own status. */
function get(request: Request, respond: () => Response | WireError): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return errorResponse(
      new WireError(
        Status.UNKNOWN_COMMAND,
        `${cut(new URL(request.url).pathname)} takes GET, not ${cut(request.method)}`,
      ),
      405,
      { allow: "GET, HEAD" },
    );
  }
  const answer = respond();
  if (answer instanceof WireError) {
    const status = "httpStatus" in answer ? answer.httpStatus as number : undefined;
    return errorResponse(answer, status);
  }
  return answer;
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: JSON_TYPE });
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
