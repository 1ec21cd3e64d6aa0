// The board's MQTT client on the wire, byte for byte against the MQTT 3.1.1
// layouts: the built MQTT firmware runs on the harness's stand-in Espruino
// and talks to a broker played here over a real loopback socket, which
// reads every packet the board sends and writes the packets a broker would,
// split and joined as a network does.
import assert from "node:assert/strict";
import { Command } from "../shared/codec.ts";
import { decodeRequest } from "../shared/request_codec.ts";
import { Status, WireError } from "../shared/errors.ts";
import { encodeMqttReply } from "../server/mqtt/topics.ts";
import { Board, firmwareFor } from "./harness.ts";

const SERIAL = "5ccf7f0a-1b2c";

/** A packet as a broker reads it: the first byte, and what follows the remaining length. */
interface Packet {
  first: number;
  /** The remaining length's bytes, as sent. */
  lengthBytes: number[];
  body: Uint8Array;
}

/** The remaining length's encoding (MQTT 3.1.1, 2.2.3), written here from the standard. */
function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}

/** An MQTT string: two bytes of length, big-endian, then the bytes. */
function mqttString(s: string): number[] {
  return [s.length >> 8, s.length & 255, ...new TextEncoder().encode(s)];
}

/** A PUBLISH (QoS 0) a broker delivers: `topic`, then `payload`. */
function publish(topic: string, payload: Uint8Array): Uint8Array {
  const rest = [...mqttString(topic), ...payload];
  return new Uint8Array([0x30, ...remainingLength(rest.length), ...rest]);
}

/** A PUBLISH whose remaining length is exactly `length`: `payload` padded with zeros. */
function publishOfLength(topic: string, payload: Uint8Array, length: number): Uint8Array {
  const padded = new Uint8Array(length - 2 - topic.length);
  padded.set(payload);
  const p = publish(topic, padded);
  assert.equal(p.length, 1 + remainingLength(length).length + length);
  return p;
}

const CONNACK = new Uint8Array([0x20, 0x02, 0x00, 0x00]);
const SUBACK = new Uint8Array([0x90, 0x03, 0x00, 0x01, 0x00]);
const PINGRESP = new Uint8Array([0xd0, 0x00]);

/** The broker's side of one connection: reads the board's packets whole. */
class BrokerSide {
  #conn: Deno.Conn;
  #bytes: number[] = [];

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next packet the board sent; null when the board closed the connection. */
  async next(): Promise<Packet | null> {
    for (;;) {
      const packet = this.#cut();
      if (packet) return packet;
      const buf = new Uint8Array(4096);
      const n = await this.#conn.read(buf).catch(() => null);
      if (n === null) return null;
      this.#bytes.push(...buf.subarray(0, n));
    }
  }

  #cut(): Packet | null {
    const b = this.#bytes;
    let length = 0;
    let at = 1;
    for (let mul = 1;; mul *= 128) {
      if (at >= b.length) return null;
      length += (b[at] & 127) * mul;
      if (!(b[at++] & 128)) break;
    }
    if (b.length < at + length) return null;
    const packet = {
      first: b[0],
      lengthBytes: b.slice(1, at),
      body: new Uint8Array(b.slice(at, at + length)),
    };
    this.#bytes = b.slice(at + length);
    return packet;
  }

  async write(...chunks: Uint8Array[]): Promise<void> {
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    for (let i = 0; i < all.length;) i += await this.#conn.write(all.subarray(i));
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // closed by the board
    }
  }
}

/** An MQTT string at `at` of `body`, and where the bytes after it start. */
function readString(body: Uint8Array, at: number): [string, number] {
  const n = body[at] << 8 | body[at + 1];
  return [new TextDecoder().decode(body.subarray(at + 2, at + 2 + n)), at + 2 + n];
}

/** A reply to request `id` that predicts `digit`, as the server publishes it. */
function replyFor(id: number, digit: number): Uint8Array {
  const scores = Array.from({ length: 10 }, (_, i) => (i === digit ? 0.9 : 0.01));
  return encodeMqttReply({ command: Command.INFERENCE_OUTPUT, requestId: id, scores });
}

/** A board running the MQTT build against a broker played by `fn`. */
async function withPlayedBroker(
  options: { device?: string; speed?: number },
  fn: (board: Board, accept: () => Promise<BrokerSide>) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const firmware = await firmwareFor(port, { protocol: "mqtt", device: options.device });
  const board = await Board.start(firmware.code, { speed: options.speed ?? 1 });
  const sides: BrokerSide[] = [];
  try {
    await board.waitFor(/^Ready/);
    await fn(board, async () => {
      const side = new BrokerSide(await listener.accept());
      sides.push(side);
      return side;
    });
  } finally {
    await board.close();
    for (const side of sides) side.close();
    listener.close();
  }
}

/** Reads CONNECT, SUBSCRIBE and a PUBLISH from a new connection; returns the request's id. */
async function handshake(broker: BrokerSide, id: string): Promise<number> {
  const connect = (await broker.next())!;
  assert.equal(connect.first, 0x10);
  // Protocol name "MQTT", level 4, clean session, keep-alive 60 s, the client id.
  assert.deepEqual(
    [...connect.body],
    [0, 4, 77, 81, 84, 84, 4, 2, 0, 60, ...mqttString(id)],
  );
  assert.deepEqual(connect.lengthBytes, remainingLength(connect.body.length));
  const subscribe = (await broker.next())!;
  assert.equal(subscribe.first, 0x82);
  const [topic, after] = readString(subscribe.body, 2);
  assert.deepEqual([...subscribe.body.subarray(0, 2)], [0, 1]);
  assert.equal(topic, `mnist/${id}/result`);
  assert.deepEqual([...subscribe.body.subarray(after)], [0]);
  return await publishedRequest(broker, id);
}

/** Reads a PUBLISH of a request on `mnist/{id}/infer`; returns its request id. */
async function publishedRequest(broker: BrokerSide, id: string): Promise<number> {
  const pub = (await broker.next())!;
  assert.equal(pub.first, 0x30, "PUBLISH, QoS 0, no DUP, no RETAIN");
  // About a thousand bytes: two bytes of remaining length, the low 7 bits first.
  assert.equal(pub.lengthBytes.length, 2);
  assert.deepEqual(pub.lengthBytes, remainingLength(pub.body.length));
  const [topic, at] = readString(pub.body, 0);
  assert.equal(topic, `mnist/${id}/infer`);
  const request = decodeRequest(pub.body.subarray(at));
  if (request instanceof WireError) throw request;
  assert.equal(request.command, Command.INFERENCE_INPUT);
  assert.equal(request.digitU8?.length, 784);
  return request.requestId;
}

Deno.test("the board's packets: CONNECT, SUBSCRIBE and PUBLISH as MQTT 3.1.1 lays them out", async () => {
  for (const device of ["", "d".repeat(64)]) {
    await withPlayedBroker({ device }, async (board, accept) => {
      const id = device || SERIAL;
      const from = board.lines.length;
      await board.repl("test()");
      const broker = await accept();
      const requestId = await handshake(broker, id);
      await broker.write(CONNACK, SUBACK, publish(`mnist/${id}/result`, replyFor(requestId, 0)));
      assert.equal(
        await board.waitFor(/^Predicted/, { from }),
        "Predicted: 0, expected: 0",
      );
      // The next request: on the same connection, no CONNECT again.
      await board.repl("test()");
      const next = await publishedRequest(broker, id);
      assert.equal(next, requestId + 1);
    });
  }
});

Deno.test("replies cut anywhere: a byte per data event, the remaining length split too", async () => {
  await withPlayedBroker({}, async (board, accept) => {
    board.network({ chunk: 1 });
    const from = board.lines.length;
    await board.repl("test()");
    const broker = await accept();
    const id = await handshake(broker, SERIAL);
    await broker.write(CONNACK, SUBACK, publish(`mnist/${SERIAL}/result`, replyFor(id, 0)));
    assert.equal(await board.waitFor(/^Predicted/, { from }), "Predicted: 0, expected: 0");
  });
});

Deno.test("remaining lengths of 127, 128, 16,383 and 16,384 in one data event, the reply after them", async () => {
  await withPlayedBroker({}, async (board, accept) => {
    board.network({ chunk: 65536 });
    const from = board.lines.length;
    await board.repl("test()");
    const broker = await accept();
    const id = await handshake(broker, SERIAL);
    const topic = `mnist/${SERIAL}/result`;
    // Replies to other requests, of those lengths (a short topic, a short
    // error reply, zeros after it): read whole (or skipped whole, past the
    // board's buffer) and passed over; then the one asked for.
    const other = encodeMqttReply({
      command: Command.ERROR,
      requestId: id + 50,
      status: Status.SERVER_BUSY,
      error: "",
    });
    const others = [127, 128, 16383, 16384].map((n) => publishOfLength("x", other, n));
    assert.deepEqual([...others[0].subarray(1, 2)], [127]);
    assert.deepEqual([...others[1].subarray(1, 3)], [0x80, 0x01]);
    assert.deepEqual([...others[2].subarray(1, 3)], [0xff, 0x7f]);
    assert.deepEqual([...others[3].subarray(1, 4)], [0x80, 0x80, 0x01]);
    await broker.write(CONNACK, SUBACK, ...others, PINGRESP, publish(topic, replyFor(id, 0)));
    assert.equal(await board.waitFor(/^Predicted/, { from }), "Predicted: 0, expected: 0");
    assert.deepEqual(board.matching(/^Server|Uncaught/), []);
  });
});

Deno.test("an error reply is printed with its status; a refused CONNECT closes and the request fails", async () => {
  await withPlayedBroker({}, async (board, accept) => {
    let from = board.lines.length;
    await board.repl("test()");
    let broker = await accept();
    const id = await handshake(broker, SERIAL);
    const error = encodeMqttReply({
      command: Command.ERROR,
      requestId: id,
      status: Status.UNAUTHORIZED,
      error: "no token",
    });
    await broker.write(CONNACK, SUBACK, publish(`mnist/${SERIAL}/result`, error));
    assert.equal(await board.waitFor(/^Server/, { from }), "Server: UNAUTHORIZED: no token");

    // A new connection (after a reset), refused by the broker: code 5, not authorized.
    await board.repl('setToken("")');
    from = board.lines.length;
    await board.repl("test()");
    broker = await accept();
    await handshake(broker, SERIAL);
    await broker.write(new Uint8Array([0x20, 0x02, 0x00, 0x05]));
    assert.equal(await broker.next(), null, "the board closes the connection");
    assert.match(await board.waitFor(/^Server/, { from }), /^Server: connection closed; retry in/);
  });
});

Deno.test("keep-alive: PINGREQ when idle, answered; a PINGRESP missing by the next tick closes the connection", async () => {
  // Board time 10 times the wall clock's: its 20 s ticks come every 2 s.
  await withPlayedBroker({ speed: 10 }, async (board, accept) => {
    const from = board.lines.length;
    await board.repl("test()");
    const broker = await accept();
    const id = await handshake(broker, SERIAL);
    await broker.write(CONNACK, SUBACK, publish(`mnist/${SERIAL}/result`, replyFor(id, 0)));
    await board.waitFor(/^Predicted/, { from });
    for (let i = 0; i < 2; i++) {
      const ping = (await broker.next())!;
      assert.deepEqual([ping.first, ...ping.lengthBytes, ...ping.body], [0xc0, 0x00]);
      await broker.write(PINGRESP);
    }
    // Unanswered: the next tick finds no PINGRESP and closes.
    const ping = (await broker.next())!;
    assert.equal(ping.first, 0xc0);
    assert.equal(await broker.next(), null);
    // The tick after that connects again by itself: CONNECT, SUBSCRIBE, no request.
    const again = await accept();
    const connect = (await again.next())!;
    assert.equal(connect.first, 0x10);
    assert.equal((await again.next())!.first, 0x82);
  });
});
