/**
 * The trust flags as the command line gives them (`--tokens`, `--legacy`,
 * `--legacy-from`), checked and turned into an `Authorizer`. A mistake is an
 * `AuthConfigError` whose message is the one sentence the CLI prints.
 *
 * @example
 * ```ts ignore
 * import { AuthConfigError, createAuthorizer } from "./config.ts";
 *
 * const auth = await createAuthorizer({ tokens: "tokens.txt", legacy: "allow" }, log);
 * const server = await startServer({ auth });
 * // ... on shutdown:
 * await auth.close();
 * ```
 * @module
 */
import { tableDefault } from "../config.ts";
import type { Logger } from "../log.ts";
import { Authorizer, LEGACY_POLICIES, type LegacyPolicy } from "./authorize.ts";
import { AddressRanges } from "./cidr.ts";
import { DeviceTokens, TokenFileError } from "./tokens.ts";

/** A trust flag that cannot be used. */
export class AuthConfigError extends Error {
  override name = "AuthConfigError";
}

/** The flags' text, absent when not given. */
export interface AuthFlags {
  tokens?: string;
  legacy?: string;
  legacyFrom?: string;
}

/** Checks the flags, reads (and watches) the token file, and builds the `Authorizer`. */
export async function createAuthorizer(flags: AuthFlags, log?: Logger): Promise<Authorizer> {
  const legacy = (flags.legacy ?? tableDefault("legacy")) as LegacyPolicy;
  if (!LEGACY_POLICIES.includes(legacy)) {
    throw new AuthConfigError(
      `--legacy must be one of ${LEGACY_POLICIES.join(", ")}, got "${flags.legacy}"`,
    );
  }
  let legacyFrom: AddressRanges | null = null;
  if (flags.legacyFrom !== undefined) {
    const parsed = AddressRanges.parse(flags.legacyFrom);
    if (parsed instanceof Error) throw new AuthConfigError(`--legacy-from: ${parsed.message}`);
    if (parsed.size === 0) throw new AuthConfigError("--legacy-from needs at least one CIDR");
    if (legacy === "deny") {
      throw new AuthConfigError("--legacy-from allows legacy clients, but --legacy is deny");
    }
    legacyFrom = parsed;
  }
  let tokens: DeviceTokens | null = null;
  if (flags.tokens !== undefined) {
    try {
      tokens = await DeviceTokens.open(flags.tokens, { log });
    } catch (e) {
      if (e instanceof TokenFileError) throw new AuthConfigError(`--tokens: ${e.message}`);
      throw e;
    }
  }
  return new Authorizer({ tokens, legacy, legacyFrom });
}
