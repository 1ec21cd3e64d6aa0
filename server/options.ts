/**
 * Every option of `startServer`, each with its default; `main.ts` fills them
 * from the resolved configuration (`config.ts`), tests set what they need.
 *
 * @example
 * ```ts ignore
 * import type { ServerOptions } from "./options.ts";
 *
 * const options: ServerOptions = { hostname: "127.0.0.1", port: 0, instances: 2 };
 * ```
 * @module
 */
import type { Authorizer } from "./auth/authorize.ts";
import type { AddressRanges } from "./auth/cidr.ts";
import type { EngineKind } from "./engine/kinds.ts";
import type { RunEvent } from "./engine/queue.ts";
import type { RequestEvent } from "./core/handler.ts";
import type { Logger } from "./log.ts";
import type { DigitCapture } from "./models/capture.ts";
import type { SwapEvent } from "./models/serving.ts";
import type { LoadFailure } from "./models/version_status.ts";
import type { ConnectionEvent } from "./tcp/limits.ts";
import type { TlsFiles } from "./tls/tls.ts";

/** Options of `startServer`; every one has a default. */
export interface ServerOptions {
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  /** One ONNX file served as the default model, version 1 (instead of a repository). */
  model?: string | URL;
  /** The model repository, `NAME/VERSION/model.onnx` (default: `models/` of this checkout). */
  modelRepository?: string;
  /** The model for requests that name none, and for legacy ones (default "mnist"). */
  defaultModel?: string;
  /** Refuse a model whose sha256 is missing or differs from its metadata (default true). */
  verifyChecksum?: boolean;
  /** Watch the repository and swap versions as they change (default false; the CLI turns it on). */
  watch?: boolean;
  /** Also rescan every this many seconds (0: never; default 0). */
  pollSeconds?: number;
  /** Rescan on SIGHUP (default false; the CLI turns it on). */
  sighup?: boolean;
  /** Called once per refused model version. */
  onLoadFailure?: (failure: LoadFailure) => void;
  /** Called after each model swap or unload. */
  onSwap?: (event: SwapEvent) => void;
  /** Keeps a sample of the digits served (`--capture`). */
  capture?: DigitCapture;
  log?: Logger;
  /** Which onnxruntime runs the models (default "wasm"). */
  engine?: EngineKind;
  /** Engine instances (default 1). */
  instances?: number;
  /** WASM threads per instance (default `DEFAULT_THREADS`). */
  threads?: number;
  maxBatch?: number;
  /** Engine runs aim for about this many ms; 0: `maxBatch` alone (default 5). */
  batchMs?: number;
  maxQueued?: number;
  maxFrame?: number;
  maxLegacy?: number;
  /** Largest HTTP request body, in bytes, after inflating. */
  maxHttpBody?: number;
  /** A whole message must arrive within this from its first byte, and a silent legacy connection is closed after it, ms (default 5 s). */
  messageTimeoutMs?: number;
  /** How long a framed connection may wait between messages, ms (default 15 min). */
  idleTimeoutMs?: number;
  /** How long a reply's write may make no progress before its connection is closed, ms (default 10 s). */
  writeTimeoutMs?: number;
  maxPipelined?: number;
  /** An engine run without progress for this long fails and its worker is replaced, ms. */
  runTimeoutMs?: number;
  /** The engine worker script (default onnxruntime-web's). */
  workerUrl?: string | URL;
  /** Called after every engine run. */
  onRun?: (event: RunEvent) => void;
  /** Board connections served at once (default `DEFAULT_MAX_CONNECTIONS`, 10,000). */
  maxConnections?: number;
  /** Board connections from one client address (default 1,024: a NAT gateway of many boards). */
  maxConnectionsPerAddress?: number;
  /** Bytes of unfinished messages buffered across all board connections (default 64 MiB). */
  maxBufferedBytes?: number;
  /** The smallest share of the queue a board connection gets however many are busy (default 16). */
  minQueueShare?: number;
  /** Peers whose PROXY protocol v2 header names the real client (`--trusted-proxy`). */
  trustedProxies?: AddressRanges | null;
  /** Told every request's outcome (metrics, dashboard). */
  onRequest?: (event: RequestEvent) => void;
  /** Told when the board port closes or refuses a connection. */
  onConnection?: (event: ConnectionEvent) => void;
  /** Who may be served (`--tokens`, `--legacy`, `--legacy-from`); everyone when absent. */
  auth?: Authorizer;
  /** A second board port speaking TLS (`--tls-port`), with its certificate and key. */
  tls?: TlsFiles & { port: number };
  /**
   * The HTTP port (OIP, health, /metrics, dashboard): 0 picks a free one, null
   * turns it off; default 8000, or 0 when `port` is 0.
   */
  httpPort?: number | null;
  /** When set, `/metrics` needs it as a bearer token. */
  metricsToken?: string;
  /** The bearer token of the repository's load/unload routes; null: they answer 403. */
  adminToken?: string | null;
  /** TLS for the HTTP port (`--tls-cert`/`--tls-key`). */
  httpTls?: TlsFiles;
}
