/**
 * What the dashboard shows per device and per digit: a table of the devices
 * seen (address, device name when tokens are on, firmware from the `client`
 * field, protocol, requests, last seen; silent ones flagged) and the last
 * digits received with their prediction. Per-device figures live here and
 * never in metric labels: fleets are large.
 *
 * @example
 * ```ts
 * import { DeviceTable, RecentDigits } from "./devices.ts";
 *
 * const devices = new DeviceTable();
 * devices.seen({ peer: "10.0.0.7:51234", protocol: "framed", client: "mnist-board/1.2", ok: true });
 * console.log(devices.list()[0].address); // "10.0.0.7"
 * const digits = new RecentDigits(16);
 * digits.push(new Uint8Array(784), null, 7, 0.99, "framed");
 * ```
 * @module
 */

/** One device as the dashboard lists it. */
export interface DeviceRow {
  /** The client's address (its real one behind a PROXY-protocol proxy), without the port. */
  address: string;
  /** The device's name from the token file, when tokens are on. */
  device: string | null;
  /** Firmware name and version from the request's `client` field. */
  client: string | null;
  protocol: string;
  requests: number;
  errors: number;
  firstSeen: number;
  /** Wall-clock ms of its last request. */
  lastSeen: number;
  /** No request for longer than the table's `silentAfterMs`. */
  silent: boolean;
}

/** What one request tells about its device. */
export interface Sighting {
  /** `host:port` or `host`. */
  peer: string;
  protocol: string;
  device?: string | null;
  client?: string | null;
  ok: boolean;
}

/** `host:port` -> `host` (IPv6 hosts keep their colons). */
export function addressOf(peer: string): string {
  const bracketed = peer.match(/^\[(.*)\]:\d+$/);
  if (bracketed) return bracketed[1];
  const colons = peer.split(":").length - 1;
  if (colons === 1) return peer.slice(0, peer.lastIndexOf(":"));
  // A bare IPv6 address, or Deno's `hostname:port` with an IPv6 hostname.
  const match = peer.match(/^(.*:.*):(\d+)$/);
  return colons > 1 && match && match[1].includes("::") ? match[1] : peer;
}

/** The devices seen, keyed by device name (tokens on) or address; the least recent go past `max`. */
export class DeviceTable {
  readonly silentAfterMs: number;
  readonly max: number;
  #rows = new Map<string, DeviceRow>();
  /** `host:port` -> its address and row key (at most `max`, then forgotten at once). */
  #peers = new Map<string, { address: string; key: string }>();
  #now: () => number;

  constructor(options: { silentAfterMs?: number; max?: number; now?: () => number } = {}) {
    this.silentAfterMs = options.silentAfterMs ?? 60_000;
    this.max = options.max ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#rows.size;
  }

  seen(s: Sighting): void {
    // Every request comes through here: a peer's address and key are worked out once.
    let peer = this.#peers.get(s.peer);
    if (!peer) {
      if (this.#peers.size >= this.max) this.#peers.clear();
      const host = addressOf(s.peer);
      peer = { address: host, key: `address:${host}` };
      this.#peers.set(s.peer, peer);
    }
    const address = peer.address;
    const key = s.device ? `device:${s.device}` : peer.key;
    const now = this.#now();
    let row = this.#rows.get(key);
    if (row) {
      this.#rows.delete(key); // re-inserted last: the map stays in least-recent-first order
    } else {
      row = {
        address,
        device: s.device ?? null,
        client: null,
        protocol: s.protocol,
        requests: 0,
        errors: 0,
        firstSeen: now,
        lastSeen: now,
        silent: false,
      };
    }
    row.address = address;
    row.protocol = s.protocol;
    if (s.client) row.client = s.client;
    row.requests++;
    if (!s.ok) row.errors++;
    row.lastSeen = now;
    this.#rows.set(key, row);
    if (this.#rows.size > this.max) this.#rows.delete(this.#rows.keys().next().value!);
  }

  /** Up to `limit` devices, most recent first, with `silent` set as of now. */
  list(limit = 100): DeviceRow[] {
    const now = this.#now();
    const rows = [...this.#rows.values()].slice(-limit).reverse();
    return rows.map((row) => ({ ...row, silent: now - row.lastSeen > this.silentAfterMs }));
  }

  /** Devices with no request for longer than `silentAfterMs`. */
  silentCount(): number {
    const now = this.#now();
    let n = 0;
    for (const row of this.#rows.values()) if (now - row.lastSeen > this.silentAfterMs) n++;
    return n;
  }
}

/** A digit as the dashboard draws it. */
export interface DigitSample {
  /** 784 bytes, 0..255, row-major, base64. */
  pixels: string;
  predicted: number;
  score: number;
  protocol: string;
  at: number;
}

/** The last `size` digits received, oldest first. */
export class RecentDigits {
  readonly size: number;
  #ring: (Omit<DigitSample, "pixels"> & { bytes: Uint8Array })[] = [];
  /** Where the next digit goes once the ring is full. */
  #next = 0;

  constructor(size = 16) {
    this.size = size;
  }

  /** Keeps a copy of a digit given as bytes (0..255) or floats (0..1, clamped). */
  push(
    digitU8: ArrayLike<number> | null,
    digit: ArrayLike<number> | null,
    predicted: number,
    score: number,
    protocol: string,
  ): void {
    // Every request comes through here: copy into a slot of the ring (no
    // allocation once it is full), encode only when the dashboard asks.
    let slot = this.#ring.length < this.size ? null : this.#ring[this.#next];
    if (!slot) {
      slot = { bytes: new Uint8Array(784), predicted, score, protocol, at: 0 };
      this.#ring.push(slot);
    } else {
      this.#next = (this.#next + 1) % this.size;
    }
    const bytes = slot.bytes;
    if (digitU8 instanceof Uint8Array) bytes.set(digitU8.subarray(0, 784));
    else if (digitU8) {
      for (let i = 0; i < 784; i++) bytes[i] = digitU8[i];
    } else if (digit) {
      for (let i = 0; i < 784; i++) {
        const v = digit[i];
        bytes[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
      }
    } else bytes.fill(0);
    slot.predicted = predicted;
    slot.score = score;
    slot.protocol = protocol;
    slot.at = Date.now();
  }

  list(): DigitSample[] {
    const oldestFirst = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return oldestFirst.map(({ bytes, ...rest }) => ({
      ...rest,
      pixels: btoa(String.fromCharCode(...bytes)),
    }));
  }
}
