/**
 * What `deno task bench:codec` measures and prints: the message kinds
 * (`KINDS`), a row per kind and operation with each codec's median ns/op
 * (`CodecRow`), each codec's message sizes (`CodecSizes`), and the table
 * (`formatCodecTable`).
 *
 * @example
 * ```ts
 * import { formatCodecTable } from "./codec_report.ts";
 *
 * const table = formatCodecTable([
 *   { kind: "legacy reply", op: "encode", leanNs: 50, officialNs: 150 },
 *   { kind: "legacy reply", op: "validate", leanNs: 20, officialNs: null },
 * ]);
 * console.log(table.includes("3.00×")); // true: official / lean
 * ```
 * @module
 */
import { fixed, formatTable } from "./_cli.ts";

/** Message kinds measured. */
export const KINDS = [
  "legacy request",
  "framed u8 request",
  "framed reply",
  "legacy reply",
] as const;
export type MessageKind = typeof KINDS[number];

/** One row: a kind, an operation, and the median ns/op of each codec (null: not offered). */
export interface CodecRow {
  kind: MessageKind;
  op: string;
  leanNs: number | null;
  officialNs: number | null;
}

/** Bytes of each kind's message, per codec. */
export interface CodecSizes {
  kind: MessageKind;
  leanBytes: number;
  officialBytes: number;
}

/** The rows as the printed table. */
export function formatCodecTable(rows: CodecRow[]): string {
  const ns = (n: number | null) => (n === null ? "—" : fixed(n, n < 100 ? 1 : 0));
  return formatTable(
    ["message", "operation", "lean ns/op", "official ns/op", "official / lean"],
    rows.map((r) => [
      r.kind,
      r.op,
      ns(r.leanNs),
      ns(r.officialNs),
      r.leanNs && r.officialNs ? `${fixed(r.officialNs / r.leanNs, 2)}×` : "—",
    ]),
  );
}
