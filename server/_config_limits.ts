/**
 * The option table's rows of the "Limits and timeouts" group: batch size and length, queue, message and body sizes, connection caps, buffer memory and every timeout.
 * `config.ts` assembles them with the other groups' rows into the one table.
 *
 * @module
 */
import type { OptionSpec } from "./config_spec.ts";

const BYTES = { type: "int", min: 64, max: 16 * 1024 * 1024 } as const;

/** The "Limits and timeouts" rows, in the order `--help` lists them. */
export const LIMIT_OPTIONS = [
  {
    flag: "max-batch",
    kind: { type: "int", min: 1, max: 4096 },
    group: "limits",
    server: true,
    default: "128",
    help: "most digits in one engine run",
  },
  {
    flag: "batch-ms",
    kind: { type: "int", min: 0, max: 10_000 },
    group: "limits",
    server: true,
    default: "3",
    value: "MS",
    help: "run length batches aim for while a client queues ahead; 0: off",
    details:
      "batches shrink below --max-batch and one core is left to the event loop, so a board beside a flood waits little",
  },
  {
    flag: "max-queued",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "4096",
    help: "most digits waiting for a run; more get SERVER_BUSY",
  },
  {
    flag: "max-frame",
    kind: BYTES,
    group: "limits",
    server: true,
    default: String(16 * 1024),
    value: "BYTES",
    help: "largest framed request; larger gets FRAME_TOO_LARGE",
  },
  {
    flag: "max-legacy",
    kind: BYTES,
    group: "limits",
    server: true,
    default: String(64 * 1024),
    value: "BYTES",
    help: "largest legacy request; larger gets FRAME_TOO_LARGE",
  },
  {
    flag: "max-http-body",
    kind: { type: "int", min: 1024, max: 256 * 1024 * 1024 },
    group: "limits",
    server: true,
    default: String(4 * 1024 * 1024),
    value: "BYTES",
    help: "largest HTTP request body (after inflating), limited while it is read; larger gets 413",
  },
  {
    flag: "http-body-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "30000",
    value: "MS",
    help: "an HTTP request's body must arrive within this of its headers",
    details: "else 400 MALFORMED_BUFFER; a client that stops or drips mid-body is let go",
  },
  {
    flag: "max-pipelined",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "256",
    help: "replies a framed client may have outstanding before the server stops reading it",
  },
  {
    flag: "max-connections",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "10000",
    // Deno raises its soft file limit to the hard one at start, so this cap, not the file limit,
    // is what a crowd meets: refused with a reply. Past a lower `ulimit -n`, the listener's
    // reserve descriptor still accepts and closes.
    help: "board connections served at once; more get SERVER_BUSY and a close",
    details: "keep it below `ulimit -n`",
  },
  {
    flag: "max-connections-per-address",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "1024",
    help: "board connections from one client address (a NAT gateway fronts many boards)",
  },
  {
    flag: "max-buffered-bytes",
    kind: { type: "int", min: 65536 },
    group: "limits",
    server: true,
    default: String(64 * 1024 * 1024),
    value: "BYTES",
    help: "memory for unfinished messages of all connections: board messages and HTTP bodies",
    details:
      "past it, a board connection adding to it is cut; HTTP bodies may hold half of it, past that 503 SERVER_BUSY",
  },
  {
    flag: "min-queue-share",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "16",
    help: "digits a board connection may always have queued",
    details: "however many connections share the queue",
  },
  {
    flag: "message-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "5000",
    value: "MS",
    help: "a whole message must arrive within this from its first byte",
    details: "else MALFORMED_BUFFER and a close; a silent legacy connection is closed after it too",
  },
  {
    flag: "idle-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: String(15 * 60_000),
    value: "MS",
    help: "a framed connection silent this long between messages is closed",
    details: "boards may poll rarely",
  },
  {
    flag: "write-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "10000",
    value: "MS",
    help: "a connection whose replies make no write progress this long is closed",
  },
  {
    flag: "listener-timeout-ms",
    kind: { type: "int", min: 10 },
    group: "limits",
    server: true,
    default: "5000",
    value: "MS",
    help: "a listener Worker whose event loop shows no sign of life this long is replaced",
    details: "with --listeners above 1: each Worker is asked five times per limit; its " +
      "connections are dropped, and a new Worker serves in its place; one that loaded its code " +
      "but does not answer its bind within it is given up too",
  },
  {
    flag: "run-timeout-ms",
    kind: { type: "int", min: 1 },
    group: "limits",
    server: true,
    default: "2000",
    value: "MS",
    help: "an engine run without progress this long fails; its worker is replaced",
    details: "the run's requests get INTERNAL_ERROR",
  },
  {
    flag: "warm-up-ms",
    kind: { type: "int", min: 0, max: 60_000 },
    group: "limits",
    server: true,
    default: "3000",
    library: "0",
    value: "MS",
    help: "before the start line, send the request path real requests this long; 0: off",
    details:
      "the JIT compiles the path before the first client, so a fresh server serves at its warm rate from its first second; not ready meanwhile, and none of it is counted",
  },
  {
    flag: "drain-seconds",
    kind: { type: "int", min: 0 },
    group: "limits",
    default: "5",
    value: "S",
    help: "on SIGTERM, serve this long with readiness 503, then stop",
    details: "SIGINT stops without this wait; both answer what is in flight",
  },
] as const satisfies readonly OptionSpec[];
