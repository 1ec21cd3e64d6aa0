/**
 * Who may read the operator's views, change the server, and scrape
 * `/metrics` over HTTP. Device tokens (`--tokens`) open inference only; they
 * never open what is decided here.
 *
 * - Views (`/dashboard.json` and the other read-only operator routes): the
 *   operator token (`--operator-token`) or the admin token. With neither
 *   configured they are open while device tokens are off, and closed (403)
 *   while device tokens are on.
 * - Changes (repository load, unload and index): the admin token
 *   (`--admin-token`) only; without one they are closed (403).
 * - `/metrics`: open unless `--metrics-token` is set, then that token only.
 *
 * A refusal is an `AccessDenied` (`UNAUTHORIZED`): 401 when the right token
 * would open it (the HTTP port adds the `WWW-Authenticate: Bearer`
 * challenge), 403 when no configured token can.
 *
 * @example
 * ```ts
 * import { Access } from "./access.ts";
 *
 * const access = new Access({ operatorToken: "operator-token-0123", deviceTokens: true });
 * const denied = access.view(new Headers({ authorization: "Bearer a-device-token" }));
 * console.log(denied?.httpStatus, denied?.toString()); // 401 "UNAUTHORIZED: the bearer token ..."
 * console.log(access.view(new Headers({ authorization: "Bearer operator-token-0123" }))); // null
 * ```
 * @module
 */
import { Status, WireError } from "../../shared/errors.ts";
import { bearerToken, sameToken } from "./bearer.ts";

/** A refused request: `UNAUTHORIZED`, with the HTTP status it is answered with. */
export class AccessDenied extends WireError {
  /** 401: a token would open it (missing or wrong); 403: no configured token can. */
  readonly httpStatus: 401 | 403;
  constructor(httpStatus: 401 | 403, message: string) {
    super(Status.UNAUTHORIZED, message);
    this.httpStatus = httpStatus;
  }
}

/** The configured tokens; unset or empty ones open nothing. */
export interface AccessOptions {
  /** `--admin-token`: views and every change. */
  adminToken?: string | null;
  /** `--operator-token`: the read-only views. */
  operatorToken?: string | null;
  /** `--metrics-token`: `/metrics`. */
  metricsToken?: string | null;
  /** Whether device tokens are on (`--tokens`): the views then close unless a token opens them. */
  deviceTokens?: boolean;
}

/** Decides the operator's routes from a request's headers: null to serve, else why not. */
export class Access {
  readonly #admin: string | null;
  readonly #operator: string | null;
  readonly #metrics: string | null;
  readonly #deviceTokens: boolean;

  constructor(options: AccessOptions = {}) {
    this.#admin = options.adminToken || null;
    this.#operator = options.operatorToken || null;
    this.#metrics = options.metricsToken || null;
    this.#deviceTokens = options.deviceTokens ?? false;
  }

  /** A read-only operator view (`/dashboard.json`, fleet, shadow and canary figures, stats). */
  view(headers: Headers): AccessDenied | null {
    if (this.#operator === null && this.#admin === null) {
      if (!this.#deviceTokens) return null;
      return new AccessDenied(
        403,
        "operator views are closed while device tokens are on and no operator or admin token " +
          "is configured (--operator-token or --admin-token)",
      );
    }
    const token = bearerToken(headers);
    // Both are compared, so the time says nothing about which token was close.
    const operator = this.#operator !== null && sameToken(token, this.#operator);
    const admin = this.#admin !== null && sameToken(token, this.#admin);
    if (operator || admin) return null;
    return new AccessDenied(
      401,
      token === ""
        ? "this view needs the operator or admin token as a bearer token"
        : "the bearer token is not the operator or admin token" +
          (this.#deviceTokens ? " (a device token never opens operator views)" : ""),
    );
  }

  /** A change (repository load, unload and index; releases, rollouts): the admin token only. */
  change(headers: Headers): AccessDenied | null {
    if (this.#admin === null) {
      return new AccessDenied(
        403,
        "changes are closed: no admin token is configured (--admin-token or MNIST_ADMIN_TOKEN)",
      );
    }
    const token = bearerToken(headers);
    if (sameToken(token, this.#admin)) return null;
    return new AccessDenied(
      401,
      token === ""
        ? "this needs the admin token as a bearer token"
        : "the bearer token is not the admin token",
    );
  }

  /** `GET /metrics`: open, or the metrics token when one is set. */
  metrics(headers: Headers): AccessDenied | null {
    if (this.#metrics === null) return null;
    const token = bearerToken(headers);
    if (sameToken(token, this.#metrics)) return null;
    return new AccessDenied(
      401,
      token === ""
        ? "/metrics needs the metrics token as a bearer token"
        : "the bearer token is not the metrics token",
    );
  }
}
