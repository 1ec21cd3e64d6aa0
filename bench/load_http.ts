/**
 * The HTTP port's side of the load generator (`load.ts`): the Open Inference
 * Protocol infer of one digit, as JSON or with binary tensors
 * (`http-binary`), floats scaled to 0..1 or bytes as they are; posting it and
 * reading the reply; and what a failed exchange counts as.
 *
 * @module
 */
import { decodeOipReply, type OipReply, oipRequest } from "../client/oip.ts";
import { type Http1Connection, Http1Error } from "./http1.ts";
import { errorKind } from "./load_wire.ts";
import type { LoadPlan } from "./load_plan.ts";

/** The OIP infer route of the served model. */
const INFER_PATH = "/v2/models/mnist/infer";
const JSON_TYPE = "application/json";

/** An HTTP infer's body, content type and other headers. */
export interface HttpRequest {
  body: Uint8Array;
  type: string;
  headers: Record<string, string>;
}

/** The OIP infer of `digit` (JSON or binary) as `plan` sends it. */
export function httpRequest(digit: Uint8Array, plan: LoadPlan): HttpRequest {
  const binary = plan.protocol === "http-binary";
  const { body, headers } = plan.digits === "u8"
    ? oipRequest([digit], { datatype: "UINT8", predicted: false, binary })
    : oipRequest([Float32Array.from(digit, (v) => v / 255)], { predicted: false, binary });
  const { "content-type": type, ...more } = headers;
  return { body, type: type ?? JSON_TYPE, headers: more };
}

/** Posts `sent` over `http` and decodes the reply (JSON or binary). */
export async function postInfer(http: Http1Connection, sent: HttpRequest): Promise<OipReply> {
  const { status, body, inferenceHeaderLength } = await http.post(
    INFER_PATH,
    sent.body,
    sent.type,
    sent.headers,
  );
  return decodeOipReply(status, body, inferenceHeaderLength);
}

/** What a failed HTTP exchange counts as (a timeout aside): HTTP/1's kind, a bad reply, or the socket's. */
export function httpErrorKind(e: unknown): string {
  return e instanceof Http1Error ? e.kind : e instanceof SyntaxError ? "BAD_REPLY" : errorKind(e);
}
