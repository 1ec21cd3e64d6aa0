/**
 * The last digits received with their prediction, as the dashboard draws
 * them. (Per-device figures are the fleet registry's: `../fleet/registry.ts`.)
 *
 * @example
 * ```ts
 * import { RecentDigits } from "./devices.ts";
 *
 * const digits = new RecentDigits(16);
 * digits.push(new Uint8Array(784), null, 7, 0.99, "framed");
 * ```
 * @module
 */

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
