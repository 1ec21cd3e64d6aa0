/**
 * `deno task cluster`'s command line: `ClusterOptions`, the usage text,
 * `parseClusterArgs` (a `UsageError` of one sentence for a mistake; flags
 * after `--` go to every server) and `checkPortsFree`, which refuses a port
 * HAProxy could not listen on before anything starts. `cluster.ts` starts
 * what they ask for.
 *
 * @module
 */
import { parseFlags, UsageError } from "../cli/args.ts";
import { DEFAULT_CHECK_INTERVAL_MS } from "./haproxy_config.ts";
import { tableDefault } from "../server/config.ts";

/** What a cluster is started with. */
export interface ClusterOptions {
  replicas: number;
  /** HAProxy's board port (0: a free one). */
  port: number;
  /** HAProxy's HTTP port (0: a free one). */
  httpPort: number;
  /** Address HAProxy listens on. */
  host: string;
  /** Health check interval, ms. */
  checkIntervalMs: number;
  /** Flags for every server (after the cluster's own). */
  serverArgs: string[];
  /** Seconds a server keeps serving after SIGTERM (`--drain-seconds`). */
  drainSeconds: number;
}

/** Servers behind HAProxy when `--replicas` is left out. */
export const DEFAULT_REPLICAS = 2;

export const USAGE = `Usage: deno task cluster [--replicas N] [options] [-- server flags]

Starts N inference servers on loopback (free ports) behind HAProxy (Debian's haproxy):
the board port in mode tcp with PROXY v2 to the servers, the HTTP port in mode http, both
health-checked with GET /v2/health/ready. Ctrl-C stops everything.

Options:
  --replicas N           servers (default ${DEFAULT_REPLICAS})
  --host HOST            address HAProxy listens on (default 127.0.0.1)
  --port PORT            HAProxy's board port (default ${tableDefault("port")}; 0 picks a free one)
  --http-port PORT       HAProxy's HTTP port (default ${
  tableDefault("http-port")
}; 0 picks a free one)
  --check-interval-ms MS health check interval (default ${DEFAULT_CHECK_INTERVAL_MS})
  --drain-seconds S      each server's --drain-seconds (default ${tableDefault("drain-seconds")})
  -h, --help             show this help
Flags after -- go to every server (e.g. -- --threads 2 --instances 1).`;

/**
 * Refuses, before anything starts, a `--port` or `--http-port` HAProxy could
 * not listen on: taken by another program, the same for both, or on a
 * `--host` that is not this machine's. A `UsageError` naming the flag.
 */
export function checkPortsFree(options: Pick<ClusterOptions, "host" | "port" | "httpPort">): void {
  if (options.port !== 0 && options.port === options.httpPort) {
    throw new UsageError(`--port and --http-port are both ${options.port}: give them two ports`);
  }
  for (
    const [flag, port] of [["--port", options.port], ["--http-port", options.httpPort]] as const
  ) {
    if (port === 0) continue;
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({ hostname: options.host, port });
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new UsageError(
          `${flag} ${port} is in use on ${options.host}: stop what listens there, or pick ` +
            `another port (0: a free one)`,
        );
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new UsageError(`${flag} ${port}: no permission to listen there (below 1024: root)`);
      }
      if (e instanceof Deno.errors.AddrNotAvailable) {
        throw new UsageError(`--host ${options.host} is not an address of this machine`);
      }
      throw new UsageError(`${flag} ${port} on ${options.host}: ${(e as Error).message}`);
    }
    listener.close();
  }
}

/** Reads the command line; throws a sentence on a mistake. */
export function parseClusterArgs(args: string[]): ClusterOptions & { help: boolean } {
  const split = args.indexOf("--");
  const own = split < 0 ? args : args.slice(0, split);
  const { values } = parseFlags({
    args: own,
    options: {
      replicas: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "http-port": { type: "string" },
      "check-interval-ms": { type: "string" },
      "drain-seconds": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const int = (
    name: string,
    text: string | undefined,
    fallback: number,
    min: number,
    max: number,
  ) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    }
    return n;
  };
  return {
    replicas: int("replicas", values.replicas, DEFAULT_REPLICAS, 1, 64),
    host: values.host ?? "127.0.0.1",
    port: int("port", values.port, tableDefault("port"), 0, 65535),
    httpPort: int("http-port", values["http-port"], tableDefault("http-port"), 0, 65535),
    checkIntervalMs: int(
      "check-interval-ms",
      values["check-interval-ms"],
      DEFAULT_CHECK_INTERVAL_MS,
      100,
      60_000,
    ),
    drainSeconds: int(
      "drain-seconds",
      values["drain-seconds"],
      tableDefault("drain-seconds"),
      0,
      3600,
    ),
    serverArgs: split < 0 ? [] : args.slice(split + 1),
    help: values.help ?? false,
  };
}
