// deno-lint-ignore-file no-this-alias -- Espruino-module style, as in inference.ts.
/**
 * A small MQTT 3.1.1 client for the board, QoS 0 only, written as Espruino's
 * modules are (EspruinoDocs `modules/MQTT.js`, tinyMQTT): a constant table,
 * one constructor taking an options object with `||` defaults, events, and
 * no allocation per byte. Bytes go out as strings (`write` of a
 * `Uint8Array` would send its text) and come in as strings (`data`).
 *
 * What it does: CONNECT (clean session, keep-alive, client id), CONNACK,
 * SUBSCRIBE at QoS 0 and its SUBACK, PUBLISH at QoS 0 both ways, PINGREQ
 * every keep-alive period (a PINGRESP missing by the next one means a dead
 * connection: it is closed) and DISCONNECT. A connection that closes, unless
 * `shut()` closed it, is opened again after a back-off that doubles from 1 s
 * to 30 s, with jitter, so boards that lost a broker together do not all
 * come back at once.
 *
 * Reading: packets are cut out of the stream however it is split (a length
 * split over two `data` events, two packets in one) into one buffer of
 * `size` bytes, reused; a packet longer than that is skipped whole. A
 * PUBLISH is handed to `received(topic, payload)`, a callback in the options
 * rather than an event: Espruino queues events, and the payload is a view of
 * the buffer, valid only during the call. Writing: a PUBLISH's payload is
 * sent `CHUNK` bytes at a time, one piece per `drain`, so the socket never
 * holds a copy of a whole request.
 *
 * Events: `connected` (CONNACK accepted: subscribe now; a new connection
 * has none of the old one's subscriptions), `close` (the connection is
 * gone), `error` `(message)`.
 *
 * @example
 * ```ts
 * import { Mqtt } from "./mqtt_client.ts";
 *
 * // On the board (`print` is Espruino's; a parameter here so that Deno can check it):
 * export function listen(print: (...text: unknown[]) => void): Mqtt {
 *   const mqtt = new Mqtt({
 *     host: "192.168.1.10",
 *     id: "kitchen",
 *     received: (topic, payload) => print(topic, payload.length),
 *   });
 *   mqtt.on("connected", () => mqtt.subscribe("mnist/kitchen/result"));
 *   mqtt.open();
 *   return mqtt;
 * }
 * ```
 * @module
 */
import type { EspruinoE, Listener, Net, Socket } from "./espruino.ts";

declare const E: EspruinoE;
declare function require(name: "net"): Net;
declare function setTimeout(callback: Listener, ms: number): number;
declare function clearTimeout(id: number): void;
declare function setInterval(callback: Listener, ms: number): number;
declare function clearInterval(id: number): void;

/** Packet types (as the fixed header's first byte, or its top four bits) and defaults. */
const enum M {
  CONNECT = 0x10,
  CONNACK = 2,
  PUBLISH = 0x30,
  PUBLISH_IN = 3,
  SUBSCRIBE = 0x82,
  SUBACK = 9,
  PINGRESP = 13,
  PORT = 1883,
  /** Seconds between PINGREQs; the broker closes a client silent for 1.5 times this. */
  KEEPALIVE = 60,
  /** The buffer for incoming packets: a reply's PUBLISH is under 300 bytes. */
  SIZE = 320,
  /** Payload bytes written per `drain`. */
  CHUNK = 64,
  RETRY = 1000,
  RETRY_MAX = 30000,
}

/** Fixed packets and fields, as strings. */
const enum S {
  /** The protocol name "MQTT", level 4 (3.1.1) and the flags: clean session. */
  CONNECT_HEAD = "\x00\x04MQTT\x04\x02",
  PINGREQ = "\xc0\x00",
  DISCONNECT = "\xe0\x00",
  /** SUBSCRIBE's packet id (always 1: one subscription at a time, its SUBACK only read for failure). */
  PACKET_ID = "\x00\x01",
}

/** Options of `Mqtt`. */
export interface MqttOptions {
  host: string;
  /** Default 1883. */
  port?: number;
  /** The client id: unique per broker, or the broker drops the older connection. */
  id: string;
  /** Seconds between PINGREQs (default 60). */
  keepalive?: number;
  /** The largest incoming packet kept, in bytes (default 320); longer ones are skipped. */
  size?: number;
  /** Called with each PUBLISH received; `payload` is valid only during the call. */
  received: (topic: string, payload: Uint8Array) => void;
}

/** The remaining length's encoding: 7 bits a byte, low first, the top bit set while more follow. */
export function remainingLength(n: number): string {
  let s = "";
  do {
    const b = n & 127;
    n >>= 7;
    s += String.fromCharCode(n ? b | 128 : b);
  } while (n);
  return s;
}

/** An MQTT string: a 16-bit big-endian length, then the bytes (ASCII here). */
function str(s: string): string {
  return String.fromCharCode(s.length >> 8, s.length & 255) + s;
}

/** A whole packet: the fixed header's first byte, the remaining length, the rest. */
function packet(type: number, rest: string): string {
  return String.fromCharCode(type) + remainingLength(rest.length) + rest;
}

/** A connection to an MQTT broker that keeps itself open. */
export class Mqtt {
  host!: string;
  port!: number;
  id!: string;
  keepalive!: number;
  /** 1 from CONNACK to the connection's close. */
  connected!: number;
  /** Opens the connection; also the reconnect timer's callback. */
  open!: () => void;
  private received!: (topic: string, payload: Uint8Array) => void;
  private sock!: Socket | 0;
  /** 1 after `shut()`: no reconnecting. */
  private ended!: number;
  /** The reconnect timer and the current back-off in ms. */
  private again!: number;
  private wait!: number;
  /** The keep-alive interval, and 1 while a PINGREQ has no PINGRESP. */
  private ticker!: number;
  private pinged!: number;
  /** The packet being read: its first byte (0 before it), remaining length, and bytes so far (-1 while reading the length). */
  private buf!: Uint8Array;
  private head!: number;
  private len!: number;
  private mul!: number;
  private n!: number;
  /** The payload being published, and where its next piece starts. */
  private out!: Uint8Array | 0;
  private at!: number;
  private onData!: Listener;
  private onClose!: Listener;
  private onDrain!: Listener;
  private onTick!: Listener;
  declare on: (event: string, listener: Listener) => void;
  declare emit: (event: string, a?: unknown) => void;

  constructor(options: MqttOptions) {
    const self = this;
    self.host = options.host;
    self.port = options.port || M.PORT;
    self.id = options.id;
    self.keepalive = options.keepalive || M.KEEPALIVE;
    self.received = options.received;
    self.buf = new Uint8Array(options.size || M.SIZE);
    self.sock = self.connected = self.ended = self.again = self.wait = self.ticker = self.out = 0;
    self.open = () => {
      if (self.sock) return;
      self.again = self.ended = self.head = self.out = 0;
      try {
        const sock = self.sock = require("net").connect({ host: self.host, port: self.port }, () => {
          const ka = self.keepalive;
          sock.write(
            packet(M.CONNECT, S.CONNECT_HEAD + String.fromCharCode(ka >> 8, ka & 255) + str(self.id)),
          );
        });
        sock.on("data", self.onData);
        sock.on("drain", self.onDrain);
        sock.on("error", self.onClose);
        sock.on("close", self.onClose);
      } catch (e) {
        // Espruino on Linux throws when a connection is refused at once.
        self.sock = 0;
        self.emit("error", "" + e);
        self.onClose();
      }
    };
    self.onData = (data: string) => {
      const b = self.buf;
      for (let i = 0; i < data.length; i++) {
        const c = data.charCodeAt(i);
        if (!self.head) {
          self.head = c;
          self.len = 0;
          self.n = -1;
          self.mul = 1;
          continue;
        }
        if (self.n < 0) {
          // The remaining length, a byte at a time.
          self.len += (c & 127) * self.mul;
          self.mul *= 128;
          if (c & 128) continue;
          self.n = 0;
        } else if (self.n++ < b.length) b[self.n - 1] = c;
        if (self.n == self.len) self.packet();
      }
    };
    // Also the `error` listener: Espruino emits `error` with the reason, then `close`.
    self.onClose = (e?: { message: string }) => {
      if (e && e.message) return self.emit("error", e.message);
      if (self.ticker) clearInterval(self.ticker);
      self.sock = self.connected = self.ticker = self.out = 0;
      self.emit("close");
      if (self.ended || self.again) return;
      const wait = self.wait = Math.min(2 * self.wait || M.RETRY, M.RETRY_MAX);
      self.again = setTimeout(self.open, wait / 2 + Math.random() * wait / 2);
    };
    self.onDrain = () => {
      const out = self.out;
      if (!out || !self.sock) return;
      const next = Math.min(self.at + M.CHUNK, out.length);
      // Espruino's subarray does not stop at the end by itself.
      self.sock.write(E.toString(out.subarray(self.at, next)));
      self.at = next;
      if (next == out.length) self.out = 0;
    };
    self.onTick = () => {
      const sock = self.sock;
      if (!sock) return;
      // No PINGRESP since the last PINGREQ: the connection is dead without a close.
      if (self.pinged) return sock.end();
      // Not in the middle of a PUBLISH: its pieces are still going out.
      if (self.out) return;
      self.pinged = 1;
      sock.write(S.PINGREQ);
    };
  }

  /** Subscribes to `topic` at QoS 0 (after `connected`). */
  subscribe(topic: string): void {
    if (this.sock) this.sock.write(packet(M.SUBSCRIBE, S.PACKET_ID + str(topic) + "\x00"));
  }

  /**
   * Publishes `payload` on `topic` at QoS 0: the header now, the payload a
   * piece per `drain`; nothing while not connected or while the last one is
   * still going out. Returns whether it went.
   */
  publish(topic: string, payload: Uint8Array): number {
    const self = this;
    const sock = self.sock;
    if (!self.connected || self.out || !sock) return 0;
    const head = str(topic);
    sock.write(
      String.fromCharCode(M.PUBLISH) + remainingLength(head.length + payload.length) + head,
    );
    self.out = payload;
    self.at = 0;
    return 1;
  }

  /** Disconnects (DISCONNECT, then close) and stays disconnected until `open()`. */
  shut(): void {
    const self = this;
    const sock = self.sock;
    self.ended = 1;
    if (self.again) clearTimeout(self.again);
    self.again = 0;
    if (!sock) return;
    try {
      sock.end(S.DISCONNECT);
    } catch (_) {
      // Closed already: its close event is on its way.
    }
  }

  /** A whole packet is in: acts on it. */
  private packet(): void {
    const self = this;
    const b = self.buf;
    const head = self.head;
    const type = head >> 4;
    const len = self.len;
    self.head = 0;
    if (len > b.length) return;
    if (type == M.CONNACK) {
      if (b[1]) {
        self.emit("error", "broker refused the connection, code " + b[1]);
        return (self.sock as Socket).end();
      }
      self.connected = 1;
      self.wait = self.pinged = 0;
      self.ticker = setInterval(self.onTick, self.keepalive * 1000);
      self.emit("connected");
    } else if (type == M.SUBACK) {
      if (b[2] & 128) self.emit("error", "broker refused the subscription");
    } else if (type == M.PINGRESP) self.pinged = 0;
    else if (type == M.PUBLISH_IN) {
      const at = 2 + (b[0] << 8 | b[1]);
      // QoS 1 and 2 put a packet id after the topic (a broker sends none at QoS 0).
      self.received(
        E.toString(b.subarray(2, at)),
        b.subarray(at + (head & 6 ? 2 : 0), len),
      );
    }
  }
}
