// Request heads the Fetch API would not take as they came, on the HTTP port in
// process and through the listener Workers (`--listeners 2`, whose Worker half
// is `http_front.ts`): a Host header that makes no URL, a method in lowercase
// or one Request refuses. Raw sockets write exactly the bytes chosen, and each
// answer, the metrics and the server's ERROR lines are compared between the
// two modes. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { recordingLogger, withServer } from "../testing/server.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";

/** The status line and body of one request written as `head` on its own connection. */
async function rawAnswer(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  const [status] = text.split("\r\n");
  return `${status} ${text.slice(text.indexOf("\r\n\r\n") + 4)}`;
}

/** Host headers that make no URL, on an inference, a health check and the metrics. */
const BAD_HOSTS = [
  "POST /v2/models/mnist/infer HTTP/1.1\r\nhost: x:99999\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
  "GET /v2/health/ready HTTP/1.1\r\nhost: a b\r\nconnection: close\r\n\r\n",
  "GET /metrics HTTP/1.1\r\nhost: [::1\r\nconnection: close\r\n\r\n",
];

/**
 * Each of `heads` written on a connection of its own to a server with
 * `listeners`: the answers, then `mnist_requests_total`'s lines, then how
 * many ERROR lines the server logged.
 */
async function rawAnswers(listeners: number, heads: string[]): Promise<string[]> {
  const { log, lines } = recordingLogger("error");
  const seen: string[] = [];
  await withServer({ listeners, httpPort: 0, warmUpMs: 0, log }, async (server) => {
    const port = server.http!.addr.port;
    for (const head of heads) seen.push(await rawAnswer(port, head));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    seen.push(...metrics.split("\n").filter((line) => line.startsWith("mnist_requests_total")));
  });
  return [...seen, `error lines: ${lines.length}`];
}

const badHostAnswers = (listeners: number) => rawAnswers(listeners, BAD_HOSTS);

Deno.test("a Host header that makes no URL is refused as unreadable and counted, not a server error, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const inProcess = await badHostAnswers(1);
  for (const answer of inProcess.slice(0, 3)) {
    assert.match(answer, /^HTTP\/1.1 400 Bad Request \{"error":"MALFORMED_BUFFER: the Host header/);
  }
  assert.deepEqual(inProcess.slice(3), [
    // The inference only: a health check or a scrape is not one, as a wrong route's 404 is not.
    'mnist_requests_total{protocol="http",status="MALFORMED_BUFFER"} 1',
    "error lines: 0",
  ]);
  assert.deepEqual(await badHostAnswers(2), inProcess);
});

Deno.test("an unreadable infer counts against the model its path names, never the default in its place", async () => {
  const heads = ["zz", "mnist"].map((model) =>
    `POST /v2/models/${model}/infer HTTP/1.1\r\nhost: x:99999\r\ncontent-length: 2\r\n` +
    "connection: close\r\n\r\n{}"
  );
  await withServer({ httpPort: 0, warmUpMs: 0 }, async (server) => {
    const port = server.http!.addr.port;
    const failures = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.split("\n").filter((l) => l.startsWith("nv_inference_request_failure{"));
    };
    const before = await failures();
    assert.match(await rawAnswer(port, heads[0]), /^HTTP\/1.1 400 /);
    assert.deepEqual(await failures(), before, "zz is not served: nothing counted");
    assert.match(await rawAnswer(port, heads[1]), /^HTTP\/1.1 400 /);
    assert.ok(
      (await failures()).includes(
        'nv_inference_request_failure{model="mnist",version="1",reason="OTHER"} 1',
      ),
    );
  });
});

/** Methods the Fetch API's Request would change (a lowercase `post`) or refuse (`TRACE`). */
const ODD_METHODS = [
  "TRACE /v2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  "post /v2/models/mnist/infer HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
  "get /v2/health/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
];

/** The odd methods' answers and counts (`rawAnswers` without its count of ERROR lines). */
async function oddMethodAnswers(listeners: number): Promise<string[]> {
  return (await rawAnswers(listeners, ODD_METHODS)).slice(0, -1);
}

Deno.test("--listeners 2: a method is passed on as the client wrote it, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const inProcess = await oddMethodAnswers(1);
  assert.deepEqual(inProcess, [
    'HTTP/1.1 405 Method Not Allowed {"error":"UNKNOWN_COMMAND: /v2 takes GET, not TRACE"}',
    'HTTP/1.1 405 Method Not Allowed {"error":"UNKNOWN_COMMAND: /v2/models/mnist/infer takes POST, not post"}',
    'HTTP/1.1 405 Method Not Allowed {"error":"UNKNOWN_COMMAND: /v2/health/ready takes GET, not get"}',
  ]);
  assert.deepEqual(await oddMethodAnswers(2), inProcess);
});
