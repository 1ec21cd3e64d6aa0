/**
 * Counts a model's parameters by reading the ONNX protobuf directly: the sum,
 * over the graph's float initializers, of the product of their dims.
 * onnxruntime-web does not expose initializers, and only these three fields
 * are needed, so this walks the wire format rather than pull in a protobuf
 * library and the ONNX schema.
 *
 * @module
 */

const MODEL_GRAPH = 7; // ModelProto.graph
const GRAPH_INITIALIZER = 5; // GraphProto.initializer
const TENSOR_DIMS = 1; // TensorProto.dims
const TENSOR_DATA_TYPE = 2; // TensorProto.data_type
const FLOAT = 1; // TensorProto.DataType.FLOAT

interface Field {
  number: number;
  wireType: number;
  /** Varint value (wire type 0). */
  value: number;
  /** Bytes of a length-delimited field (wire type 2). */
  bytes: Uint8Array;
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= b.length) throw new Error("truncated varint");
    const byte = b[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
}

function* fields(b: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < b.length) {
    const [key, afterKey] = readVarint(b, pos);
    pos = afterKey;
    const field: Field = {
      number: Math.floor(key / 8),
      wireType: key & 7,
      value: 0,
      bytes: b.subarray(0, 0),
    };
    if (field.wireType === 0) {
      [field.value, pos] = readVarint(b, pos);
    } else if (field.wireType === 2) {
      const [length, start] = readVarint(b, pos);
      if (start + length > b.length) throw new Error("truncated field");
      field.bytes = b.subarray(start, start + length);
      pos = start + length;
    } else if (field.wireType === 1) {
      pos += 8;
    } else if (field.wireType === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${field.wireType}`);
    }
    yield field;
  }
}

function tensorSize(tensor: Uint8Array): { size: number; float: boolean } {
  let size = 1;
  let float = false;
  for (const f of fields(tensor)) {
    if (f.number === TENSOR_DATA_TYPE) float = f.value === FLOAT;
    if (f.number !== TENSOR_DIMS) continue;
    if (f.wireType === 0) size *= f.value;
    else {
      // Packed repeated int64.
      let pos = 0;
      while (pos < f.bytes.length) {
        const [dim, next] = readVarint(f.bytes, pos);
        size *= dim;
        pos = next;
      }
    }
  }
  return { size, float };
}

/** The number of float parameters stored as initializers in an ONNX model. */
export function countParameters(model: Uint8Array): number {
  let total = 0;
  for (const m of fields(model)) {
    if (m.number !== MODEL_GRAPH || m.wireType !== 2) continue;
    for (const g of fields(m.bytes)) {
      if (g.number !== GRAPH_INITIALIZER || g.wireType !== 2) continue;
      const { size, float } = tensorSize(g.bytes);
      if (float) total += size;
    }
  }
  return total;
}
