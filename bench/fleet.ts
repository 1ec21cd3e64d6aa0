/**
 * `deno task bench:fleet`: what the fleet registry costs the server. It
 * registers `--devices` devices (10,000 by default) the way the one request
 * path does, each with a few requests (so its latency ring and hour of
 * minutes are in use), and prints:
 *
 * - memory: the V8 heap the registry holds once garbage is collected (and the
 *   process's RSS growth, coarser), in MB and per device;
 * - time: event-loop time per request spent in the fleet (the registry's
 *   `record` and the hour series' `request`), the median of `--rounds`
 *   rounds of `--requests` requests spread over every device.
 *
 * The issue's budget is 50 MB and 1 µs per request at 10,000 devices.
 *
 * @example
 * ```sh
 * deno task bench:fleet
 * deno task bench:fleet --devices 100000 --requests 2000000
 * ```
 *
 * ```ts
 * import { measureFleet } from "./fleet.ts";
 *
 * const figures = measureFleet({ devices: 100, requests: 1000, rounds: 1 });
 * console.log(figures.nsPerRequest > 0); // true
 * ```
 * @module
 */
import { DeviceRegistry, type DeviceSighting } from "../server/fleet/registry.ts";
import { TrafficSeries } from "../server/fleet/series.ts";
import { fixed, intFlag, parseOrExit } from "./_cli.ts";
import { parseFlags } from "../cli/args.ts";
import { median } from "./stats.ts";

const USAGE = `deno task bench:fleet [--devices N] [--requests N] [--rounds N]

  --devices N    devices registered (default 10000)
  --requests N   requests timed per round, spread over every device (default 1000000)
  --rounds N     timed rounds; the median is printed (default 5)`;

/** What one run measured. */
export interface FleetFigures {
  devices: number;
  /** Heap the registry holds after garbage collection, in bytes (needs --expose-gc to be exact). */
  heapBytes: number;
  rssBytes: number;
  nsPerRequest: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Registers the devices, then times requests over them. */
export function measureFleet(
  options: { devices: number; requests: number; rounds: number },
): FleetFigures {
  const ids = Array.from(
    { length: options.devices },
    (_, i) => (0x5ccf7f000000 + i * 7919).toString(16),
  );
  const peers = ids.map((_, i) =>
    `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${40000 + (i % 20000)}`
  );
  gc();
  const heapBefore = Deno.memoryUsage().heapUsed;
  const rssBefore = Deno.memoryUsage().rss;
  const fleet = new DeviceRegistry({ silentAfterMs: 600_000, forgetAfterMs: 604_800_000 });
  const series = new TrafficSeries();
  const sighting = (i: number, ms: number): DeviceSighting => ({
    id: ids[i],
    by: "device",
    peer: peers[i],
    protocol: "framed",
    // A new string per device, as each connection's decoded field is.
    firmware: `mnist-board/${1 + (i % 3)}.${i % 10}`,
    code: i % 97 === 0 ? "SERVER_BUSY" : "OK",
    totalMs: ms,
    modelVersion: 3,
    predicted: i % 10,
    score: 0.9,
  });
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < ids.length; i++) fleet.record(sighting(i, 1 + round));
  }
  gc();
  const heapBytes = Deno.memoryUsage().heapUsed - heapBefore;
  const rssBytes = Deno.memoryUsage().rss - rssBefore;
  const times: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const n = options.requests;
    const started = performance.now();
    for (let k = 0; k < n; k++) {
      const i = k % ids.length;
      const code = i % 97 === 0 ? "SERVER_BUSY" : "OK";
      fleet.record({
        id: ids[i],
        by: "device",
        peer: peers[i],
        protocol: "framed",
        firmware: "",
        code,
        totalMs: 1.5,
        modelVersion: 3,
        predicted: 7,
        score: 0.9,
      });
      series.request(code, 1.5);
    }
    times.push((performance.now() - started) * 1e6 / n);
  }
  if (fleet.size !== options.devices) throw new Error(`registered ${fleet.size} devices`);
  return { devices: fleet.size, heapBytes, rssBytes, nsPerRequest: median(times) };
}

export function parseFleetArgs(args: string[]) {
  const { values } = parseFlags({
    args,
    options: {
      devices: { type: "string" },
      requests: { type: "string" },
      rounds: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  return {
    devices: intFlag("devices", values.devices, 10_000, { min: 1, max: 10_000_000 }),
    requests: intFlag("requests", values.requests, 1_000_000, { min: 1 }),
    rounds: intFlag("rounds", values.rounds, 5, { min: 1, max: 101 }),
    help: values.help ?? false,
  };
}

if (import.meta.main) {
  const options = parseOrExit("bench:fleet", parseFleetArgs, Deno.args, USAGE);
  if (!(globalThis as { gc?: unknown }).gc) {
    console.error("bench:fleet: run with --v8-flags=--expose-gc for exact memory (deno task does)");
  }
  const f = measureFleet(options);
  const mb = (bytes: number) => fixed(bytes / 1e6, 1);
  console.log(`Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.os}`);
  console.log(
    `devices ${f.devices}: heap ${mb(f.heapBytes)} MB (${
      Math.round(f.heapBytes / f.devices)
    } B a device), ` +
      `RSS growth ${mb(f.rssBytes)} MB; budget 50 MB at 10,000`,
  );
  console.log(
    `per request: ${fixed(f.nsPerRequest / 1000, 3)} µs of event-loop time in the fleet ` +
      `(registry and hour series, median of ${options.rounds} rounds of ${options.requests}); budget 1 µs`,
  );
}
