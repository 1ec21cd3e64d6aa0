/**
 * A minimal FlatBuffers writer and a bounds-checked reader, enough for the
 * tables in `schema/mnist.fbs`. Private to the codec.
 *
 * The writer lays a buffer out front to back (root offset, then each table's
 * vtable and fields, then its children), which the format allows because
 * every unsigned offset still points forward. It measures first and then
 * writes, so each message is one allocation, and it records where each value
 * landed so that a caller can build a message once and patch it in place.
 *
 * The reader checks every offset, vtable and length against the buffer before
 * it reads: the official JavaScript runtime has no verifier and returns 0 for
 * reads past the end, which would turn a bad buffer into a wrong answer.
 *
 * Written in the subset the Espruino interpreter runs (no default parameters,
 * destructuring, spread, Map/Set, TextEncoder): the firmware bundles it.
 *
 * @module
 */
import { Status, WireError } from "./errors.ts";

/** Field kinds the writer knows. */
export const U8 = 0;
export const I8 = 1;
export const U16 = 2;
export const U32 = 3;
export const F32 = 4;
export const TABLE = 5;
export const VEC_U8 = 6;
export const VEC_F32 = 7;
export const STRING = 8;

/** Inline width of each kind, indexed by kind. Offsets are 4 bytes. */
const WIDTH = [1, 1, 2, 4, 4, 4, 4, 4, 4];

/** The bytes a file identifier takes after the root offset. */
export const IDENTIFIER_LENGTH = 4;

/**
 * One field of a table to write. `value` is a number for scalars, a `Field[]`
 * for a sub-table, a string, or for vectors an array of values or just their
 * count (left zero, to be filled in later through `data`).
 */
export interface Field {
  slot: number;
  kind: number;
  value: number | string | ArrayLike<number> | Field[];
  /** Set by the writer: absolute position of the field's inline value. */
  at?: number;
  /** Set by the writer: absolute position of a vector's first element, a string's first byte or a sub-table. */
  data?: number;
}

function align(pos: number, to: number): number {
  return (pos + to - 1) & ~(to - 1);
}

function lengthOf(value: Field["value"]): number {
  return typeof value === "number" ? value : (value as ArrayLike<number>).length;
}

/** Writes (or, with `dv` null, measures) a table whose vtable starts at or after `pos`; returns the end. */
function putTable(dv: DataView | null, fields: Field[], pos: number): number {
  let i;
  const vt = align(pos, 2);
  const vtSize = 4 + 2 * slotCount(fields);
  const table = tableStart(fields, pos);
  // Widest fields first, so no field needs padding inside the table.
  let off = 4;
  for (let width = 4; width >= 1; width = width >> 1) {
    for (i = 0; i < fields.length; i++) {
      if (WIDTH[fields[i].kind] === width) {
        fields[i].at = table + off;
        off += width;
      }
    }
  }
  if (dv) {
    dv.setUint16(vt, vtSize, true);
    dv.setUint16(vt + 2, off, true);
    for (i = 0; i < fields.length; i++) {
      dv.setUint16(vt + 4 + 2 * fields[i].slot, (fields[i].at as number) - table, true);
    }
    dv.setInt32(table, table - vt, true);
  }
  let end = table + off;
  for (i = 0; i < fields.length; i++) end = putValue(dv, fields[i], end);
  return end;
}

/** Writes a field's inline value and, for offsets, its child at or after `end`; returns the new end. */
function putValue(dv: DataView | null, f: Field, end: number): number {
  const at = f.at as number;
  const kind = f.kind;
  const v = f.value;
  if (kind < TABLE) {
    if (dv) {
      if (kind === U8) dv.setUint8(at, v as number);
      else if (kind === I8) dv.setInt8(at, v as number);
      else if (kind === U16) dv.setUint16(at, v as number, true);
      else if (kind === U32) dv.setUint32(at, v as number, true);
      else dv.setFloat32(at, v as number, true);
    }
    return end;
  }
  if (kind === TABLE) {
    // The offset points at the table, which starts after its vtable; a vtable
    // needs only 2-byte alignment, which is what keeps the legacy reply at 96 bytes.
    f.data = tableStart(v as Field[], end);
    if (dv) dv.setUint32(at, f.data - at, true);
    return putTable(dv, v as Field[], end);
  }
  const child = align(end, 4);
  if (dv) dv.setUint32(at, child - at, true);
  const n = kind === STRING ? (v as string).length : lengthOf(v);
  const data = child + 4;
  f.data = data;
  if (dv) {
    dv.setUint32(child, n, true);
    if (typeof v !== "number") {
      for (let i = 0; i < n; i++) {
        if (kind === VEC_F32) dv.setFloat32(data + 4 * i, (v as ArrayLike<number>)[i], true);
        else if (kind === VEC_U8) dv.setUint8(data + i, (v as ArrayLike<number>)[i]);
        else dv.setUint8(data + i, asciiAt(v as string, i));
      }
    }
  }
  // Strings end with a zero byte that their length does not count.
  return data + (kind === VEC_F32 ? 4 * n : kind === STRING ? n + 1 : n);
}

/** The character at `i` if it is ASCII, else "?": text on the wire is ASCII (no TextEncoder on the board). */
function asciiAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? c : 63;
}

function slotCount(fields: Field[]): number {
  let slots = 0;
  for (let i = 0; i < fields.length; i++) if (fields[i].slot >= slots) slots = fields[i].slot + 1;
  return slots;
}

/** Where a table laid out from `pos` starts: after its vtable (2-aligned), 4-aligned. */
function tableStart(fields: Field[], pos: number): number {
  return align(align(pos, 2) + 4 + 2 * slotCount(fields), 4);
}

/**
 * Builds a buffer whose root is the table `root`. With `identifier` the buffer
 * is size-prefixed (4-byte little-endian length of what follows) and carries
 * the identifier after the root offset; without it, it is a bare FlatBuffer.
 */
export function buildBuffer(root: Field[], identifier: string | null): Uint8Array {
  const head = identifier ? 8 + IDENTIFIER_LENGTH : 4;
  const size = align(putTable(null, root, head), 4);
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  putTable(dv, root, head);
  const rootAt = identifier ? 4 : 0;
  dv.setUint32(rootAt, tableStart(root, head) - rootAt, true);
  if (identifier) {
    dv.setUint32(0, size - 4, true);
    for (let i = 0; i < IDENTIFIER_LENGTH; i++) bytes[8 + i] = identifier.charCodeAt(i);
  }
  return bytes;
}

/** Throws the error every bounds check raises. */
function malformed(what: string): never {
  throw new WireError(Status.MALFORMED_BUFFER, what);
}

/**
 * Reads tables out of untrusted bytes. Tables are named by their position;
 * every method checks what it reads against the buffer and throws a
 * `MALFORMED_BUFFER` `WireError` rather than read past it.
 */
export class BufferReader {
  bytes: Uint8Array;
  dv: DataView;
  length: number;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.length;
  }

  /** Checks that `n` bytes from `pos` lie inside the buffer. */
  need(pos: number, n: number, what: string): void {
    if (pos < 0 || n < 0 || pos + n > this.length) {
      malformed(what + " at " + pos + " runs past the end of the " + this.length + "-byte buffer");
    }
  }

  /** The position of the root table, its offset read at `at`. */
  root(at: number): number {
    this.need(at, 4, "root offset");
    return this.table(at + this.dv.getUint32(at, true));
  }

  /** Validates the table at `pos` and its vtable; returns `pos`. */
  table(pos: number): number {
    this.need(pos, 4, "table");
    const vt = pos - this.dv.getInt32(pos, true);
    this.need(vt, 4, "vtable");
    const vtSize = this.dv.getUint16(vt, true);
    if (vtSize < 4 || vtSize & 1) malformed("vtable size " + vtSize + " at " + vt);
    this.need(vt, vtSize, "vtable");
    this.need(pos, this.dv.getUint16(vt + 2, true), "table body");
    return pos;
  }

  /** Absolute position of field `slot` of `table` (`width` bytes), or -1 when absent. */
  field(table: number, slot: number, width: number): number {
    const vt = table - this.dv.getInt32(table, true);
    const entry = 4 + 2 * slot;
    if (entry >= this.dv.getUint16(vt, true)) return -1;
    const off = this.dv.getUint16(vt + entry, true);
    if (off === 0) return -1;
    if (off < 4 || off + width > this.dv.getUint16(vt + 2, true)) {
      malformed("field " + slot + " at offset " + off + " lies outside its table");
    }
    return table + off;
  }

  /** The scalar of `kind` in field `slot`, or `fallback` when absent. */
  scalar(table: number, slot: number, kind: number, fallback: number): number {
    const at = this.field(table, slot, WIDTH[kind]);
    if (at < 0) return fallback;
    const dv = this.dv;
    if (kind === U8) return dv.getUint8(at);
    if (kind === I8) return dv.getInt8(at);
    if (kind === U16) return dv.getUint16(at, true);
    if (kind === U32) return dv.getUint32(at, true);
    return dv.getFloat32(at, true);
  }

  /** Follows the offset in field `slot` to a sub-table; -1 when absent. */
  child(table: number, slot: number): number {
    const at = this.field(table, slot, 4);
    if (at < 0) return -1;
    this.need(at, 4, "offset");
    return this.table(at + this.dv.getUint32(at, true));
  }

  /**
   * Follows the offset in field `slot` to a vector of `elementSize`-byte
   * elements; returns the position of its length word, or -1 when absent.
   * The whole vector is checked to lie inside the buffer.
   */
  vector(table: number, slot: number, elementSize: number): number {
    const at = this.field(table, slot, 4);
    if (at < 0) return -1;
    const pos = at + this.dv.getUint32(at, true);
    this.need(pos, 4, "vector length");
    const n = this.dv.getUint32(pos, true);
    // Checked before multiplying, so a huge count cannot overflow the sum.
    if (n > this.length) malformed("vector of " + n + " elements at " + pos);
    this.need(pos + 4, n * elementSize, "vector of " + n + " elements");
    return pos;
  }

  /** The string in field `slot` (bytes as Latin-1 characters), or "" when absent. */
  string(table: number, slot: number): string {
    const pos = this.vector(table, slot, 1);
    if (pos < 0) return "";
    const n = this.dv.getUint32(pos, true);
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.bytes[pos + 4 + i]);
    return s;
  }
}
