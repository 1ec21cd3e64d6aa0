// The Open Inference Protocol end to end: a real server on loopback, the real model, fetch as the
// client, each request written from the protocol's documents (KServe v2 REST: no outputs named
// means every output; Triton's binary tensor data and classification extensions; its model
// configuration extension), with the defects a review reproduced.
import assert from "node:assert/strict";
import { loadHeldOut } from "../../models/mnist_data.ts";
import { Logger } from "../log.ts";
import { type ServerOptions } from "../options.ts";
import { startServer } from "../server.ts";

async function withServer(options: ServerOptions, fn: (base: string) => Promise<void>) {
  const log = new Logger("error", () => {});
  const server = await startServer({ hostname: "127.0.0.1", port: 0, log, ...options });
  try {
    await fn(`http://127.0.0.1:${server.http?.addr.port}`);
  } finally {
    await server.shutdown();
    await server.finished;
  }
}

const digits = loadHeldOut().slice(0, 3).map((d) =>
  Array.from(d.pixels, (v) => Math.round(v * 255))
);
const input = (rows: number[][]) => ({
  name: "input",
  datatype: "UINT8",
  shape: [rows.length, 784],
  data: rows.flat(),
});

function infer(base: string, body: BodyInit, headers: Record<string, string> = {}) {
  return fetch(`${base}/v2/models/mnist/infer`, { method: "POST", body, headers });
}

Deno.test("OIP: an output named many times is one 400, not a multiplied reply", async () => {
  await withServer({}, async (base) => {
    const many = Array.from({ length: 20_000 }, () => ({ name: "probabilities" }));
    const rows = Array.from({ length: 128 }, (_, i) => digits[i % 3]);
    const response = await infer(base, JSON.stringify({ inputs: [input(rows)], outputs: many }));
    const text = await response.text();
    assert.equal(response.status, 400);
    assert.ok(text.length < 200, `a short error, not a reply of ${text.length} characters`);
    assert.match(JSON.parse(text).error, /^MALFORMED_BUFFER: output "probabilities" is asked for/);
    const unknown = await infer(
      base,
      JSON.stringify({ inputs: [input([digits[0]])], outputs: [{ name: "logits" }] }),
    );
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).error, /unknown output "logits"/);
  });
});

Deno.test("OIP: Inference-Header-Content-Length takes decimal digits only", async () => {
  await withServer({}, async (base) => {
    const json = new TextEncoder().encode(JSON.stringify({ inputs: [input([digits[0]])] }));
    const hex = `0x${json.length.toString(16)}`;
    // (" 16 " cannot be sent: HTTP strips the spaces around a field value; the codec's test has it.)
    for (const header of [hex, `${json.length / 10}e1`, `+${json.length}`, `${json.length}.0`]) {
      const response = await infer(base, json, { "inference-header-content-length": header });
      assert.equal(response.status, 400, `header ${JSON.stringify(header)}`);
      assert.match((await response.json()).error, /is not a length in decimal digits/);
    }
    const plain = await infer(base, json, { "inference-header-content-length": `${json.length}` });
    assert.equal(plain.status, 200);
    await plain.body?.cancel();
  });
});

Deno.test("OIP: no outputs named gives every output; classification gives the top K", async () => {
  await withServer({}, async (base) => {
    const all = await infer(base, JSON.stringify({ inputs: [input(digits)] }));
    const doc = await all.json();
    assert.deepEqual(doc.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]), [
      ["probabilities", [3, 10]],
      ["predicted", [3]],
    ]);
    const scores: number[] = doc.outputs[0].data;
    // The same digits, the top 3 classes of each in binary.
    const json = new TextEncoder().encode(JSON.stringify({
      inputs: [input(digits)],
      outputs: [{ name: "probabilities", parameters: { classification: 3, binary_data: true } }],
    }));
    const response = await infer(base, json);
    const body = new Uint8Array(await response.arrayBuffer());
    const length = Number(response.headers.get("inference-header-content-length"));
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, length)));
    const tail = body.subarray(length);
    assert.deepEqual(header.outputs, [{
      name: "probabilities",
      datatype: "BYTES",
      shape: [3, 3],
      parameters: { binary_data_size: tail.length },
    }]);
    const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    const strings: string[] = [];
    for (let at = 0; at < tail.length; at += 4 + view.getUint32(at, true)) {
      strings.push(
        new TextDecoder().decode(tail.subarray(at + 4, at + 4 + view.getUint32(at, true))),
      );
    }
    for (let d = 0; d < 3; d++) {
      const row = scores.slice(d * 10, d * 10 + 10);
      const top = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b).slice(0, 3);
      const got = strings.slice(d * 3, d * 3 + 3).map((s) => s.split(":"));
      assert.deepEqual(got.map(([, index]) => Number(index)), top, `digit ${d}'s top classes`);
      for (const [value, index] of got) assert.equal(value, row[Number(index)].toFixed(6));
      assert.equal(top[0], doc.outputs[1].data[d], "the first class is the predicted digit");
    }
  });
});

Deno.test("OIP: the config's instance_group counts the instances running", async () => {
  await withServer({ instances: 2 }, async (base) => {
    const config = await (await fetch(`${base}/v2/models/mnist/config`)).json();
    assert.deepEqual(config.instance_group, [{ name: "mnist", kind: "KIND_CPU", count: 2 }]);
  });
});
