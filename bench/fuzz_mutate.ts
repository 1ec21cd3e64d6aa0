/**
 * The fuzzer's mutations: valid requests (legacy and framed, built by our
 * codec and by the official FlatBuffers runtime, whose layouts differ) bent in
 * the ways a broken or hostile client would: bit flips, cuts, length prefixes
 * that lie, corrupted vtables and offsets, huge vector lengths, and random
 * bytes. Every choice comes from a seeded PRNG, so a seed replays a run.
 *
 * @example
 * ```ts
 * import { Mutator } from "./fuzz_mutate.ts";
 *
 * const mutator = new Mutator(42);
 * const { bytes, kind, frames } = mutator.nextCase();
 * console.log(kind, frames, bytes.length); // e.g. "framed vtable" 3 2440
 * ```
 * @module
 */
import { Command, DIGIT_PIXELS } from "../shared/codec.ts";
import { encodeRequest } from "../shared/request_codec.ts";
import { oracleRequest, prng } from "../shared/testing.ts";
import { garbageFloats } from "./digits.ts";
import { concatBytes } from "../shared/bytes.ts";

/** One connection's worth of bytes to send, and what they are. */
export interface FuzzCase {
  bytes: Uint8Array;
  /** "legacy <mutation>", "framed <mutation>" or "random". */
  kind: string;
  /** Messages in it (valid and mutated): what `--frames` counts. */
  frames: number;
}

/** Mutations of a FlatBuffer's bytes (without a length prefix). */
export const BODY_MUTATIONS = [
  "none",
  "bitflip",
  "bytes",
  "cut",
  "vtable",
  "offset",
  "vector-length",
  "splice",
] as const;

/** Values that find edge cases in 32-bit lengths and offsets. */
const INTERESTING_U32 = [
  0,
  1,
  3,
  4,
  783,
  785,
  0x7fff,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xfffffffc,
  0xffffffff,
];
const INTERESTING_U16 = [0, 1, 2, 3, 4, 5, 0x7fff, 0x8000, 0xfffe, 0xffff];

/** Where the offsets, vtables and vector lengths of a request are, as far as they can be found. */
interface Landmarks {
  tables: number[];
  vtables: { at: number; size: number }[];
  offsets: number[];
  vectorLengths: number[];
}

function landmarks(body: Uint8Array): Landmarks {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const found: Landmarks = { tables: [], vtables: [], offsets: [0], vectorLengths: [] };
  const inside = (at: number, n: number) => at >= 0 && at + n <= body.length;
  const table = (pos: number, offsetSlots: number[], vectorSlots: number[]) => {
    if (!inside(pos, 4)) return;
    found.tables.push(pos);
    const vt = pos - dv.getInt32(pos, true);
    if (!inside(vt, 4)) return;
    const size = dv.getUint16(vt, true);
    if (!inside(vt, size)) return;
    found.vtables.push({ at: vt, size });
    const field = (slot: number) => {
      const entry = 4 + 2 * slot;
      if (entry + 2 > size) return -1;
      const off = dv.getUint16(vt + entry, true);
      return off && inside(pos + off, 4) ? pos + off : -1;
    };
    for (const slot of [...offsetSlots, ...vectorSlots]) {
      const at = field(slot);
      if (at < 0) continue;
      found.offsets.push(at);
      const target = at + dv.getUint32(at, true);
      if (vectorSlots.includes(slot) && inside(target, 4)) found.vectorLengths.push(target);
      if (slot === 2 && offsetSlots === ROOT_OFFSET_SLOTS) table(target, [], [0, 1]);
    }
  };
  if (inside(0, 4)) table(dv.getUint32(0, true), ROOT_OFFSET_SLOTS, []);
  return found;
}

/** Offset fields of `Commands`: stats, input, output, error, token, model, client. */
const ROOT_OFFSET_SLOTS = [1, 2, 3, 6, 7, 8, 9];

/** Makes fuzz cases from a seed. */
export class Mutator {
  readonly random: () => number;
  #bases: { legacy: Uint8Array[]; framed: Uint8Array[] };
  #nextId = 1;

  constructor(seed: number) {
    this.random = prng(seed);
    const pixels = Uint8Array.from({ length: DIGIT_PIXELS }, (_, i) => (i * 7) % 256);
    const floats = Array.from(pixels, (p) => p / 255);
    const token = "t".repeat(32);
    this.#bases = {
      // Bare buffers: what legacy clients send.
      legacy: [
        encodeRequest({ command: Command.INFERENCE_INPUT, digit: floats }, false),
        oracleRequest({ cmd: Command.INFERENCE_INPUT, digit: floats }, false),
        oracleRequest({ cmd: Command.INFERENCE_INPUT, digit: garbageFloats(seed) }, false),
        encodeRequest({ command: Command.GET_STATS }, false),
      ],
      // Framed bodies, without their length prefix (added when a case is built).
      framed: [
        encodeRequest({ command: Command.INFERENCE_INPUT, digitU8: pixels }, true).subarray(4),
        encodeRequest({ command: Command.INFERENCE_INPUT, digit: floats, token }, true).subarray(4),
        oracleRequest(
          { cmd: Command.INFERENCE_INPUT, digitU8: pixels, token, client: "fuzz/1" },
          true,
        )
          .subarray(4),
        encodeRequest({ command: Command.GET_STATS, model: "mnist" }, true).subarray(4),
      ],
    };
  }

  #int(n: number): number {
    return Math.floor(this.random() * n);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)];
  }

  /** The next case: a mutated legacy message, a run of framed messages, or random bytes. */
  nextCase(): FuzzCase {
    const r = this.random();
    if (r < 0.35) return this.#legacyCase();
    if (r < 0.92) return this.#framedCase();
    return this.#randomCase();
  }

  #legacyCase(): FuzzCase {
    const mutation = this.#pick(BODY_MUTATIONS.slice(1));
    return {
      bytes: this.mutateBody(this.#pick(this.#bases.legacy), mutation),
      kind: `legacy ${mutation}`,
      frames: 1,
    };
  }

  /** 1 to 4 frames, one of them mutated (its body, or its length prefix). */
  #framedCase(): FuzzCase {
    const count = 1 + this.#int(4);
    const bad = this.#int(count);
    const lie = this.random() < 0.2;
    const bodyMutation = this.#pick(BODY_MUTATIONS);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const body = this.#pick(this.#bases.framed).slice();
      // A fresh request id per frame, so replies can be told apart.
      this.#setRequestId(body);
      const mutated = i === bad && !lie ? this.mutateBody(body, bodyMutation) : body;
      let length = mutated.length;
      if (i === bad && lie) {
        length = this.random() < 0.5
          ? this.#pick(INTERESTING_U32)
          : Math.max(0, mutated.length + this.#int(64) - 32);
      }
      const frame = new Uint8Array(4 + mutated.length);
      new DataView(frame.buffer).setUint32(0, length >>> 0, true);
      frame.set(mutated, 4);
      parts.push(frame);
    }
    const kind = `framed ${lie ? "length-lie" : bodyMutation}`;
    return { bytes: concatBytes(parts), kind, frames: count };
  }

  #randomCase(): FuzzCase {
    const length = 1 + this.#int(this.random() < 0.8 ? 64 : 4096);
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = this.#int(256);
    // Half of them look framed for their first 12 bytes, to reach the frame decoder.
    if (length >= 12 && this.random() < 0.5) {
      new DataView(bytes.buffer).setUint32(0, length - 4, true);
      bytes.set([77, 78, 83, 84], 8);
    }
    return { bytes, kind: "random", frames: 1 };
  }

  #setRequestId(body: Uint8Array): void {
    // Slot 4 of the root table when the builder wrote one; found like any field.
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const root = dv.getUint32(0, true);
    const vt = root - dv.getInt32(root, true);
    if (dv.getUint16(vt, true) > 4 + 2 * 4) {
      const off = dv.getUint16(vt + 4 + 2 * 4, true);
      if (off) dv.setUint32(root + off, this.#nextId++ & 0xffffffff, true);
    }
  }

  /** Applies one named mutation to a copy of a FlatBuffer's bytes. */
  mutateBody(source: Uint8Array, mutation: typeof BODY_MUTATIONS[number]): Uint8Array {
    const bytes = source.slice();
    const dv = new DataView(bytes.buffer);
    const marks = landmarks(bytes);
    switch (mutation) {
      case "none":
        return bytes;
      case "bitflip": {
        for (let n = 1 + this.#int(8); n > 0; n--) {
          const at = this.#int(bytes.length);
          bytes[at] ^= 1 << this.#int(8);
        }
        return bytes;
      }
      case "bytes": {
        for (let n = 1 + this.#int(4); n > 0; n--) {
          bytes[this.#int(bytes.length)] = this.#pick([0, 1, 0x7f, 0x80, 0xfe, 0xff]);
        }
        return bytes;
      }
      case "cut":
        return bytes.slice(0, this.#int(bytes.length));
      case "vtable": {
        const vtable = marks.vtables.length ? this.#pick(marks.vtables) : null;
        if (vtable && this.random() < 0.7) {
          const at = vtable.at + 2 * this.#int(Math.max(1, vtable.size / 2));
          if (at + 2 <= bytes.length) dv.setUint16(at, this.#pick(INTERESTING_U16), true);
        } else if (marks.tables.length) {
          // The table's signed offset to its vtable.
          const value = this.random() < 0.5
            ? this.#pick(INTERESTING_U32)
            : this.#int(bytes.length * 2) - bytes.length;
          dv.setInt32(this.#pick(marks.tables), value | 0, true);
        }
        return bytes;
      }
      case "offset": {
        const at = this.#pick(marks.offsets);
        if (at + 4 <= bytes.length) {
          const value = this.random() < 0.5
            ? this.#pick(INTERESTING_U32)
            : this.#int(bytes.length + 16);
          dv.setUint32(at, value >>> 0, true);
        }
        return bytes;
      }
      case "vector-length": {
        if (marks.vectorLengths.length === 0) return this.mutateBody(source, "offset");
        dv.setUint32(this.#pick(marks.vectorLengths), this.#pick(INTERESTING_U32) >>> 0, true);
        return bytes;
      }
      case "splice": {
        const other = this.#pick([...this.#bases.legacy, ...this.#bases.framed]);
        const at = this.#int(bytes.length);
        const from = this.#int(other.length);
        return concatBytes([bytes.subarray(0, at), other.subarray(from)]);
      }
    }
  }
}
