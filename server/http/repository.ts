/**
 * Triton's model repository extension over HTTP. Every route needs
 * `Authorization: Bearer <admin token>` (`--admin-token`): 403 when no admin
 * token is configured, 401 when it is missing or wrong (`Access.change`).
 *
 * - `POST /v2/repository/index`: every model version with its state and
 *   reason (body `{"ready": true}` lists only `READY` ones). Paths in reasons
 *   are relative to the repository: the index never shows where it lives.
 * - `POST /v2/repository/models/{name}/load` and `.../unload`: load answers
 *   once the model serves (or with why it cannot); unload once it has
 *   stopped.
 *
 * Errors are `{"error": "CODE: sentence"}` with the wire's code names, like
 * every HTTP error of the server.
 * The server's control behind the routes is `repository_control.ts`'s.
 *
 * @example
 * ```ts
 * import { repositoryRoutes } from "./repository.ts";
 * import { repositoryControl } from "./repository_control.ts";
 * import { Access } from "../auth/access.ts";
 * import { ModelRepository } from "../models/repository.ts";
 * import { RepositoryWatcher } from "../models/watch.ts";
 * import { ModelChanges } from "../models/model_changes.ts";
 *
 * const repository = ModelRepository.open("models");
 * const watcher = RepositoryWatcher.start({
 *   root: "models",
 *   watch: false,
 *   rescan: async () => {
 *     await repository.scan();
 *   },
 * });
 * const routes = repositoryRoutes(repositoryControl({
 *   repository,
 *   watcher,
 *   access: new Access({ adminToken: "admin-token-0123456789" }),
 *   serving: (name) => repository.find(name)?.latest?.version ?? null,
 *   changes: new ModelChanges(),
 * }));
 * const index = new Request("http://localhost/v2/repository/index", { method: "POST" });
 * console.log((await routes(index))?.status); // 401: the index needs the admin token
 * watcher.close();
 * ```
 * @module
 */
import type { Access } from "../auth/access.ts";
import { shown, Status, WireError } from "../../shared/errors.ts";
import type { BodyReading } from "./body.ts";
import { errorResponse } from "./errors.ts";
import { readJsonObject, unknownField } from "./_json_body.ts";

/** One row of the index, as Triton writes it. */
export interface IndexRow {
  name: string;
  version: string;
  state: "READY" | "UNAVAILABLE" | "LOADING";
  reason: string;
}

/** A load or unload that cannot be done: the HTTP status, the wire code and a sentence. */
export class RepositoryError extends Error {
  override name = "RepositoryError";
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** What the routes need from the server. */
export interface RepositoryControl {
  /** Who may use the routes: `change` decides each of them. */
  access: Access;
  /** A request body's deadline (`--http-body-timeout-ms`) and memory budget; absent, neither. */
  bodyReading?: BodyReading;
  index(): IndexRow[] | Promise<IndexRow[]>;
  /** Loads model `name` and resolves once it serves; throws a `RepositoryError` otherwise. */
  load(name: string): Promise<void>;
  /** Unloads model `name` and resolves once it no longer serves. */
  unload(name: string): Promise<void>;
}

const INDEX = "/v2/repository/index";
const MODEL_ACTION = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function error(status: number, code: string, message: string, headers = {}): Response {
  return json(status, { error: `${code}: ${message}` }, headers);
}

/**
 * Why a repository request's body is refused, or null: the index takes
 * `ready` (true or false); load and unload take `parameters`, of which only
 * unload's `unload_dependents` (true or false; this server has no ensembles,
 * so nothing depends on a model). Load's parameters (Triton's `config` and
 * `file:` overrides) are not supported: a model loads as its folder holds it.
 */
function badRepositoryBody(
  body: Record<string, unknown>,
  action: string | null,
): WireError | null {
  const bad = (sentence: string) => new WireError(Status.MALFORMED_BUFFER, sentence);
  if (action === null) {
    if (body.ready !== undefined && typeof body.ready !== "boolean") {
      return bad(`"ready" must be true or false`);
    }
    return unknownField(body, ["ready"]);
  }
  const known = unknownField(body, ["parameters"]);
  if (known || body.parameters === undefined) return known;
  const parameters = body.parameters;
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) {
    return bad(`"parameters" must be an object`);
  }
  const given = parameters as Record<string, unknown>;
  if (action === "load") {
    const first = Object.keys(given)[0];
    if (first === undefined) return null;
    return bad(
      `load takes no parameters (${shown(first)}): a model loads as its folder holds it`,
    );
  }
  if (given.unload_dependents !== undefined && typeof given.unload_dependents !== "boolean") {
    return bad(`"unload_dependents" must be true or false`);
  }
  return unknownField(given, ["unload_dependents"], "parameter");
}

/**
 * The repository routes as one handler: a Response for the three paths, null
 * for any other path (so a router can try its next route).
 */
export function repositoryRoutes(
  control: RepositoryControl,
): (request: Request) => Promise<Response> | null {
  return (request) => {
    const path = new URL(request.url).pathname;
    const action = MODEL_ACTION.exec(path);
    if (path !== INDEX && !action) return null;
    return (async () => {
      if (request.method !== "POST") {
        return error(405, "UNKNOWN_COMMAND", `${path} takes POST`, { allow: "POST" });
      }
      const denied = control.access.change(request.headers);
      if (denied) {
        await request.body?.cancel();
        return errorResponse(denied, denied.httpStatus);
      }
      const body = await readJsonObject(request, control.bodyReading);
      if (body instanceof Response) return body;
      const refused = badRepositoryBody(body, action?.[2] ?? null);
      if (refused) return errorResponse(refused, 400);
      if (!action) {
        const rows = await control.index();
        return json(200, body.ready === true ? rows.filter((r) => r.state === "READY") : rows);
      }
      let name: string;
      try {
        name = decodeURIComponent(action[1]);
      } catch {
        return error(400, "MALFORMED_BUFFER", "the model name is not valid percent-encoding");
      }
      try {
        await (action[2] === "load" ? control.load(name) : control.unload(name));
      } catch (e) {
        if (e instanceof RepositoryError) return error(e.status, e.code, e.message);
        return error(
          500,
          "INTERNAL_ERROR",
          `${action[2]} of ${shown(name)} failed: ${(e as Error).message}`,
        );
      }
      return new Response(null, { status: 200 });
    })();
  };
}
