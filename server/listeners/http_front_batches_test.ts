// The HTTP port's Worker half (`http_front.ts`) alone, its main thread played
// by the test: the requests it takes go to the main thread in batches while
// others wait for answers, a lone one at once. Needs `deno test
// --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import { HttpFront } from "./http_front.ts";
import { until } from "../testing/until.ts";

Deno.test("a Worker's HTTP requests go to the main thread in batches while others wait, a lone one at once", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const batches: number[][] = [];
  const answered = new Set<number>();
  const settings = {
    hostname: "127.0.0.1",
    port: 0,
    tls: null,
    maxBodyBytes: 1 << 20,
    trustedProxies: null,
    tokensOn: false,
  };
  const front = HttpFront.start(settings, (message) => {
    if (message.type === "httpRequests") batches.push(message.requests.map((r) => r.seq));
  });
  const url = `http://127.0.0.1:${front.port}/v2/health/live`;
  const answer = (seqs: number[]) => {
    for (const seq of seqs) answered.add(seq);
    front.receive(seqs.map((seq) => ({ seq, status: 200, headers: {}, body: `${seq}` })));
  };
  const clients = Array.from({ length: 100 }, () => Deno.createHttpClient({}));
  try {
    // Alone: posted by itself, and answered.
    const lone = fetch(url);
    await until(() => batches.length === 1, "the lone request posted");
    assert.deepEqual(batches[0], [0]);
    answer(batches[0]);
    assert.equal(await (await lone).text(), "0");
    // 100 at once from their own connections, none answered until every one is posted.
    const many = clients.map((client) => fetch(url, { client }).then((r) => r.text()));
    const seqs = () => batches.slice(1).flat();
    await until(() => seqs().length === 100, "the 100 requests posted");
    answer(seqs());
    const bodies = await Promise.all(many);
    assert.deepEqual(bodies.map(Number).sort((a, b) => a - b), seqs().sort((a, b) => a - b));
    assert.deepEqual(seqs().sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.ok(batches.length - 1 < 100, `in fewer messages than requests: ${batches.length - 1}`);
  } finally {
    // Whatever is still owed is answered, posted or not (a request is pending before its note
    // is posted), so that the shutdown, which waits for it, ends and a failure is not a hang.
    answer(Array.from({ length: 101 }, (_, seq) => seq).filter((seq) => !answered.has(seq)));
    await front.shutdown();
    for (const client of clients) client.close();
  }
});
