/**
 * Helpers for the tests of updates over the air: the real server with a
 * firmware folder and an admin token, and firmware built for it at a version.
 *
 * @example
 * ```ts
 * import { firmwareAt, startOtaServer } from "./ota_testing.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const server = await startOtaServer(`${dir}/firmware`);
 * const next = await firmwareAt(server.addr.port, "1.0.1");
 * console.log(next.version); // 1.0.1+...
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { buildFirmware, type Firmware } from "./build.ts";
import type { Authorizer } from "../server/auth/authorize.ts";
import { Logger } from "../server/log.ts";
import type { InferenceServer } from "../server/inference_server.ts";
import { startServer } from "../server/server.ts";

/** The admin token the servers of these tests take. */
export const ADMIN = "admin-token-0123456789";

/** The real server on loopback, serving the releases in `firmwareDir`; quiet. */
export function startOtaServer(firmwareDir: string, auth?: Authorizer): Promise<InferenceServer> {
  return startServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    adminToken: ADMIN,
    firmwareDir,
    auth,
    rolloutMaxFailures: 2,
    log: new Logger("error", () => {}),
  });
}

/** Firmware `version` for a server on loopback `port` (another port: network code that is broken). */
export function firmwareAt(port: number, version: string): Promise<Firmware> {
  return buildFirmware(
    { host: "127.0.0.1", port, protocol: "framed", ssid: "", password: "", token: "", poll: 0 },
    undefined,
    { version, updates: true },
  );
}
