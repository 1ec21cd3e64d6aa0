/**
 * The fleet: every device the server has heard from, keyed by its id (the
 * token's name with tokens on; else the `device` field its firmware sends;
 * else `addr:<address>` for clients that send neither, such as legacy ones).
 * Fed once per request from the one request path's observer, it keeps per
 * device: first and last seen, address, protocol, firmware, model version
 * last served, requests, errors by code, latency p50/p99 over its last 64
 * requests, last digit and score, and requests per minute over the last hour
 * (the fleet page's sparkline; `_device_record.ts` lays them out, and
 * `device_view.ts` is the JSON the views show). A device is `online` until
 * it has been quiet for `silentAfterMs`, then `silent`; quiet for
 * `forgetAfterMs`, it is forgotten. Past `maxDevices`, the tenth heard from
 * least recently goes.
 *
 * Per-device figures live here and in the fleet views, never in metric
 * labels: `/metrics` gets `mnist_devices{state}` only.
 *
 * @example
 * ```ts
 * import { DeviceRegistry } from "./registry.ts";
 *
 * const fleet = new DeviceRegistry({ silentAfterMs: 600_000, forgetAfterMs: 7 * 86_400_000 });
 * fleet.record({
 *   id: "5ccf7f0a1b2c", by: "device", peer: "10.0.0.7:5123", protocol: "framed", firmware: "mnist-board/1.2",
 *   code: "OK", totalMs: 1.2, modelVersion: 3, predicted: 7, score: 0.98,
 * });
 * console.log(fleet.get("5ccf7f0a1b2c")?.state); // "online"
 * ```
 * @module
 */

import { splitFirmware } from "./releases.ts";
import { countMinute, DeviceRecord, LATENCIES, MINUTE_MS, recordView } from "./_device_record.ts";
import type { DeviceState, DeviceView, IdentifiedBy } from "./device_view.ts";
import type { DeviceUpdateView } from "./_device_updates.ts";

/** What one request tells about its device. */
export interface DeviceSighting {
  id: string;
  by: IdentifiedBy;
  /** `host:port` (its real address behind a trusted proxy). */
  peer: string;
  protocol: string;
  /** Firmware name and version (`client`), "" when unknown. */
  firmware: string;
  /** The reply's status name ("OK" or an error code). */
  code: string;
  totalMs: number;
  modelVersion: number | null;
  predicted: number | null;
  score: number | null;
}

/** Which devices a list shows. */
export interface DeviceFilter {
  state?: DeviceState;
  /** Firmware exactly as the device sent it (`mnist-device 1.0.0+4a3225d2`), or its version. */
  firmware?: string;
  /** Update state name (`offered`, `failed`...), or `none` for devices that never had one. */
  update?: string;
}

/** Most recently heard from first. */
function byLastSeen(a: DeviceRecord, b: DeviceRecord): number {
  return b.lastSeen - a.lastSeen;
}

/** The fleet's devices; see the module doc. */
export class DeviceRegistry {
  readonly silentAfterMs: number;
  readonly forgetAfterMs: number;
  readonly maxDevices: number;
  #devices = new Map<string, DeviceRecord>();
  #now: () => number;
  #nextSweep = 0;
  /** Where each device's update state lives (`FleetUpdates.deviceView`); unset: none. */
  updateOf: ((id: string) => DeviceUpdateView | null) | null = null;
  /** Told each device forgotten (quiet too long, or evicted at the cap), so its update state goes too. */
  onForget: ((id: string) => void) | null = null;
  /** Told each eviction at the cap: how many devices went, and when the last of them was heard. */
  onEvict: ((count: number, lastSeen: number) => void) | null = null;
  /** Devices evicted at the cap since start (`mnist_devices_evicted_total`). */
  evicted = 0;

  constructor(
    options: {
      silentAfterMs: number;
      forgetAfterMs: number;
      maxDevices?: number;
      now?: () => number;
    },
  ) {
    this.silentAfterMs = options.silentAfterMs;
    this.forgetAfterMs = options.forgetAfterMs;
    this.maxDevices = options.maxDevices ?? Infinity;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#devices.size;
  }

  /** Counts one request of a device. */
  record(s: DeviceSighting): void {
    const now = this.#now();
    let d = this.#devices.get(s.id);
    // Forgotten but not yet swept: it starts again, as a device never seen. It leaves the map
    // before any eviction, so that the device heard now is never the one evicted.
    if (!d || this.#forgotten(d, now)) {
      if (d) this.#devices.delete(s.id);
      if (this.#devices.size >= this.maxDevices) this.#evictOldest();
      d = new DeviceRecord(s.id, s.by, now);
      this.#devices.set(s.id, d);
    }
    d.by = s.by;
    if (d.peer !== s.peer) {
      d.peer = s.peer;
      d.address = addressOf(s.peer);
    }
    d.protocol = s.protocol;
    if (s.firmware) d.firmware = s.firmware;
    d.latency[d.requests % LATENCIES] = s.totalMs;
    d.requests++;
    if (s.code !== "OK") {
      d.errors++;
      const byCode = d.errorsByCode ??= {};
      byCode[s.code] = (byCode[s.code] ?? 0) + 1;
    } else {
      // Only an answer says which version served it.
      if (s.modelVersion !== null) d.modelVersion = s.modelVersion;
      if (s.predicted !== null) {
        d.lastDigit = s.predicted;
        d.lastScore = s.score;
      }
    }
    countMinute(d, now);
    d.lastSeen = now;
    // Once the device is heard now: a sweep never forgets the device this request came from,
    // nor the update state its reply may have just offered it (`onForget`).
    if (now >= this.#nextSweep) this.sweep(now);
  }

  /** A device's state as of now. */
  stateOf(lastSeen: number, now = this.#now()): DeviceState {
    return now - lastSeen > this.silentAfterMs ? "silent" : "online";
  }

  /** One device, or null when it is unknown (or forgotten). */
  get(id: string): DeviceView | null {
    const d = this.#devices.get(id);
    const now = this.#now();
    return d && !this.#forgotten(d, now) ? this.#view(d, now) : null;
  }

  /** Whether the device is known but quiet past `forgetAfterMs`, not yet swept. */
  isForgotten(id: string): boolean {
    const d = this.#devices.get(id);
    return d !== undefined && this.#forgotten(d, this.#now());
  }

  /** The firmware a known device last named (its `client` field), else "". */
  firmwareOf(id: string): string {
    return this.#devices.get(id)?.firmware ?? "";
  }

  /** The devices that pass `filter`, most recently seen first; at most `limit` of them. */
  list(filter: DeviceFilter = {}, limit = Infinity): DeviceView[] {
    const now = this.#now();
    return this.#sorted(filter, now).slice(0, limit).map((d) => this.#view(d, now));
  }

  /**
   * `list(filter)` from its `offset`th device, at most `limit` of them, as
   * pages of `size` views, each made when its page is asked for: a fleet of
   * 100,000 devices goes out a page per turn of the event loop instead of
   * holding it for seconds (and its JSON whole in memory). `total` is how
   * many devices the filter matches.
   */
  window(
    filter: DeviceFilter = {},
    { offset = 0, limit = Infinity, size = 500 } = {},
  ): { total: number; pages: Generator<DeviceView[]> } {
    const now = this.#now();
    // A count alone (`limit` 0, the fleet page's silent total) needs no order.
    const rows = this.#matching(filter, now);
    if (limit > 0) rows.sort(byLastSeen);
    const end = Math.min(rows.length, offset + limit);
    const view = (d: DeviceRecord) => this.#view(d, now);
    function* pages(): Generator<DeviceView[]> {
      for (let i = offset; i < end; i += size) {
        yield rows.slice(i, Math.min(i + size, end)).map(view);
      }
    }
    return { total: rows.length, pages: pages() };
  }

  #sorted(filter: DeviceFilter, now: number): DeviceRecord[] {
    return this.#matching(filter, now).sort(byLastSeen);
  }

  /** The devices `filter` matches, in no order. */
  #matching(filter: DeviceFilter, now: number): DeviceRecord[] {
    this.sweep(now);
    const rows: DeviceRecord[] = [];
    for (const d of this.#devices.values()) {
      if (this.#forgotten(d, now)) continue;
      if (filter.state && this.stateOf(d.lastSeen, now) !== filter.state) continue;
      if (filter.firmware && !firmwareMatches(d.firmware, filter.firmware)) continue;
      if (filter.update && (this.updateOf?.(d.id)?.state ?? "none") !== filter.update) continue;
      rows.push(d);
    }
    return rows;
  }

  /** How many devices are in each state now. */
  counts(): Record<DeviceState, number> {
    const now = this.#now();
    this.sweep(now);
    const counts = { online: 0, silent: 0 };
    for (const d of this.#devices.values()) {
      if (!this.#forgotten(d, now)) counts[this.stateOf(d.lastSeen, now)]++;
    }
    return counts;
  }

  /**
   * Drops the devices quiet for longer than `forgetAfterMs`. One pass over
   * the fleet, so it runs at most once a minute (or a tenth of
   * `forgetAfterMs`); the views skip a forgotten device in between.
   */
  sweep(now = this.#now()): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + Math.min(MINUTE_MS, this.forgetAfterMs / 10);
    for (const [id, d] of this.#devices) if (this.#forgotten(d, now)) this.#forget(id);
  }

  #forget(id: string): void {
    this.#devices.delete(id);
    this.onForget?.(id);
  }

  #forgotten(d: DeviceRecord, now: number): boolean {
    return now - d.lastSeen > this.forgetAfterMs;
  }

  /**
   * At the cap: forgets the tenth of the devices heard from least recently
   * (at least one), and no more: many devices share a millisecond (the
   * replies of one engine run are told in one turn), so those heard at the
   * cut's millisecond go only as far as the tenth needs. Told to `onEvict`.
   */
  #evictOldest(): void {
    const seen = Float64Array.from(this.#devices.values(), (d) => d.lastSeen).sort();
    const count = Math.max(1, Math.floor(seen.length / 10));
    const cut = seen[count - 1];
    // Those heard before the cut's millisecond, then as many heard in it as the tenth needs.
    let atCut = count - seen.findIndex((t) => t === cut);
    for (const [id, d] of this.#devices) {
      if (d.lastSeen < cut || (d.lastSeen === cut && atCut-- > 0)) this.#forget(id);
    }
    this.evicted += count;
    this.onEvict?.(count, cut);
  }

  #view(d: DeviceRecord, now: number): DeviceView {
    return recordView(d, now, this.stateOf(d.lastSeen, now), this.updateOf?.(d.id) ?? null);
  }
}

/** The whole `client` string (`mnist-device 1.0.0+4a3225d2`), or its version after a space or slash. */
function firmwareMatches(firmware: string, wanted: string): boolean {
  return firmware === wanted || splitFirmware(firmware).version === wanted;
}

/** `host:port` -> `host` (IPv6 hosts keep their colons; `[::1]:80` -> `::1`). */
export function addressOf(peer: string): string {
  // The common case, `a.b.c.d:port`, without a regular expression: this runs per request.
  const colon = peer.indexOf(":");
  if (colon > 0 && colon === peer.lastIndexOf(":")) return peer.slice(0, colon);
  const bracketed = peer.match(/^\[(.*)\]:\d+$/);
  if (bracketed) return bracketed[1];
  const colons = peer.split(":").length - 1;
  if (colons === 1) return peer.slice(0, peer.lastIndexOf(":"));
  // A bare IPv6 address, or Deno's `hostname:port` with an IPv6 hostname.
  const match = peer.match(/^(.*:.*):(\d+)$/);
  return colons > 1 && match && match[1].includes("::") ? match[1] : peer;
}
