/**
 * `deno task bench:stress --help`: the usage text, every flag `stress_args.ts`
 * reads with its default and bounds.
 *
 * @module
 */
import { thousands } from "./_cli.ts";
import { tableDefault } from "../server/config.ts";
import { ENGINE_KINDS } from "../server/config_spec.ts";
import { MAX_CLIENTS, MAX_STEP_REQUESTS } from "./stress_args.ts";

export const USAGE = `Usage: deno task bench:stress [options]

Load-tests the inference server on loopback with simulated devices, as the legacy C++ stress
tool did, and prints its two lines (Total elapsed time, Average server inference time), then
req/s, latency p50/p90/p99/max, fairness, errors by kind, server queue time and batch size
(framed), and the CPU the load generator and the server used.

Target:
  --server HOST[:PORT]   a running server on loopback (port default ${
  tableDefault("port")
}); without it the
                         bench starts one as a subprocess (as deno task serve) on a free port
                         and stops it at the end
  --server-threads N     threads per engine instance of the started server (default: its
                         --threads auto)
  --server-instances K   --instances of the started server (default: the server's)
  --server-engine E      --engine of the started server: ${ENGINE_KINDS.join(" or ")} (default:
                         the server's, ${tableDefault("engine")})
  --server-max-batch N   --max-batch of the started server (default: the server's, ${
  tableDefault("max-batch")
})
  --server-main FILE     start this entry point instead of server/main.ts (a changed copy
                         of the server, to measure a proposed change side by side)
  --server-listeners N   listener Workers of the started server (--listeners N, run with
                         --unstable-net; default 1: the board port on its main thread)
  --server-cpus LIST     pin the started server to these CPUs (taskset -c LIST, e.g. 0 or 0,1)
  --server-v8-flags F    V8 flags of the started server, comma-separated (default: those
                         deno task serve passes; none: no flags)

Load (bounded: at most ${thousands(MAX_CLIENTS)} clients and ${
  thousands(MAX_STEP_REQUESTS)
} requests per step):
  --clients N            concurrent simulated devices (default 500)
  --requests R           requests per client, one at a time (default 1)
  --protocol P           legacy (a connection per request, as old clients), framed, or
                         http (OIP JSON infer of one digit, keep-alive), http-binary (the
                         same with binary tensors: Inference-Header-Content-Length); a list
                         such as framed,http,http-binary runs each in turn on the same
                         server (default legacy);
                         mqtt: each client a device on the broker (needs deno task install:mqtt)
  --mqtt URL             the broker for mqtt (default: the bench starts Mosquitto on a free
                         port and the server with --mqtt; with --server, the running server's)
  --mqtt-qos Q           0 (the board's) or 1 (default 0)
  --http-port PORT       the running server's HTTP port, with --server (default 8000)
  --keep-alive           framed: one connection per client for all its requests
  --digits D             float (784 floats, as old clients) or u8 (784 bytes); default float
                         for legacy, u8 for framed
  --garbage              float digits full of NaN/Inf/huge values, as the old tool's
                         uninitialised array
  --digit-source S       mnist (the 1,000 held-out digits; default) or synthetic
  --duration S           no request starts after S seconds into a step (default 60)
  --timeout S            a request unanswered after S seconds is cut off (default 10)
  --sweep LIST           one step per client count, e.g. 1,10,100,500,2000
  --workers K            Deno Workers running the clients (default 1; 0 = main thread)
  --warmup N             requests sent first and not measured (default 500; 0 = none); a
                         fresh server's first ~20,000 run colder code: 20000 measures a warm one

Comparison and output:
  --compare-inference    first time the engine alone (bench:inference, engine path, threads
                         1 and 2, 1 and the server's instances side by side, batches
                         1/8/32/128) and compare served req/s with it; the server's own
                         configuration is timed again just before and after each step
  --inference-runs N     runs per inference cell (default 1000, at most 2 s per cell)
  --check                exit 1 when a target ratio misses (printed after every run: failed
                         requests, fairness, event loop us per request (and against
                         --baseline-us), served / engine alone, http and http-binary /
                         framed, one client's not-inference share and p99/p50, a fresh
                         server's first second / its warm rate: the same step repeated,
                         as in --protocol framed,framed, else the step's steady rate)
  --targets              every target's ratio in one run: each target's own step (500
                         framed keep-alive clients, 100 HTTP and framed, one client, a
                         fresh server, 500 legacy clients), native where the target says,
                         each against a server of its own; all checks again at the end
                         (about 1.5 minutes; with --check, exit 1 when one misses)
  --baseline-us N        the event loop's us per request of the code before (for --check)
  --json FILE            write the results as JSON
  --report FILE.html     write a self-contained HTML report (charts as inline SVG)
  -q, --quiet            no progress on stderr
  -h, --help             show this help

Permissions: the task runs with -A because Deno reads /proc/<pid> (per-thread CPU of the
load workers and the server) only with --allow-all; without it the CPU figures are left out.`;
