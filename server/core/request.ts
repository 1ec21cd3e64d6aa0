/**
 * What travels the one request path: the request a transport decodes, where
 * it came from (and what the transport adds: admission, encoding), the
 * outcome the handler returns, and the event observers receive once it is
 * known. `handler.ts` does the work; this names its parts.
 *
 * @example
 * ```ts
 * import type { RequestEvent } from "./request.ts";
 *
 * const onRequest = (event: RequestEvent) => console.log(event.protocol, event.code, event.digits);
 * ```
 * @module
 */
import type { Reply, Stats } from "../../shared/reply_codec.ts";
import type { DecodedRequest } from "../../shared/request_codec.ts";
import type { WireError } from "../../shared/errors.ts";
import type { Authorizer, Peer } from "../auth/authorize.ts";
import type { InferenceQueue } from "../engine/queue.ts";
import type { Inference } from "../engine/job.ts";
import type { IdentifiedBy } from "../fleet/device_view.ts";
import type { FleetUpdates } from "../fleet/updates.ts";
import type { Logger } from "../log.ts";

/** The transports a request can come by. */
export type Protocol = "legacy" | "framed" | "http" | "mqtt";

/**
 * A request as a transport hands it over: the codec's decoded request, and
 * for a job of several digits (HTTP) their count and the version asked for.
 */
export interface HandlerRequest extends DecodedRequest {
  /**
   * Set for a job: how many digits `digitU8` or `digit` holds (784 each),
   * admitted or refused whole, answered by one version, never with a
   * connection's first-digit exception; its bytes are the transport's own
   * copy, which the queue keeps (floats are copied). Unset: one digit of a
   * connection, copied before it waits.
   */
  digits?: number;
  /** The only model version that may answer (a versioned route); unset: whichever serves. */
  version?: number;
  /** The transport's own request id when it is not a number (HTTP's `id`). */
  label?: string;
}

/** Everything known about one request once it has its outcome: what an observer receives. */
export interface RequestEvent {
  protocol: Protocol;
  /** The client's address (`host:port`; behind a trusted proxy, the real client's). */
  peer: string;
  /** The command asked (-1 when the message could not be read). */
  command: number;
  requestId: number;
  /** The reply's status (`Status`), and its name as on the wire, in logs and metrics. */
  status: number;
  code: string;
  /** The error sentence ("" on success). */
  error: string;
  /** The digits as sent (784 each): bytes (0..255) or floats, at most one set; null when none was read. */
  digitU8: Uint8Array | null;
  digit: Float32Array | null;
  /** How many digits the request carried (0 when none was read). */
  digits: number;
  /** Every digit's answer on a served inference, else null. */
  results: Inference[] | null;
  /** The first digit's answer (the only one on the board port), else null. */
  predicted: number | null;
  scores: Float32Array | null;
  /** The model that did the work ("" when the request reached no model). */
  modelName: string;
  queueMs: number | null;
  inferenceMs: number | null;
  batchSize: number | null;
  /**
   * The version that answered a served inference; for a refused one, the
   * version its model served then; null when it reached no served model.
   */
  modelVersion: number | null;
  /** From the request's arrival at the handler to its reply being ready, in ms. */
  totalMs: number;
  /** The device the token named (tokens on), else the one the transport named (MQTT's topic), else null. */
  device: string | null;
  /**
   * The device's id in the fleet: the token's name (tokens on), else the
   * `device` field its connection sent, else `addr:<address>`.
   */
  deviceId: string;
  identifiedBy: IdentifiedBy;
  /** Firmware name and version: the request's `client` field, or its connection's first one. */
  firmware: string;
  /** Bytes of the request and of its reply as on the wire. */
  bytesIn: number;
  bytesOut: number;
  /** The request's `token`, `model` and `client` fields ("" when absent or unread). */
  token: string;
  model: string;
  client: string;
  /** The transport's own request id, when it has one that is not a number ("" otherwise). */
  label: string;
}

/** Where a request came from, and what its transport adds. */
export interface RequestOrigin {
  protocol: Protocol;
  peer: string;
  /**
   * Asked before a digit is queued: an error refuses it (a connection over
   * its share of the queue, say). When it admits, `release` is called once
   * the digit has left the queue (answered or failed).
   */
  admit?: () => WireError | null;
  release?: () => void;
  /** Who the authorizer sees: one object per connection, so a proved token is remembered. */
  identity?: Peer;
  /**
   * The device the transport names (MQTT's topic): with tokens on, a token of
   * another device is refused; with tokens off, the request's device.
   */
  device?: string;
  /**
   * One object per connection: the `device` and `client` fields its first
   * request sent, which the firmware leaves out of the requests after it.
   */
  session?: ConnectionSession;
  /** Whose digits these are (a connection, an HTTP request): the queue serves owners in turn. */
  owner?: unknown;
  /**
   * Encodes the outcome for a transport with its own format (HTTP): the
   * bytes it writes, counted by the observer. Unset: the board port's
   * framed or legacy reply.
   */
  encode?: (reply: Reply, results: Inference[] | null) => Uint8Array;
  /**
   * Reads what the transport could not read before the request was
   * authorized, into `request`: HTTP checks its tensors against the model
   * its route names, after the token, as every transport checks a request.
   * An error refuses the request.
   */
  check?: (request: HandlerRequest) => WireError | null;
}

/** What a connection's first request said about its board. */
export interface ConnectionSession {
  device: string;
  client: string;
}

/** What the handler shares with its server. */
export interface HandlerContext {
  /**
   * The queue that answers a request for `model` ("" for the default), or
   * `MODEL_UNAVAILABLE`: the version pinned (`version`), else the one that
   * serves the device (`deviceId`, given while `byDevice()` says a canary
   * needs it), else the one serving.
   */
  route: (model: string, version?: number, deviceId?: string) => InferenceQueue | WireError;
  /** Whether `route` needs the device id now (a canary runs); absent: never. */
  byDevice?: () => boolean;
  stats: () => Stats;
  log: Logger;
  /** Who may be served (tokens, legacy policy); everyone when absent. */
  auth?: Authorizer | null;
  /** Told every request's outcome, once its reply is ready; must not throw. */
  onRequest?: (event: RequestEvent) => void;
  /** Board code updates (`--firmware-dir`): offers, chunks, reports; none when absent. */
  updates?: FleetUpdates | null;
}

/** A reply and, for a served inference, what produced it. */
export interface Outcome {
  reply: Reply;
  /** Every digit's answer on a served inference, else null. */
  results: Inference[] | null;
  /** The reply encoded for the origin's protocol: what the transport writes. */
  bytes: Uint8Array;
}

/** Told once a request's outcome; `context` is the caller's, passed through. */
export type OutcomeCallback<C> = (context: C, outcome: Outcome) => void;
