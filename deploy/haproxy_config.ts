/**
 * Writes HAProxy's configuration for N servers: one source for the shipped
 * example (`deploy/haproxy.cfg`, checked equal to `EXAMPLE` by a test) and
 * for `deno task cluster`, which renders it for the servers it started.
 *
 * - Board port: `mode tcp` (legacy and framed are both raw TCP), `leastconn`
 *   (framed connections are long-lived), `send-proxy-v2` so each server sees
 *   the board's address (it trusts the header only from `--trusted-proxy`).
 * - HTTP port: `mode http`, round robin, `option forwardfor`: each server
 *   sees the client's address in `X-Forwarded-For` (trusted likewise).
 * - Both backends are health-checked with `GET /v2/health/ready` on the
 *   server's HTTP port: 503 while a server drains, so it leaves the rotation
 *   before it stops. Checks carry no PROXY header (no `check-send-proxy`).
 * - Client and server timeouts a minute longer than the server's framed
 *   idle timeout (15 minutes by default), so the server, not the proxy, ends
 *   an idle board's connection.
 * - `retries` and `option redispatch`: a connection refused by a server that
 *   just died is retried on another before the health check notices.
 *
 * @example
 * ```ts
 * import { renderHaproxyConfig } from "./haproxy_config.ts";
 *
 * console.log(renderHaproxyConfig({
 *   boardBind: "0.0.0.0:32001",
 *   httpBind: "0.0.0.0:8000",
 *   replicas: [{ name: "s1", host: "127.0.0.1", boardPort: 32011, httpPort: 8011 }],
 * }));
 * ```
 * @module
 */
import { tableDefault } from "../server/config.ts";

/** One server behind the proxy. */
export interface Replica {
  name: string;
  host: string;
  boardPort: number;
  httpPort: number;
}

/** What the configuration is made of. */
export interface HaproxyOptions {
  /** Where boards connect, `ADDRESS:PORT`. */
  boardBind: string;
  /** Where HTTP clients connect, `ADDRESS:PORT`. */
  httpBind: string;
  replicas: Replica[];
  /** Health check interval in ms (default 2,000). */
  checkIntervalMs?: number;
  /** Failed checks before a server leaves the rotation (default 2). */
  fall?: number;
  /** Passed checks before it comes back (default 2). */
  rise?: number;
  /**
   * The servers' `--idle-timeout-ms` and `--http-body-timeout-ms` (their
   * defaults when absent): the proxy's idle timeouts are a minute longer, so
   * the server, not the proxy, ends an idle board's connection; a request's
   * headers and body have as long as the server gives a body.
   */
  idleTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Most connections HAProxy holds (default 100,000; boards keep theirs open). */
  maxconn?: number;
  /** A stats socket path (`show stat`), or none. */
  statsSocket?: string;
}

/** The shipped example: two servers on this machine, as `deno task cluster --replicas 2` runs them. */
export const EXAMPLE: HaproxyOptions = {
  boardBind: `0.0.0.0:${tableDefault("port")}`,
  httpBind: `0.0.0.0:${tableDefault("http-port")}`,
  replicas: [
    { name: "s1", host: "127.0.0.1", boardPort: 32011, httpPort: 8011 },
    { name: "s2", host: "127.0.0.1", boardPort: 32012, httpPort: 8012 },
  ],
};

/** HAProxy's health check interval when `checkIntervalMs` is left out, ms. */
export const DEFAULT_CHECK_INTERVAL_MS = 2_000;

/** HAProxy's configuration text for `options`. */
export function renderHaproxyConfig(options: HaproxyOptions): string {
  const inter = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  const fall = options.fall ?? 2;
  const rise = options.rise ?? 2;
  const check = `check inter ${inter}ms fall ${fall} rise ${rise}`;
  const idle = `${
    Math.ceil((options.idleTimeoutMs ?? tableDefault("idle-timeout-ms")) / 1000) + 60
  }s`;
  const body = `${
    Math.ceil((options.bodyTimeoutMs ?? tableDefault("http-body-timeout-ms")) / 1000)
  }s`;
  const lines = [
    "# HAProxy in front of N mnist-servers (written by deploy/haproxy_config.ts; edit the",
    "# server lines for your machines). Check with: haproxy -c -f deploy/haproxy.cfg",
    "global",
    `    maxconn ${options.maxconn ?? 100_000}`,
    ...(options.statsSocket
      ? [`    stats socket ${options.statsSocket} mode 600 level admin`]
      : []),
    "",
    "defaults",
    "    timeout connect 3s",
    "    # A minute longer than the servers' idle timeout for framed connections.",
    `    timeout client ${idle}`,
    `    timeout server ${idle}`,
    "    timeout client-fin 30s",
    "    timeout check 2s",
    "    retries 3",
    "    option redispatch",
    "",
    "# Boards: legacy and framed protocols on one raw TCP port.",
    "frontend board",
    "    mode tcp",
    `    bind ${options.boardBind}`,
    "    default_backend board_servers",
    "",
    "backend board_servers",
    "    mode tcp",
    "    balance leastconn",
    "    # Health from each server's HTTP port: 503 while it drains after SIGTERM.",
    "    option httpchk GET /v2/health/ready",
    "    http-check expect status 200",
    ...options.replicas.map((r) =>
      `    server ${r.name} ${r.host}:${r.boardPort} send-proxy-v2 ${check} port ${r.httpPort}`
    ),
    "",
    "# HTTP: Open Inference Protocol, /metrics, dashboard.",
    "frontend http",
    "    mode http",
    `    bind ${options.httpBind}`,
    `    timeout http-request ${body}`,
    `    timeout http-keep-alive ${idle}`,
    "    default_backend http_servers",
    "",
    "backend http_servers",
    "    mode http",
    "    balance roundrobin",
    "    # The client's address for the servers' --trusted-proxy (X-Forwarded-For).",
    "    option forwardfor",
    "    option httpchk GET /v2/health/ready",
    "    http-check expect status 200",
    ...options.replicas.map((r) => `    server ${r.name} ${r.host}:${r.httpPort} ${check}`),
    "",
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  // `deno run deploy/haproxy_config.ts > deploy/haproxy.cfg` rewrites the shipped example.
  console.log(renderHaproxyConfig(EXAMPLE).trimEnd());
}
