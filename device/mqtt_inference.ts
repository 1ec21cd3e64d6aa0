// deno-lint-ignore-file no-this-alias -- Espruino-module style, see `Inference`.
/**
 * The board's requests over MQTT, for firmware built with `--transport
 * mqtt`: the same face as `Inference` (inference.ts), which the firmware
 * uses in TCP builds, so the firmware does not care which it has. One
 * request at a time, published at QoS 0 on `mnist/{device}/infer` as the
 * framed request's FlatBuffer without its length prefix (the request id,
 * token, `client` and `device` inside, as on TCP); the reply comes on
 * `mnist/{device}/result`, the board's one subscription. `{device}` is the
 * board's id as the fleet knows it: `device` when given (with tokens on,
 * the server takes a token only on its own name's topic), else
 * `getSerial()`.
 *
 * The broker connection (`mqtt_client.ts`) opens with the first request and
 * then stays open, reopening by itself when it closes while idle (a broker
 * restart). A request that fails (no reply in 5 s, the connection gone, a
 * broker refusal, a garbled reply) is one `error` event and a back-off, as
 * on TCP (`exchange.ts`), and drops the connection: the next request opens
 * a new one. Nothing is allocated before the first request; then the
 * request buffer, the scores, the client and its buffer, all kept.
 *
 * Events: `reply` `(scores, inferenceMs, transactionMs)` and `error`
 * `(message)`, as `Inference` emits them.
 *
 * @example
 * ```ts
 * // In the firmware (bundled by build.ts, which defines the constants):
 * import { MqttInference } from "./mqtt_inference.ts";
 *
 * export function classifyBlank(print: (...text: unknown[]) => void): MqttInference {
 *   const server = new MqttInference({ host: "192.168.1.10", port: 1883, token: "", device: "" });
 *   server.on("reply", (scores, inferenceMs, ms) => print(scores, ms + " ms"));
 *   server.on("error", (message) => print(message));
 *   server.digit().fill(255);
 *   server.send();
 *   return server;
 * }
 * ```
 * @module
 */
import { CLASSES } from "../shared/codec.ts";
import type { EspruinoE, Listener } from "./espruino.ts";
import { begin, type Exchange, fail, settle } from "./exchange.ts";
import { Mqtt } from "./mqtt_client.ts";

// Fixed at build time (see build.ts): the request's layout.
declare const REQUEST_SIZE: number;
declare const REQUEST_HEAD: string;
declare const DIGIT_AT: number;
declare const E: EspruinoE;
declare function atob(base64: string): string;
declare function getSerial(): string;

/** Bytes of the framed request's length prefix, which MQTT leaves out. */
const enum C {
  PREFIX = 4,
}

/** Options of `MqttInference`: all given, as the firmware has them. */
export interface MqttInferenceOptions {
  /** The broker's address or name, and its port. */
  host: string;
  port: number;
  /** The device's token, 32 characters; "" for none. */
  token: string;
  /** The board's id in the topics; "" for `getSerial()`. */
  device: string;
}

/**
 * Requests to the inference servers behind an MQTT broker, one digit at a
 * time: an MQTT client (a subclass, so that the board holds one object)
 * that receives the replies.
 */
export class MqttInference extends Mqtt implements Exchange {
  token!: string;
  /** The board's id in the topics and the client id; "" for its serial. */
  device!: string;
  busy!: number;
  retryAt!: number;
  wait!: number;
  req!: Uint8Array | 0;
  id!: number;
  up!: number;
  sentAt!: number;
  timer!: number;
  scores!: Float32Array;
  onTimeout!: Listener;
  /** `mnist/{device}/`. */
  topic!: string;
  declare emit: (event: string, a?: unknown, b?: unknown, c?: unknown) => void;

  constructor(options: MqttInferenceOptions) {
    super(options);
    const self = this;
    self.token = options.token;
    self.device = options.device;
    self.id = 0;
    self.onTimeout = () => {
      self.timer = 0;
      fail(self, "no reply");
    };
    // While idle the client reopens by itself; a request in flight is lost.
    self.on("close", () => {
      self.up = 0;
      if (self.busy) fail(self, "connection closed");
    });
    self.reset();
  }

  /** Disconnects and forgets any request in flight: the next request connects anew. */
  reset(): void {
    const self = this;
    self.shut();
    self.up = self.busy = self.timer = self.wait = self.retryAt = 0;
  }

  /** The digit of the next request, 784 bytes to write in place; the first call makes the buffers. */
  digit(): Uint8Array {
    const self = this;
    let req = self.req;
    if (!req) {
      req = self.req = new Uint8Array(REQUEST_SIZE);
      req.set(E.toUint8Array(atob(REQUEST_HEAD)));
      self.scores = new Float32Array(CLASSES);
    }
    return req.subarray(DIGIT_AT);
  }

  /** Sends the digit written into `digit()`; nothing while a request is in flight. */
  send(): void {
    const self = this;
    if (self.busy) return;
    if (!self.req) self.digit();
    begin(self);
    if (self.connected) return self.onConnect();
    // The board's id as the fleet knows it: also the client id, unique per broker.
    self.topic = "mnist/" + (self.clientId = self.device || getSerial()) + "/";
    self.open();
  }

  /** Connected: the result topic (a new connection has no subscriptions), and the request waiting. */
  override onConnect(): void {
    const self = this;
    if (!self.up) self.subscribe(self.topic + "result");
    if (!self.busy) return;
    self.publish(self.topic + "infer", (self.req as Uint8Array).subarray(C.PREFIX));
    self.up = 1;
  }

  /** A reply on the result topic. */
  override onMessage(payload: Uint8Array): void {
    if (this.busy) settle(this, payload);
  }
}
