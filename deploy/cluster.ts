/**
 * `deno task cluster [--replicas N]`: N servers on loopback behind HAProxy, as
 * a deployment over N machines would run (deploy/haproxy.cfg), on one
 * machine. Each server takes free ports and trusts the PROXY header from
 * 127.0.0.1 only; HAProxy's configuration is rendered for those ports
 * (`haproxy_config.ts`) and HAProxy runs in the foreground. Ctrl-C (or
 * SIGTERM) stops HAProxy and then every server. A port already taken, or a
 * server flag after `--` the server refuses, is one sentence and exit 2,
 * before HAProxy starts. The command line is `cluster_args.ts`'s.
 *
 * @example
 * ```sh
 * deno task cluster --replicas 2                     # boards on :32001, HTTP on :8000
 * deno task cluster --replicas 3 --port 4000 --http-port 4080 -- --threads 2
 * ```
 * @module
 */
import { exitOnUsageError, exitWithError } from "../cli/args.ts";
import {
  type ServerProcess,
  ServerStartError,
  spawnServer,
} from "../server/testing/server_process.ts";
import { renderHaproxyConfig, type Replica } from "./haproxy_config.ts";
import { ConfigError, resolveConfig } from "../server/config_resolve.ts";
import { checkPortsFree, type ClusterOptions, parseClusterArgs, USAGE } from "./cluster_args.ts";

/** A running cluster. */
export interface Cluster {
  boardPort: number;
  httpPort: number;
  servers: ServerProcess[];
  haproxy: Deno.ChildProcess;
  configPath: string;
  /** Each backend server's state by `backend/server`, from HAProxy's stats socket ("UP", "DOWN", ...). */
  serverStates(): Promise<Record<string, string>>;
  /** Stops HAProxy, then the servers (SIGTERM). */
  stop(): Promise<void>;
}

/**
 * The most connections HAProxy may hold here: it needs two descriptors per
 * proxied connection and refuses to start when the hard limit is lower.
 */
function haproxyMaxconn(): number {
  const { stdout } = new Deno.Command("sh", { args: ["-c", "ulimit -Hn"] }).outputSync();
  const limit = Number(new TextDecoder().decode(stdout).trim());
  if (!Number.isFinite(limit)) return 20_000; // "unlimited"
  return Math.max(1_000, Math.min(20_000, Math.floor((limit - 200) / 2)));
}

/** A free TCP port on loopback (free when asked; HAProxy binds it a moment later). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Resolves once `port` takes connections; throws if HAProxy ends first or none come in time. */
async function waitForPort(
  hostname: string,
  port: number,
  timeoutMs: number,
  haproxy: Deno.ChildProcess,
): Promise<void> {
  let ended: Deno.CommandStatus | null = null;
  haproxy.status.then((status) => ended = status);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (ended) {
      throw new Error(
        `haproxy exited with code ${(ended as Deno.CommandStatus).code} before it listened on ` +
          `${hostname}:${port} (its lines above say why)`,
      );
    }
    try {
      (await Deno.connect({ hostname, port })).close();
      return;
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Sends a command to HAProxy's stats socket and returns its answer. */
async function statsCommand(path: string, command: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(new TextEncoder().encode(command + "\n"));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16_384);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    conn.close();
  }
}

/**
 * The servers' idle and body timeouts as their flags (or `MNIST_` variables)
 * set them, for HAProxy's own: each server checks its flags when it starts.
 */
export function serverTimeouts(args: string[]): { idleTimeoutMs?: number; bodyTimeoutMs?: number } {
  const config = resolveConfig(args, Deno.env.toObject());
  if (config instanceof ConfigError || config === "help") return {};
  return { idleTimeoutMs: config.idleTimeoutMs, bodyTimeoutMs: config.httpBodyTimeoutMs };
}

/** Starts the servers, then HAProxy in front of them; resolves once every server is UP in both backends. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const servers: ServerProcess[] = [];
  const dir = await Deno.makeTempDir({ prefix: "mnist-cluster-" });
  try {
    const settled = await Promise.allSettled(
      Array.from({ length: options.replicas }, () =>
        spawnServer({
          extraArgs: [
            "--trusted-proxy",
            "127.0.0.1/32",
            "--drain-seconds",
            String(options.drainSeconds),
            "--log-level",
            "warn",
            ...options.serverArgs,
          ],
          startTimeoutMs: 60_000,
        })),
    );
    // Every server that did start is stopped (below) when another did not.
    for (const result of settled) if (result.status === "fulfilled") servers.push(result.value);
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const replicas: Replica[] = servers.map((s, i) => {
      if (s.httpPort === null) throw new Error("a server started without an HTTP port");
      return { name: `s${i + 1}`, host: s.hostname, boardPort: s.port, httpPort: s.httpPort };
    });
    const boardPort = options.port || freePort();
    const httpPort = options.httpPort || freePort();
    const statsSocket = `${dir}/stats.sock`;
    const configPath = `${dir}/haproxy.cfg`;
    await Deno.writeTextFile(
      configPath,
      renderHaproxyConfig({
        boardBind: `${options.host}:${boardPort}`,
        httpBind: `${options.host}:${httpPort}`,
        replicas,
        checkIntervalMs: options.checkIntervalMs,
        ...serverTimeouts(options.serverArgs),
        maxconn: haproxyMaxconn(),
        statsSocket,
      }),
    );
    // -db: stay in the foreground, so stopping the cluster stops HAProxy.
    const haproxy = new Deno.Command("haproxy", {
      args: ["-db", "-f", configPath],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const cluster: Cluster = {
      boardPort,
      httpPort,
      servers,
      haproxy,
      configPath,
      async serverStates() {
        const csv = await statsCommand(statsSocket, "show stat");
        const states: Record<string, string> = {};
        for (const row of csv.split("\n").slice(1)) {
          const cells = row.split(",");
          if (cells.length > 17 && cells[1] !== "FRONTEND" && cells[1] !== "BACKEND") {
            states[`${cells[0]}/${cells[1]}`] = cells[17].split(" ")[0];
          }
        }
        return states;
      },
      async stop() {
        try {
          haproxy.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        await haproxy.status;
        await Promise.all(servers.map((s) => s.stop(15_000)));
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
    try {
      await waitForPort(options.host, boardPort, 10_000, haproxy);
      await waitForPort(options.host, httpPort, 10_000, haproxy);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    const deadline = performance.now() + 30_000;
    for (;;) {
      const states = Object.values(await cluster.serverStates());
      if (states.length === 2 * servers.length && states.every((s) => s === "UP")) break;
      if (performance.now() > deadline) {
        await cluster.stop();
        throw new Error(`HAProxy did not see every server UP: ${states.join(", ")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return cluster;
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop(5_000)));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

if (import.meta.main) {
  let options;
  try {
    options = parseClusterArgs(Deno.args);
  } catch (e) {
    exitOnUsageError("cluster", e);
  }
  if (options.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    checkPortsFree(options);
  } catch (e) {
    exitOnUsageError("cluster", e);
  }
  let cluster: Cluster;
  try {
    cluster = await startCluster(options);
  } catch (e) {
    if (e instanceof ServerStartError) {
      // Code 2: the server refused its flags (those after --) or its set-up.
      exitWithError("cluster", `the server did not start: ${e.sentence}`, e.code === 2 ? 2 : 1);
    }
    const message = e instanceof Deno.errors.NotFound
      ? "haproxy is not installed (Debian: apt-get install haproxy)"
      : (e as Error).message;
    exitWithError("cluster", message, 1);
  }
  console.log(
    `mnist-cluster listening on ${options.host}:${cluster.boardPort} ` +
      `http=${options.host}:${cluster.httpPort} replicas=${cluster.servers.length} ` +
      `servers=${cluster.servers.map((s) => `${s.port}/${s.httpPort}`).join(",")}`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cluster.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const status = await cluster.haproxy.status;
  if (!stopping) {
    console.error(`cluster: haproxy exited with code ${status.code}`);
    await cluster.stop();
    Deno.exit(1);
  }
}
