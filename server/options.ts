/**
 * Every option of `startServer`. Those the command line also has take their
 * names, defaults and meaning from the option table (`config.ts`); a program
 * sets what it needs and `withServerDefaults()` fills the rest from the table,
 * once, inside `startServer`.
 *
 * @example
 * ```ts
 * import { type ServerOptions, withServerDefaults } from "./options.ts";
 *
 * const options: ServerOptions = { hostname: "127.0.0.1", port: 0, instances: 2 };
 * console.log(withServerDefaults(options).maxBatch); // the table's default
 * ```
 * @module
 */
import type { Authorizer } from "./auth/authorize.ts";
import type { AddressRanges } from "./auth/cidr.ts";
import { type ServerDefaults, serverDefaults, type TableServerOptions } from "./config.ts";
import type { RunEvent } from "./engine/queue_options.ts";
import type { RequestEvent } from "./core/request.ts";
import { Logger } from "./log.ts";
import type { DigitCapture } from "./capture/capture.ts";
import type { SwapEvent } from "./models/serving.ts";
import type { LoadFailure } from "./models/version_status.ts";
import type { ConnectionEvent } from "./tcp/limits.ts";
import type { TlsFiles } from "./tls/tls.ts";
import type { MqttOptions } from "./mqtt/settings.ts";
import type { ShadowEvent } from "./rollout/shadow_event.ts";

/**
 * Options of `startServer`. Those of `TableServerOptions` (`port`, `maxBatch`,
 * `batchMs`, ...) mean what their row in the option table says, with its
 * default.
 */
export interface ServerOptions
  extends Omit<TableServerOptions, "model" | "httpPort" | "adminToken" | "operatorToken"> {
  /** The address to listen on (`--host`). */
  hostname?: string;
  /** One ONNX file served as the default model, version 1 (instead of a repository). */
  model?: string | URL;
  /** Refuse a model whose sha256 is missing or differs from its metadata (`--allow-checksum-mismatch` off). */
  verifyChecksum?: boolean;
  /** Watch the repository and swap versions as they change (the command line turns it on). */
  watch?: boolean;
  /** Rescan on SIGHUP (the command line turns it on). */
  sighup?: boolean;
  /** Called once per refused model version. */
  onLoadFailure?: (failure: LoadFailure) => void;
  /** Called after each model swap or unload. */
  onSwap?: (event: SwapEvent) => void;
  /** Keeps a sample of the digits served (`--capture`). */
  capture?: DigitCapture;
  log?: Logger;
  /** Engine instances (`--instances` as a count; see the option table for a program's default). */
  instances?: number;
  /** Runtime threads per instance (`--threads` as a count; see the option table for a program's default). */
  threads?: number;
  /** The engine worker script (default: the engine kind's). */
  workerUrl?: string | URL;
  /** The listener Workers' script (`--listeners N`; default: `listener_worker.ts`; a test runs its own). */
  listenerWorkerUrl?: URL;
  /** Called after every engine run. */
  onRun?: (event: RunEvent) => void;
  /** Peers whose PROXY protocol v2 header names the real client (`--trusted-proxy`). */
  trustedProxies?: AddressRanges | null;
  /** Told every request's outcome (metrics, dashboard). */
  onRequest?: (event: RequestEvent) => void;
  /** Told every digit a shadow candidate compared, after the client's reply (`--capture`'s rules). */
  onShadow?: (event: ShadowEvent) => void;
  /** Told when the board port closes or refuses a connection. */
  onConnection?: (event: ConnectionEvent) => void;
  /** Who may be served (`--tokens`, `--legacy`, `--legacy-from`); everyone when absent. */
  auth?: Authorizer;
  /** A second board port speaking TLS (`--tls-port`), with its certificate and key. */
  tls?: TlsFiles & { port: number };
  /** The HTTP port (`--http-port`); null turns it off; when left out, 0 if `port` is 0. */
  httpPort?: number | null;
  /** The bearer token of every change (repository load, unload, index) and view; absent or null: changes get 403. */
  adminToken?: string | null;
  /** The bearer token of the read-only operator views (`/dashboard.json`); the admin token opens them too. */
  operatorToken?: string | null;
  /** TLS for the HTTP port (`--tls-cert`/`--tls-key`). */
  httpTls?: TlsFiles;
  /** Also serve through an MQTT broker (`--mqtt` and its options). */
  mqtt?: MqttOptions;
}

/** `ServerOptions` with every option that has a default filled in. */
export type ResolvedServerOptions =
  & ServerOptions
  & Omit<ServerDefaults, "httpPort" | "logLevel" | "logFormat">
  & { httpPort: number | null; log: Logger };

/**
 * Fills what `options` leaves out (absent or undefined) from the option
 * table. A free board port (`port: 0`) implies a free HTTP port, as on the
 * command line, so tests and benches never collide on the default one.
 */
export function withServerDefaults(options: ServerOptions): ResolvedServerOptions {
  const { logLevel, logFormat, ...defaults } = serverDefaults();
  const resolved: Record<string, unknown> = {
    ...options,
    log: options.log ?? new Logger(logLevel, undefined, logFormat),
  };
  if (options.port === 0 && options.httpPort === undefined) resolved.httpPort = 0;
  for (const [key, value] of Object.entries(defaults)) {
    if (resolved[key] === undefined) resolved[key] = value;
  }
  return resolved as unknown as ResolvedServerOptions;
}
