/**
 * A small Open Inference Protocol (KServe v2) client for this server's HTTP
 * port: JSON requests, or Triton's binary tensor data extension for inputs
 * and outputs (a JSON header whose length is in `Inference-Header-Content-Length`,
 * then the tensors' raw little-endian bytes).
 *
 * @example
 * ```ts
 * import { oipInfer } from "./oip.ts";
 * import { startServer } from "../server/server.ts";
 *
 * // A server of its own on free ports; a real one answers HTTP on 8000.
 * const server = await startServer({ hostname: "127.0.0.1", port: 0, httpPort: 0 });
 * const { hostname, port } = server.http!.addr;
 * const reply = await oipInfer(`http://${hostname}:${port}`, [new Uint8Array(784)], { binary: true });
 * console.log(reply.status, reply.probabilities, reply.predicted); // 200 [...] [...]
 * await server.shutdown();
 * ```
 * @module
 */

/** How to send the digits and what to ask for. */
export interface OipOptions {
  /** UINT8 (bytes 0..255, default for Uint8Array digits) or FP32 (0..1). */
  datatype?: "UINT8" | "FP32";
  /** Shape after the batch dimension (default [784]). */
  dims?: number[];
  /** Send the input and ask for the outputs as binary data (default false: JSON). */
  binary?: boolean;
  /** Also ask for `predicted` (default true). */
  predicted?: boolean;
  id?: string;
  model?: string;
}

/** The reply, decoded from JSON or binary outputs. */
export interface OipReply {
  status: number;
  /** The JSON document (the header, for a binary reply). */
  body: Record<string, unknown>;
  probabilities: Float32Array | null;
  predicted: Int32Array | null;
}

/** Builds a request body and its headers. */
export function oipRequest(
  digits: ArrayLike<number>[],
  options: OipOptions = {},
): { body: Uint8Array; headers: Record<string, string> } {
  const datatype = options.datatype ??
    (digits[0] instanceof Uint8Array ? "UINT8" : "FP32");
  const dims = options.dims ?? [784];
  const values = digits.length * 784;
  const flat = datatype === "UINT8" ? new Uint8Array(values) : new Float32Array(values);
  digits.forEach((d, i) => flat.set(Array.from(d), i * 784));
  const outputs = [{ name: "probabilities", parameters: { binary_data: options.binary ?? false } }];
  if (options.predicted ?? true) {
    outputs.push({ name: "predicted", parameters: { binary_data: options.binary ?? false } });
  }
  const input: Record<string, unknown> = {
    name: "input",
    datatype,
    shape: [digits.length, ...dims],
  };
  let binary = new Uint8Array(0);
  if (options.binary) {
    if (flat instanceof Uint8Array) binary = flat;
    else {
      binary = new Uint8Array(values * 4);
      const view = new DataView(binary.buffer);
      flat.forEach((v, i) => view.setFloat32(i * 4, v, true));
    }
    input.parameters = { binary_data_size: binary.length };
  } else {
    input.data = Array.from(flat);
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ ...(options.id ? { id: options.id } : {}), inputs: [input], outputs }),
  );
  if (!options.binary) {
    return { body: header, headers: { "content-type": "application/json" } };
  }
  const body = new Uint8Array(header.length + binary.length);
  body.set(header);
  body.set(binary, header.length);
  return {
    body,
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(header.length),
    },
  };
}

/** Decodes a reply body, splitting off binary outputs when the header says so. */
export function decodeOipReply(
  status: number,
  bytes: Uint8Array,
  headerLength: string | null,
): OipReply {
  const jsonLength = headerLength === null ? bytes.length : Number(headerLength);
  const body = JSON.parse(new TextDecoder().decode(bytes.subarray(0, jsonLength)));
  let at = jsonLength;
  let probabilities: Float32Array | null = null;
  let predicted: Int32Array | null = null;
  for (const output of (body.outputs ?? []) as Record<string, unknown>[]) {
    const size = (output.parameters as Record<string, number> | undefined)?.binary_data_size;
    let values: number[];
    if (size !== undefined) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, size);
      values = Array.from(
        { length: size / 4 },
        (_, i) =>
          output.datatype === "INT32" ? view.getInt32(i * 4, true) : view.getFloat32(i * 4, true),
      );
      at += size;
    } else {
      values = output.data as number[];
    }
    if (output.name === "probabilities") probabilities = Float32Array.from(values);
    if (output.name === "predicted") predicted = Int32Array.from(values);
  }
  return { status, body, probabilities, predicted };
}

/** Sends digits to `POST {base}/v2/models/{model}/infer` and decodes the reply. */
export async function oipInfer(
  base: string,
  digits: ArrayLike<number>[],
  options: OipOptions = {},
): Promise<OipReply> {
  const { body, headers } = oipRequest(digits, options);
  const response = await fetch(`${base}/v2/models/${options.model ?? "mnist"}/infer`, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return decodeOipReply(
    response.status,
    bytes,
    response.headers.get("inference-header-content-length"),
  );
}
