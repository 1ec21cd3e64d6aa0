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
 *
 * @example
 * ```ts
 * import { repositoryControl, repositoryRoutes } from "./repository.ts";
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
import type { ModelChanges } from "../models/model_changes.ts";
import { type BodyReading, readBody } from "./body.ts";
import { errorResponse } from "./errors.ts";
import type { ModelRepository } from "../models/repository.ts";
import type { ModelStatus } from "../models/version_status.ts";
import type { RepositoryWatcher } from "../models/watch.ts";

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

/** Largest request body the routes read (Triton's bodies here are a few small fields). */
export const MAX_BODY_BYTES = 64 * 1024;

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
 * `text` without the repository's location: paths under `root` become
 * relative to it, and any other absolute path (a single model file, a path
 * in an OS error) keeps only its last part.
 */
export function withoutPaths(text: string, root: string): string {
  const under = root.endsWith("/") ? root : `${root}/`;
  return text.replaceAll(under, "").replace(
    /(^|[\s'"`(=])\/(?:[^\s'"`()/]+\/)*([^\s'"`()/]+)/g,
    "$1$2",
  );
}

/**
 * The index rows for a scan: the version that serves is `READY`; the latest
 * valid version while a swap to it runs is `LOADING`; every other version is
 * `UNAVAILABLE` with the reason (refused, unloaded, or not the latest).
 */
export function indexRows(
  models: readonly ModelStatus[],
  serving: (name: string) => number | null,
): IndexRow[] {
  const rows: IndexRow[] = [];
  for (const model of models) {
    const served = serving(model.name);
    for (const v of model.versions) {
      const row: IndexRow = {
        name: model.name,
        version: String(v.version),
        state: "UNAVAILABLE",
        reason: v.reason,
      };
      if (v.version === served) row.state = "READY";
      else if (v.state === "READY") {
        if (model.unloaded) row.reason = "unloaded";
        else if (v === model.latest) row.state = "LOADING";
        else if (v.stage !== null) {
          row.reason = v.stage === "candidate"
            ? "candidate: serves nobody until a shadow, canary or promote names it"
            : `stage "${v.stage}": the version policy "latest" skips it`;
        } else {
          row.reason = `not served: version policy "latest" serves version ${
            model.latest?.version ?? served
          }`;
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * The usual control: load and unload mark the model in the repository and ask
 * the watcher for a rescan (which the server turns into a swap), then check
 * what serves. The watcher's `rescan` must resolve only once its swaps are
 * done, so that `serving` already tells the new version.
 */
export function repositoryControl(options: {
  repository: ModelRepository;
  watcher: RepositoryWatcher;
  access: Access;
  /** The version of model `name` that answers requests now, or null. */
  serving: (name: string) => number | null;
  /** A request body's deadline and memory budget; absent, neither. */
  bodyReading?: BodyReading;
  /** The models with a change under way (`ModelServing.changes`). */
  changes: ModelChanges;
}): RepositoryControl {
  const { repository, watcher, serving } = options;
  const unknown = (name: string) =>
    new RepositoryError(
      404,
      "MODEL_UNAVAILABLE",
      `no model named ${shown(name)} in the repository`,
    );
  // One change of a model at a time, the rollouts' too (`ModelChanges`).
  const exclusive = async (name: string, change: () => Promise<void>) => {
    const started = options.changes.start(name, change);
    if (started instanceof WireError) {
      throw new RepositoryError(503, "SERVER_BUSY", started.message);
    }
    await started;
  };
  return {
    access: options.access,
    bodyReading: options.bodyReading,
    index: () =>
      indexRows(repository.models, serving).map((row) => ({
        ...row,
        reason: withoutPaths(row.reason, repository.root),
      })),
    load: (name) => exclusive(name, () => load(name)),
    unload: (name) =>
      exclusive(name, async () => {
        if (!repository.setLoaded(name, false)) throw unknown(name);
        await watcher.trigger("request");
      }),
  };

  async function load(name: string): Promise<void> {
    if (!repository.setLoaded(name, true)) {
      // Perhaps just copied in: look again before saying there is no such model.
      await watcher.trigger("request");
      if (!repository.setLoaded(name, true)) throw unknown(name);
    }
    await watcher.trigger("request");
    const model = repository.find(name);
    const version = serving(name);
    if (version === null || version !== model?.latest?.version) {
      const why = model?.versions.filter((v) => v.reason)
        .map((v) => `version ${v.version}: ${v.reason}`).join("; ");
      throw new RepositoryError(
        400,
        "MODEL_UNAVAILABLE",
        `model "${name}" could not be loaded${
          why ? ` (${withoutPaths(why, repository.root)})` : ""
        }`,
      );
    }
  }
}

/**
 * Reads a small optional JSON object body, limited while it is read and
 * as `reading` says (its deadline and budget); a Response when it is not one.
 */
export async function readJsonObject(
  request: Request,
  reading?: BodyReading,
): Promise<Record<string, unknown> | Response> {
  const bytes = await readBody(request, MAX_BODY_BYTES, reading);
  if (bytes instanceof WireError) return errorResponse(bytes);
  if (bytes.length === 0) return {};
  try {
    const body = JSON.parse(new TextDecoder().decode(bytes));
    if (body && typeof body === "object" && !Array.isArray(body)) return body;
  } catch {
    // Answered below.
  }
  return error(400, "MALFORMED_BUFFER", "the body must be a JSON object (or empty)");
}

/**
 * Why `body` does not suit a route that takes the fields `known`: its first
 * other field; null when it has none. A misspelt field is refused, not
 * ignored: `{"reddy":true}` would otherwise list every model, not the ready ones.
 */
export function unknownField(
  body: Record<string, unknown>,
  known: readonly string[],
  what = "field",
): WireError | null {
  const other = Object.keys(body).find((key) => !known.includes(key));
  if (other === undefined) return null;
  const takes = known.length === 0
    ? `this route takes no ${what}s`
    : `this route takes ${known.map((k) => JSON.stringify(k)).join(", ")}`;
  return new WireError(
    Status.MALFORMED_BUFFER,
    `unknown ${what} ${shown(other)}: ${takes}`,
  );
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
