/**
 * The trust flags as the command line gives them (`--tokens`, `--legacy`,
 * `--legacy-from`), checked and turned into an `Authorizer`. A mistake is an
 * `AuthConfigError` whose message is the one sentence the CLI prints.
 *
 * @example
 * ```ts
 * import { AuthConfigError, createAuthorizer } from "./config.ts";
 * import { newToken, tokenLine } from "./tokens.ts";
 * import { startServer } from "../server.ts";
 *
 * const file = await Deno.makeTempFile({ suffix: ".tokens" });
 * await Deno.writeTextFile(file, tokenLine("kitchen", newToken()) + "\n");
 * const auth = await createAuthorizer({ tokens: file, legacy: "deny" });
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0, auth });
 * console.log(server.describe()); // ... tokens=1 devices legacy=deny ...
 * await server.shutdown();
 * await auth.close(); // the server does not own it: stop watching the file
 * await Deno.remove(file);
 *
 * // A mistake is one sentence, as the CLI prints it.
 * const mistake = await createAuthorizer({ legacy: "maybe" }).catch((e) => e);
 * console.log(mistake instanceof AuthConfigError, mistake.message);
 * // true --legacy must be one of allow, deny, got "maybe"
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
