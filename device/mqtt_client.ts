// deno-lint-ignore-file no-this-alias -- Espruino-module style, see `TcpClient`.
/**
 * The board's MQTT 3.1.1 client, for firmware built with `--transport
 * mqtt`: it takes the place of `TcpClient` (tcp_client.ts, TCP) with the same
 * face, so the firmware does not care which it has. Written as Espruino's
 * modules are (EspruinoDocs `modules/MQTT.js`, tinyMQTT): a constant table,
 * one constructor taking an options object, events, no allocation per
 * byte; bytes go out as strings (`write` of a `Uint8Array` would send its
 * text) and come in as strings (`data`).
 *
 * The wire, QoS 0 only: on connecting, CONNECT (clean session, a 60 s
 * keep-alive, the board's id as client id) and at once SUBSCRIBE to
 * `mnist/{device}/result` (MQTT 3.1.1 lets a client go on without waiting
 * for CONNACK; a refusal closes the connection); a request is a PUBLISH on
 * `mnist/{device}/infer` of the framed request's FlatBuffer without its
 * length prefix (the request id, token, `client` inside, as on TCP),
 * written `CHUNK` bytes per `drain`, so the socket never holds a copy of
 * the whole request; the reply is a PUBLISH on the result topic. Packets
 * are cut out of the stream however it is split (a length across two
 * `data` events, two packets in one) into one buffer, reused; a longer one
 * than the buffer is skipped. `{device}` is the board's id as the fleet
 * knows it: `device` when given (with tokens on the server takes a token
 * only on its own name's topic), else `getSerial()`.
 *
 * One timer ticks every 20 s from the first connection on: while connected
 * and idle it sends PINGREQ, and a PINGRESP still missing at the next tick
 * means a dead connection, which it closes; while disconnected it opens the
 * connection again (boards that lost a broker together come back at their
 * own ticks, spread out). A request that fails (no reply in 5 s, the
 * connection gone, a garbled reply) is one `error` event and a back-off,
 * as on TCP (`exchange.ts`), and drops the connection: the next request
 * opens a new one.
 *
 * Memory (see `TcpClient`): as few functions as the work needs, made once;
 * nothing allocated before the first request, then the request buffer, the
 * packet buffer and the scores, refilled in place.
 *
 * Events: `reply` `(scores, inferenceMs, transactionMs)` and `error`
 * `(message)`, as `TcpClient` emits them.
 *
 * @example
 * ```ts
 * // In the firmware (bundled by build.ts, which defines the constants):
 * import { MqttClient } from "./mqtt_client.ts";
 *
 * export function classifyBlank(print: (...text: unknown[]) => void): MqttClient {
 *   const server = new MqttClient({ host: "192.168.1.10", port: 1883, token: "", device: "" });
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
import type { EspruinoE, Listener, Net, Socket } from "./espruino.ts";
import { begin, type Exchange, fail, settle } from "./exchange.ts";

// Fixed at build time (see build.ts): the request's layout.
declare const REQUEST_SIZE: number;
declare const REQUEST_HEAD: string;
declare const DIGIT_AT: number;
declare const E: EspruinoE;
declare function require(name: "net"): Net;
declare function atob(base64: string): string;
declare function getSerial(): string;
declare function setInterval(callback: Listener, ms: number): number;

/** Packet types (as the first byte written, or the top four bits read) and sizes. */
const enum M {
  CONNECT = 0x10,
  PUBLISH = 0x30,
  SUBSCRIBE = 0x82,
  CONNACK = 2,
  PUBLISH_IN = 3,
  PINGRESP = 13,
  /** Between ticks (ms): a PINGREQ, or a reconnect; the keep-alive (60 s) is three ticks. */
  TICK = 20000,
  /** The packet buffer: a reply's PUBLISH, topic included, is under 250 bytes. */
  SIZE = 256,
  /** Bytes of the request written per `drain`. */
  CHUNK = 64,
  /** The framed request's length prefix, which MQTT leaves out. */
  PREFIX = 4,
}

/** Fixed parts of packets, written out. */
const enum P {
  /** CONNECT's variable header: "MQTT", level 4 (3.1.1), clean session, keep-alive 60 s. */
  CONNECT_HEAD = "\x00\x04MQTT\x04\x02\x00\x3c",
  PINGREQ = "\xc0\x00",
  /** SUBSCRIBE's packet id (one subscription: its SUBACK is not read). */
  PACKET_ID = "\x00\x01",
  /** The QoS a subscription asks for. */
  QOS0 = "\x00",
}

/** Options of `MqttClient`: all given, as the firmware has them. */
export interface MqttClientOptions {
  /** The broker's address or name, and its port. */
  host: string;
  port: number;
  /** The device's token, 32 characters; "" for none. */
  token: string;
  /** The board's id in the topics and as client id; 0 or "" for `getSerial()`. */
  device: string | 0;
}

/** Requests to the inference servers behind an MQTT broker, one digit at a time. */
export class MqttClient implements Exchange {
  host!: string;
  port!: number;
  token!: string;
  device!: string | 0;
  busy!: number;
  retryAt!: number;
  wait!: number;
  req!: Uint8Array | 0;
  id!: number;
  /** 1 once CONNECT has gone on this connection. */
  up!: number;
  sentAt!: number;
  timer!: number;
  scores!: Float32Array;
  private sock!: Socket | 0;
  /** 1 from a request on, until `reset()`: the tick reopens a closed connection. */
  private kept!: number;
  private ticker!: number;
  /** 1 while a PINGREQ has no PINGRESP. */
  private pinged!: number;
  /** Where the request's next piece starts: 0 before the PUBLISH header, -1 when all of it is written. */
  private at!: number;
  /** The packet being read: its first byte (0 before one), remaining length, and bytes so far (-1, -2... while reading the length). */
  private buf!: Uint8Array;
  private head!: number;
  private len!: number;
  private n!: number;
  private onWrite!: Listener;
  private onData!: Listener;
  private onClose!: Listener;
  private onTick!: Listener;
  declare on: (event: string, listener: Listener) => void;
  declare emit: (event: string, a?: unknown, b?: unknown, c?: unknown) => void;

  constructor(options: MqttClientOptions) {
    const self = this;
    self.host = options.host;
    self.port = options.port;
    self.token = options.token;
    self.device = options.device;
    self.id = 0;
    self.reset();
  }

  /** Closes the connection and forgets any request in flight: the next request connects anew. */
  reset(): void {
    const self = this;
    const sock = self.sock;
    try {
      if (sock) {
        sock.removeAllListeners();
        sock.end();
      }
    } catch (_) {
      // A socket from a saved RAM image may be past closing.
    }
    self.sock =
      self.up =
      self.kept =
      self.busy =
      self.timer =
      self.wait =
      self.retryAt =
        0;
  }

  /**
   * The digit of the next request, 784 bytes to write in place; the first
   * call makes the buffers and the listeners (nothing is made before the
   * first request).
   */
  digit(): Uint8Array {
    const self = this;
    let req = self.req;
    if (!req) {
      req = self.req = new Uint8Array(REQUEST_SIZE);
      req.set(E.toUint8Array(atob(REQUEST_HEAD)));
      self.buf = new Uint8Array(M.SIZE);
      self.scores = new Float32Array(CLASSES);
      // Made once, here rather than in the constructor, whose scope they
      // would keep, with its options object: these are every socket's listeners. `onWrite` is the
      // connect callback, the `drain` listener and what `send` calls on an
      // open connection: each call writes the next thing, one per event.
      self.onWrite = () => {
        const sock = self.sock as Socket;
        if (!self.up) {
          self.up = 1;
          const id = self.device || getSerial();
          const result = "mnist/" + id + "/result";
          // An id is at most 64 characters: both packets' remaining lengths
          // are under 128, one byte, and the strings' under 256 (high byte 0).
          const connect = P.CONNECT_HEAD + String.fromCharCode(0, id.length) + id;
          const subscribe = P.PACKET_ID + String.fromCharCode(0, result.length) + result + P.QOS0;
          sock.write(
            String.fromCharCode(M.CONNECT, connect.length) + connect +
              String.fromCharCode(M.SUBSCRIBE, subscribe.length) + subscribe,
          );
          return;
        }
        const at = self.at;
        if (!self.busy || at < 0) return;
        const req = self.req as Uint8Array;
        if (!at) {
          // Made again, not kept: a kept string costs variables all the time.
          const infer = "mnist/" + (self.device || getSerial()) + "/infer";
          // The remaining length, 128 to 16,383: two bytes, the low 7 bits first.
          const n = 2 + infer.length + REQUEST_SIZE - M.PREFIX;
          sock.write(
            String.fromCharCode(M.PUBLISH, n & 127 | 128, n >> 7, 0, infer.length) + infer,
          );
          self.at = M.PREFIX;
          return;
        }
        // Espruino's subarray does not stop at the end by itself.
        const next = Math.min(at + M.CHUNK, REQUEST_SIZE);
        sock.write(E.toString(req.subarray(at, next)));
        self.at = next < REQUEST_SIZE ? next : -1;
      };
      self.onData = (data: string) => {
        const b = self.buf;
        for (let i = 0; i < data.length; i++) {
          const c = data.charCodeAt(i);
          if (!self.head) {
            self.head = c;
            self.len = 0;
            self.n = -1;
          } else if (self.n < 0) {
            // The remaining length, 7 bits a byte, low first: `n` counts its bytes down.
            self.len += (c & 127) << 7 * (-1 - self.n);
            self.n = c < 128 ? 0 : self.n - 1;
          } // A typed array drops what is written past its end: a long packet is cut.
          else b[self.n++] = c;
          if (self.n == self.len) {
            const type = self.head >> 4;
            self.head = 0;
            // A refused CONNECT: the broker closes, and a request in flight fails.
            if (type == M.CONNACK && b[1]) (self.sock as Socket).end();
            if (type == M.PINGRESP) self.pinged = 0;
            // The reply: after the topic (subscribed at QoS 0: no packet id).
            if (type == M.PUBLISH_IN && self.busy && self.len <= M.SIZE) {
              settle(self, b.subarray(2 + (b[0] << 8 | b[1]), self.len));
            }
          }
        }
      };
      self.onClose = () => {
        self.sock = self.up = 0;
        if (self.busy) fail(self, "connection closed");
      };
      // The timer's, and what `send` calls to connect: opens the connection
      // when there is none (and a request was made since `reset()`), else
      // keeps it alive.
      self.onTick = () => {
        let sock = self.sock;
        if (sock) {
          // No PINGRESP since the last PINGREQ: dead, without a close.
          if (self.pinged) sock.end();
          else if (!self.busy) {
            self.pinged = 1;
            sock.write(P.PINGREQ);
          }
          return;
        }
        if (!self.kept) return;
        if (!self.ticker) self.ticker = setInterval(self.onTick, M.TICK);
        self.head = self.pinged = 0;
        try {
          // The options object lives only while connecting: a held one costs variables.
          sock = self.sock = require("net").connect(
            // Quoted: the names `net` reads, which the build does not shorten.
            { "host": self.host, "port": self.port },
            self.onWrite,
          );
          sock.on("drain", self.onWrite);
          sock.on("data", self.onData);
          sock.on("close", self.onClose);
        } catch (e) {
          // Espruino on Linux throws here for a connection refused at once.
          if (self.busy) fail(self, "" + e);
        }
      };
    }
    return req.subarray(DIGIT_AT);
  }

  /** Sends the digit written into `digit()`; nothing while a request is in flight. */
  send(): void {
    const self = this;
    if (self.busy) return;
    if (!self.req) self.digit();
    // The id, the token and, on a new connection, `client` (exchange.ts).
    begin(self);
    self.at = 0;
    self.kept = 1;
    // Connected: the PUBLISH goes now; else when connected (`onTick` connects).
    (self.up ? self.onWrite : self.onTick)();
  }
}
