// deno-lint-ignore-file no-this-alias -- Espruino-module style, as in inference.ts.
/**
 * A small MQTT 3.1.1 client for the board, QoS 0 only, written as Espruino's
 * modules are (EspruinoDocs `modules/MQTT.js`, tinyMQTT): a constant table,
 * one constructor taking an options object, events, and no allocation per
 * byte. Bytes go out as strings (`write` of a `Uint8Array` would send its
 * text) and come in as strings (`data`).
 *
 * What it does: CONNECT (clean session, a 60 s keep-alive, the client id),
 * CONNACK, SUBSCRIBE at QoS 0, PUBLISH at QoS 0 both ways, and PINGREQ
 * every keep-alive period: a PINGRESP missing by the next one means a dead
 * connection, which it closes. A connection that closes, unless `shut()`
 * closed it, opens again 2 to 4 s later, at random, so boards that lost a
 * broker together do not all come back at once.
 *
 * Reading: packets are cut out of the stream however it is split (a length
 * split over two `data` events, two packets in one) into one buffer of 320
 * bytes, reused; a longer packet is skipped whole. The SUBACK is not read:
 * a refused subscription shows as replies that never come.
 *
 * Two hooks, set by assignment or by a subclass (`MqttInference` is one),
 * as Espruino queues events and a received payload is a view of the
 * buffer, valid only during the call: `onConnect()` after CONNACK
 * (subscribe and publish there: a new connection has no subscriptions),
 * `onMessage(payload)` for each PUBLISH received (the topic skipped: one
 * subscription). Event: `close`, when a connection is gone.
 *
 * @example
 * ```ts
 * import { Mqtt } from "./mqtt_client.ts";
 *
 * // On the board (`print` is Espruino's; a parameter here so that Deno can check it):
 * export function listen(print: (...text: unknown[]) => void): Mqtt {
 *   const mqtt = new Mqtt({ host: "192.168.1.10", port: 1883 });
 *   mqtt.clientId = "kitchen";
 *   mqtt.onConnect = () => mqtt.subscribe("mnist/kitchen/result");
 *   mqtt.onMessage = (payload) => print(payload.length + " bytes");
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
declare function setInterval(callback: Listener, ms: number): number;

/** Packet types (the fixed header's first byte, or its top four bits) and constants. */
const enum M {
  CONNECT = 0x10,
  CONNACK = 2,
  PUBLISH = 0x30,
  PUBLISH_IN = 3,
  SUBSCRIBE = 0x82,
  PINGREQ = 0xc0,
  PINGRESP = 13,
  /** The protocol level of MQTT 3.1.1, and the CONNECT flags: clean session. */
  LEVEL = 4,
  CLEAN = 2,
  /** Seconds between PINGREQs; a broker closes a client silent for 1.5 times this. */
  KEEPALIVE = 60,
  KEEPALIVE_MS = 60000,
  /** The buffer for incoming packets: a reply's PUBLISH is under 300 bytes. */
  SIZE = 320,
  /** The wait before reconnecting: this many ms and up to as many more, at random. */
  RETRY = 2000,
}

/** Options of `Mqtt`. */
export interface MqttOptions {
  host: string;
  /** Usually 1883. */
  port: number;
}

/** An MQTT string: a 16-bit big-endian length, then the bytes (ASCII here). */
function str(s: string): string {
  return String.fromCharCode(s.length >> 8, s.length & 255) + s;
}

/**
 * A packet's start: its first byte, the remaining length (7 bits a byte,
 * low first, the top bit set while more follow), then `rest`, which `more`
 * bytes follow.
 */
export function packet(type: number, rest: string, more: number): string {
  let n = rest.length + more;
  let s = String.fromCharCode(type);
  do {
    const b = n & 127;
    n >>= 7;
    s += String.fromCharCode(n ? b | 128 : b);
  } while (n);
  return s + rest;
}

/** A connection to an MQTT broker that keeps itself open. */
export class Mqtt {
  host!: string;
  port!: number;
  /** The client id, set before `open()`: unique per broker, or the broker drops the older connection. */
  clientId!: string;
  /** 1 from CONNACK to the connection's close. */
  connected!: number;
  private sock!: Socket | 0;
  /** 1 while a reconnect is due; -1 after `shut()`: no reconnecting. */
  private again!: number;
  /** The keep-alive interval (made by the first connection), and 1 while a PINGREQ has no PINGRESP. */
  private ticker!: number;
  private pinged!: number;
  /** The packet being read: its first byte (0 before it), remaining length, and bytes so far (-1 while reading the length). */
  private buf!: Uint8Array;
  private head!: number;
  private len!: number;
  private mul!: number;
  private n!: number;
  private onData!: Listener;
  private onClose!: Listener;
  private onTick!: Listener;
  declare on: (event: string, listener: Listener) => void;
  declare emit: (event: string) => void;

  constructor(options: MqttOptions) {
    const self = this;
    self.host = options.host;
    self.port = options.port;
    // `sock`, `connected`, `ticker` start unset: falsy, and no variables.
    self.buf = new Uint8Array(M.SIZE);
    self.onData = (data: string) => {
      const b = self.buf;
      for (let i = 0; i < data.length; i++) {
        const c = data.charCodeAt(i);
        if (!self.head) {
          self.head = c;
          self.len = 0;
          self.mul = 1;
          self.n = -1;
        } else if (self.n < 0) {
          // The remaining length, a byte at a time.
          self.len += (c & 127) * self.mul;
          self.mul *= 128;
          if (c < 128) self.n = 0;
        } else if (self.n++ < M.SIZE) b[self.n - 1] = c;
        if (self.n == self.len) self.packet();
      }
    };
    // No `error` listener: the reason would go nowhere (a request in flight
    // fails as "connection closed"), and `close` follows every error.
    self.onClose = () => {
      // -1 after `shut()`: stay closed.
      const again = self.again;
      self.shut();
      self.emit("close");
      if (again < 0) return;
      self.again = 1;
      // At random over a range: boards that lost a broker together come back
      // apart. A `shut()` or an `open()` meanwhile makes it moot.
      setTimeout(() => {
        if (self.again > 0) self.open();
      }, M.RETRY + Math.random() * M.RETRY);
    };
    self.onTick = () => {
      const sock = self.sock as Socket;
      if (!self.connected) return;
      // No PINGRESP since the last PINGREQ: the connection is dead without a close.
      if (self.pinged) sock.end();
      else {
        self.pinged = 1;
        sock.write(String.fromCharCode(M.PINGREQ, 0));
      }
    };
  }

  /** Connects, unless connected or connecting; reconnects by itself until `shut()`. */
  open(): void {
    const self = this;
    self.again = 0;
    if (self.sock) return;
    self.head = 0;
    try {
      const sock = self.sock = require("net").connect({ host: self.host, port: self.port }, () => {
        sock.write(
          packet(
            M.CONNECT,
            str("MQTT") + String.fromCharCode(M.LEVEL, M.CLEAN, 0, M.KEEPALIVE) +
              str(self.clientId),
            0,
          ),
        );
      });
      sock.on("data", self.onData);
      sock.on("close", self.onClose);
    } catch (_) {
      // Espruino on Linux throws when a connection is refused at once.
      self.sock = 0;
      self.onClose();
    }
  }

  /** Subscribes to `topic` at QoS 0 (packet id 1: the SUBACK is not read). */
  subscribe(topic: string): void {
    (this.sock as Socket).write(
      packet(M.SUBSCRIBE, String.fromCharCode(0, 1) + str(topic) + String.fromCharCode(0), 0),
    );
  }

  /** Publishes `payload` on `topic` at QoS 0 (connected: see `onConnect`). */
  publish(topic: string, payload: Uint8Array): void {
    const sock = this.sock as Socket;
    sock.write(packet(M.PUBLISH, str(topic), payload.length));
    sock.write(E.toString(payload));
  }

  /**
   * Closes the connection and stays disconnected until `open()`, which may
   * follow at once: the old socket is forgotten, with its listeners, so no
   * event of it reaches the new one. (No DISCONNECT: at QoS 0, with no will
   * message, a broker loses nothing by a plain close.)
   */
  shut(): void {
    const self = this;
    const sock = self.sock;
    self.again = -1;
    self.sock = self.connected = 0;
    try {
      if (sock) {
        sock.removeAllListeners();
        sock.end();
      }
    } catch (_) {
      // Closed already.
    }
  }

  /** After CONNACK: subscribe here. */
  onConnect(): void {}

  /** Each PUBLISH received; `payload` is a view of the buffer, valid during the call. */
  onMessage(_payload: Uint8Array): void {}

  /** A whole packet is in: acts on it. */
  private packet(): void {
    const self = this;
    const b = self.buf;
    const type = self.head >> 4;
    self.head = 0;
    if (self.len > M.SIZE) return;
    if (type == M.CONNACK) {
      // A refusal (bad credentials, a client id not allowed) closes: try again later.
      if (b[1]) return (self.sock as Socket).end();
      self.connected = 1;
      self.pinged = 0;
      if (!self.ticker) self.ticker = setInterval(self.onTick, M.KEEPALIVE_MS);
      self.onConnect();
    } else if (type == M.PINGRESP) self.pinged = 0;
    // Subscribed at QoS 0, the broker sends QoS 0: no packet id after the topic.
    else if (type == M.PUBLISH_IN) self.onMessage(b.subarray(2 + (b[0] << 8 | b[1]), self.len));
  }
}
