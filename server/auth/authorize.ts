/**
 * Who may use the server. With device tokens on (`--tokens FILE`) a framed
 * request must carry a known `token`, and HTTP requests a `Bearer` one;
 * legacy clients cannot carry a token, so `--legacy allow|deny` and
 * `--legacy-from CIDR,...` decide whether they are served (allowed by default,
 * so old clients keep working). `GET_STATS` (model file name, counts) goes
 * only to an authorized framed client while tokens are on.
 *
 * Every decision is offered to listeners (`onDecision`): per-device counts are
 * kept by whoever listens (the dashboard), never as metric labels.
 *
 * @example
 * ```ts
 * import { Authorizer } from "./authorize.ts";
 * import { DeviceTokens, newToken, tokenLine } from "./tokens.ts";
 *
 * const token = newToken();
 * const file = await Deno.makeTempFile({ suffix: ".tokens" });
 * await Deno.writeTextFile(file, tokenLine("kitchen", token) + "\n");
 * const auth = new Authorizer({ tokens: await DeviceTokens.open(file), legacy: "deny" });
 * const board = { address: "10.0.0.7", protocol: "framed" } as const;
 * console.log(auth.authorize({ command: 1, token }, board)); // { device: "kitchen" }
 * console.log(auth.authorize({ command: 1, token: "x".repeat(32) }, board).toString());
 * // UNAUTHORIZED: ...
 * const legacy = { address: "10.0.0.7", protocol: "legacy" } as const;
 * console.log(auth.authorize({ command: 1, token: "" }, legacy).toString());
 * // UNAUTHORIZED: this server does not accept legacy clients
 * await auth.close(); // stops watching the file
 * await Deno.remove(file);
 * ```
 * @module
 */
import { Command } from "../../shared/codec.ts";
import { type DecodedRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { tableDefault } from "../config.ts";
import type { AddressRanges } from "./cidr.ts";
import { sameToken } from "./bearer.ts";
import type { DeviceTokens } from "./tokens.ts";

/** Whether legacy (token-less) clients are served. */
export type LegacyPolicy = "allow" | "deny";
export const LEGACY_POLICIES: readonly LegacyPolicy[] = ["allow", "deny"];

/** Who sent a request, and how. */
export interface Peer {
  /** The client's real address (a hostname as `Deno.NetAddr` gives it). */
  address: string;
  protocol: "framed" | "legacy" | "http" | "mqtt";
}

/** What a decision is about: a decoded request's command and token. */
export type AuthRequest = Pick<DecodedRequest, "command" | "token">;

/** An authorized request: the device's name, or null when no token was needed. */
export interface Authorized {
  device: string | null;
}

/** One decision, as listeners see it. */
export interface AuthDecision {
  peer: Peer;
  command: number;
  /** The device (authorized with a token), else null. */
  device: string | null;
  /** "OK" or "UNAUTHORIZED". */
  code: string;
}

/** Options of an `Authorizer`; without any, everything is allowed. */
export interface AuthOptions {
  tokens?: DeviceTokens | null;
  legacy?: LegacyPolicy;
  /** Addresses whose legacy requests are served; absent or empty: any address. */
  legacyFrom?: AddressRanges | null;
}

const OPEN: Authorized = Object.freeze({ device: null });

/** Decides whether a request may be served. */
export class Authorizer {
  readonly tokens: DeviceTokens | null;
  readonly legacy: LegacyPolicy;
  readonly legacyFrom: AddressRanges | null;
  #listeners = new Set<(decision: AuthDecision) => void>();
  /**
   * The token each connection (its `Peer` object) last proved, so its next
   * requests compare their token with it in constant time instead of hashing
   * again (about 12 µs with node:crypto in Deno); any reload makes it stale.
   */
  #proved = new WeakMap<Peer, { token: string; generation: number; verdict: Authorized }>();

  constructor(options: AuthOptions = {}) {
    this.tokens = options.tokens ?? null;
    this.legacy = options.legacy ?? tableDefault("legacy");
    this.legacyFrom = options.legacyFrom?.size ? options.legacyFrom : null;
  }

  /** Whether device tokens are required. */
  get tokensOn(): boolean {
    return this.tokens !== null;
  }

  /** The device the request comes from (null when tokens are off or for legacy), or `UNAUTHORIZED`. */
  authorize(request: AuthRequest, peer: Peer): Authorized | WireError {
    const verdict = this.#decide(request, peer);
    if (this.#listeners.size > 0) {
      const decision: AuthDecision = {
        peer,
        command: request.command,
        device: verdict instanceof WireError ? null : verdict.device,
        code: verdict instanceof WireError ? verdict.code : "OK",
      };
      for (const listener of this.#listeners) listener(decision);
    }
    return verdict;
  }

  /**
   * The decision `authorize` would make, not offered to listeners: asked
   * before a request is read whole (an HTTP body), which `authorize` decides
   * again once it is. A token proved here is remembered for `peer`.
   */
  check(request: AuthRequest, peer: Peer): Authorized | WireError {
    return this.#decide(request, peer);
  }

  /** Calls `listener` with every decision; returns the function that stops it. */
  onDecision(listener: (decision: AuthDecision) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops watching the token file. */
  async close(): Promise<void> {
    await this.tokens?.close();
  }

  /**
   * What the start line adds: the policy in a few words (`summary`, and its
   * two parts), and a warning when legacy bypasses tokens.
   */
  describe(): { summary: string; tokens: string; legacy: string; warning: string | null } {
    const legacy = this.legacy === "deny"
      ? "deny"
      : this.legacyFrom
      ? `allow-from-${this.legacyFrom.ranges.join(",")}`
      : "allow";
    const tokens = this.tokens ? `${this.tokens.size} devices` : "off";
    const summary = `tokens=${tokens} legacy=${legacy}`;
    const warning = this.tokens && this.legacy === "allow"
      ? "tokens are on but legacy clients, which carry no token, are still served " +
        (this.legacyFrom ? `from ${this.legacyFrom.ranges.join(",")}` : "from any address") +
        " (--legacy deny or --legacy-from CIDR,... to restrict them)"
      : null;
    return { summary, tokens, legacy, warning };
  }

  #decide(request: AuthRequest, peer: Peer): Authorized | WireError {
    if (peer.protocol === "legacy") {
      if (this.legacy === "deny") {
        return new WireError(Status.UNAUTHORIZED, "this server does not accept legacy clients");
      }
      if (this.legacyFrom && !this.legacyFrom.has(peer.address)) {
        return new WireError(
          Status.UNAUTHORIZED,
          "legacy clients are not accepted from " + peer.address,
        );
      }
      if (this.tokens && request.command === Command.GET_STATS) {
        return new WireError(
          Status.UNAUTHORIZED,
          "GET_STATS needs a framed request with a device token",
        );
      }
      return OPEN;
    }
    if (!this.tokens) return OPEN;
    if (request.token === "") {
      return new WireError(
        Status.UNAUTHORIZED,
        peer.protocol === "http"
          ? "this server needs an Authorization: Bearer token"
          : "this server needs a device token and the request carries none",
      );
    }
    const proved = this.#proved.get(peer);
    if (
      proved && proved.generation === this.tokens.generation &&
      sameToken(request.token, proved.token)
    ) {
      return proved.verdict;
    }
    const device = this.tokens.lookup(request.token);
    if (device === null) {
      return new WireError(Status.UNAUTHORIZED, "the token is not one this server knows");
    }
    const verdict = { device };
    this.#proved.set(peer, { token: request.token, generation: this.tokens.generation, verdict });
    return verdict;
  }
}
