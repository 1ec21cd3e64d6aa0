/**
 * The codec's part for board code updates: the `UpdateOffer` and `CodeChunk`
 * tables of `schema/mnist.fbs` (slots 11 and 12 of `Commands`), as fields for
 * the writer and values read back, and the two fields of `Commands` that
 * hold them (`updateFields`), which `request_codec.ts` and `reply_codec.ts`
 * add to requests and replies.
 *
 * Written in the subset the Espruino interpreter runs: the firmware may
 * bundle it.
 *
 * @example
 * ```ts
 * import { Command } from "./codec.ts";
 * import { decodeReply, encodeReply } from "./reply_codec.ts";
 *
 * const data = new Uint8Array([1, 2, 3]);
 * const frame = encodeReply({
 *   command: Command.CODE_CHUNK,
 *   requestId: 3,
 *   chunk: { release: "mnist-framed/2", offset: 0, data, crc32: 0x55bc801d },
 * }, true);
 * const reply = decodeReply(frame.subarray(4));
 * console.log(reply); // { ..., chunk: { release: "mnist-framed/2", offset: 0, data: Uint8Array [1, 2, 3], crc32: 1438416925 } }
 * ```
 * @module
 */
import { type BufferReader, type Field, STRING, TABLE, U32, U8, VEC_U8 } from "./_flatbuffer.ts";
import { COMMANDS_CHUNK, COMMANDS_UPDATE } from "./_slots.ts";

/** Where a device stands with an update, as in the schema's `UpdateState` enum. */
export const UpdateState = {
  NONE: 0,
  OFFERED: 1,
  DOWNLOADING: 2,
  VERIFIED: 3,
  UPDATED: 4,
  FAILED: 5,
  ROLLED_BACK: 6,
} as const;

/** Names of the update states, indexed by their number (lower case, as the fleet views show them). */
export const UPDATE_STATE_NAMES = [
  "none",
  "offered",
  "downloading",
  "verified",
  "updated",
  "failed",
  "rolled_back",
];

/** The most a chunk carries: a board holds one chunk at a time. */
export const CHUNK_BYTES = 512;

/**
 * The longest release id ("NAME/VERSION") a board's update request carries,
 * and so the longest a server offers: a longer one could not be asked for,
 * and its offer would push a reply past a board's 256-byte reply buffer.
 */
export const MAX_RELEASE_ID = 47;

// Slots of each table, as in the schema.
const OFFER_RELEASE = 0;
const OFFER_SIZE = 1;
const OFFER_CRC32 = 2;
const OFFER_MAC = 3;
const OFFER_STATE = 4;
const CHUNK_RELEASE = 0;
const CHUNK_OFFSET = 1;
const CHUNK_DATA = 2;
const CHUNK_CRC32 = 3;

/**
 * An update the server offers (in a reply), or a board's report of one
 * (`state` set, in a `CMD_UPDATE_REPORT` request).
 */
export interface UpdateOffer {
  /** "NAME/VERSION". */
  release: string;
  /** Bytes of the whole file. */
  size?: number;
  /** CRC-32 of the whole file (`E.CRC32`, zlib's crc32). */
  crc32?: number;
  /** HMAC-SHA1 keyed by the device's token over the file's raw SHA-1; absent when tokens are off. */
  mac?: ArrayLike<number> | null;
  /** Set only in a board's report. */
  state?: number;
}

/** A chunk of a release: the board's request (release, offset) or the server's reply (with data and its CRC-32). */
export interface CodeChunk {
  release: string;
  offset: number;
  data?: ArrayLike<number> | null;
  /** CRC-32 of `data`. */
  crc32?: number;
}

/** The `UpdateOffer` table's fields for the writer. */
export function offerFields(offer: UpdateOffer): Field[] {
  const fields: Field[] = [{ slot: OFFER_RELEASE, kind: STRING, value: offer.release }];
  if (offer.size) fields.push({ slot: OFFER_SIZE, kind: U32, value: offer.size });
  // Written even when 0: a CRC of 0 is a real checksum, not an absent one.
  if (offer.crc32 !== undefined) fields.push({ slot: OFFER_CRC32, kind: U32, value: offer.crc32 });
  if (offer.mac) fields.push({ slot: OFFER_MAC, kind: VEC_U8, value: offer.mac });
  if (offer.state) fields.push({ slot: OFFER_STATE, kind: U8, value: offer.state });
  return fields;
}

/** The `CodeChunk` table's fields for the writer. */
export function chunkFields(chunk: CodeChunk): Field[] {
  const fields: Field[] = [
    { slot: CHUNK_RELEASE, kind: STRING, value: chunk.release },
    { slot: CHUNK_OFFSET, kind: U32, value: chunk.offset },
  ];
  if (chunk.data) fields.push({ slot: CHUNK_DATA, kind: VEC_U8, value: chunk.data });
  if (chunk.crc32 !== undefined) fields.push({ slot: CHUNK_CRC32, kind: U32, value: chunk.crc32 });
  return fields;
}

/** Reads the `UpdateOffer` table at `table`; the MAC is a view into the buffer, null when absent. */
export function readOffer(r: BufferReader, table: number): UpdateOffer {
  const mac = r.vector(table, OFFER_MAC, 1);
  return {
    release: r.string(table, OFFER_RELEASE),
    size: r.scalar(table, OFFER_SIZE, U32, 0),
    crc32: r.scalar(table, OFFER_CRC32, U32, 0),
    mac: mac < 0 ? null : r.bytes.subarray(mac + 4, mac + 4 + r.dv.getUint32(mac, true)),
    state: r.scalar(table, OFFER_STATE, U8, 0),
  };
}

/** Reads the `CodeChunk` table at `table`; the data is a view into the buffer, null when absent. */
export function readChunk(r: BufferReader, table: number): CodeChunk {
  const data = r.vector(table, CHUNK_DATA, 1);
  return {
    release: r.string(table, CHUNK_RELEASE),
    offset: r.scalar(table, CHUNK_OFFSET, U32, 0),
    data: data < 0 ? null : r.bytes.subarray(data + 4, data + 4 + r.dv.getUint32(data, true)),
    crc32: r.scalar(table, CHUNK_CRC32, U32, 0),
  };
}

/** The `update` and `chunk` fields of a request or reply, when set. */
export function updateFields(
  message: { update?: UpdateOffer | null; chunk?: CodeChunk | null },
): Field[] {
  const fields: Field[] = [];
  if (message.update) {
    fields.push({ slot: COMMANDS_UPDATE, kind: TABLE, value: offerFields(message.update) });
  }
  if (message.chunk) {
    fields.push({ slot: COMMANDS_CHUNK, kind: TABLE, value: chunkFields(message.chunk) });
  }
  return fields;
}
