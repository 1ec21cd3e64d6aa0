// /metrics from a real server, checked with Prometheus's own parser
// (`promtool check metrics`, Debian's prometheus package); its counters must
// move with TCP and HTTP traffic.
import assert from "node:assert/strict";
import { InferenceClient, legacyInfer } from "../../client/client.ts";
import { oipRequest } from "../../client/oip.ts";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { ServerMetrics } from "./metrics.ts";
import { failureReason } from "./_triton_series.ts";
import { Status } from "../../shared/errors.ts";
import { requireTool } from "../testing/tools.ts";

const NO_PROMTOOL = requireTool("promtool", "prometheus");

/** `name{labels} value` lines -> value, keyed by `name{labels}` as printed. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/**
 * Runs `promtool check metrics`: a parse error fails it (exit 1); lint
 * findings (exit 3) are allowed only for Triton's series, whose names break
 * Prometheus's naming conventions on purpose (Triton's dashboards use them).
 */
async function promtool(text: string): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  const output = decoder.decode(stdout) + decoder.decode(stderr);
  const findings = output.split("\n").filter((line) => line.trim() !== "");
  const ours = findings.filter((line) => !line.startsWith("nv_inference_"));
  return { ok: code === 0 || (code === 3 && ours.length === 0), output: `exit ${code}\n${output}` };
}

Deno.test("Triton's failure reasons for wire statuses", () => {
  assert.equal(failureReason(Status.SERVER_BUSY), "REJECTED");
  assert.equal(failureReason(Status.INTERNAL_ERROR), "BACKEND");
  assert.equal(failureReason(Status.BAD_DIGIT_LENGTH), "OTHER");
});

Deno.test({
  name: "/metrics passes promtool and its counters move with TCP and HTTP traffic",
  ignore: NO_PROMTOOL,
  async fn() {
    const server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      log: new Logger("error", () => {}),
    });
    const base = `http://127.0.0.1:${server.http!.addr.port}`;
    const scrape = async () => {
      const response = await fetch(`${base}/metrics`);
      assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      return await response.text();
    };
    try {
      assert.equal((await promtool("not a metric line\n")).ok, false, "promtool does parse");
      const before = await scrape();
      const checked = await promtool(before);
      assert.ok(checked.ok, checked.output);
      const b = samples(before);
      const mv = '{model="mnist",version="1"}';
      assert.equal(b.get(`nv_inference_count${mv}`), 0);

      const address = { hostname: "127.0.0.1", port: server.addr.port };
      const client = await InferenceClient.connect(address);
      for (let i = 0; i < 3; i++) {
        assert.equal((await client.infer({ digitU8: new Uint8Array(784) })).status, 0);
      }
      assert.equal(
        (await client.infer({ digitU8: new Uint8Array(10) })).status,
        Status.BAD_DIGIT_LENGTH,
      );
      client.close();
      await legacyInfer(address, new Float32Array(784));
      const oip = oipRequest([new Uint8Array(784), new Uint8Array(784)]);
      const response = await fetch(`${base}/v2/models/mnist/infer`, {
        method: "POST",
        body: oip.body as Uint8Array<ArrayBuffer>,
        headers: oip.headers,
      });
      assert.equal(response.status, 200);
      const httpReply = await response.bytes();

      const after = await scrape();
      const lint = await promtool(after);
      assert.ok(lint.ok, lint.output);
      const a = samples(after);
      const delta = (key: string) => (a.get(key) ?? 0) - (b.get(key) ?? 0);
      assert.equal(delta(`nv_inference_request_success${mv}`), 5, "3 framed + 1 legacy + 1 http");
      assert.equal(delta(`nv_inference_count${mv}`), 6, "digits: the HTTP request carried 2");
      assert.equal(
        delta(`nv_inference_request_failure{model="mnist",version="1",reason="OTHER"}`),
        1,
      );
      assert.ok(delta(`nv_inference_exec_count${mv}`) >= 1);
      assert.ok(delta(`nv_inference_exec_count${mv}`) <= 6);
      assert.ok(delta(`nv_inference_request_duration_us${mv}`) > 0);
      assert.ok(delta(`nv_inference_compute_infer_duration_us${mv}`) > 0);
      assert.equal(delta('mnist_requests_total{protocol="framed",status="OK"}'), 3);
      assert.equal(delta('mnist_requests_total{protocol="framed",status="BAD_DIGIT_LENGTH"}'), 1);
      assert.equal(delta('mnist_requests_total{protocol="legacy",status="OK"}'), 1);
      assert.equal(delta('mnist_requests_total{protocol="http",status="OK"}'), 1);
      assert.equal(
        delta('mnist_received_bytes_total{protocol="legacy"}'),
        3180,
        "the old clients' request",
      );
      assert.equal(delta('mnist_sent_bytes_total{protocol="legacy"}'), 96);
      assert.equal(delta('mnist_received_bytes_total{protocol="http"}'), oip.body.length);
      assert.equal(delta('mnist_sent_bytes_total{protocol="http"}'), httpReply.length);
      assert.equal(delta('mnist_request_duration_seconds_count{protocol="framed"}'), 4);
      assert.ok(delta("mnist_batch_size_count") >= 1);
      assert.equal(a.get("mnist_queue_depth"), 0);
      assert.equal(a.get("mnist_ready"), 1);
      assert.equal(a.get("mnist_live"), 1, "in process: no listener Worker to be stuck");
      assert.equal(a.get("mnist_engine_restarts_total"), 0);
      assert.equal(a.get("mnist_listener_restarts_total"), 0, "in process too: no listener Worker");
      // No label carries a per-device value.
      assert.doesNotMatch(after, /127\.0\.0\.1/);
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test("counts kept between scrapes all appear at the next scrape, and a scrape adds nothing twice", async () => {
  const metrics = new ServerMetrics({ model: "mnist", version: "3" });
  const served = {
    protocol: "framed" as const,
    inference: true,
    status: 0,
    digits: 1,
    durationMs: 2,
    queueMs: 0.5,
    computeMs: 1,
    model: "mnist",
    version: 3,
    bytesIn: 792,
    bytesOut: 80,
  };
  const first = samples(await metrics.expose());
  assert.equal(first.get('nv_inference_count{model="mnist",version="3"}'), 0);
  for (let i = 0; i < 5; i++) metrics.observeRequest(served);
  for (let scrape = 0; scrape < 2; scrape++) {
    const now = samples(await metrics.expose());
    assert.equal(now.get('nv_inference_count{model="mnist",version="3"}'), 5);
    assert.equal(now.get('nv_inference_request_success{model="mnist",version="3"}'), 5);
    assert.equal(
      now.get('nv_inference_compute_infer_duration_us{model="mnist",version="3"}'),
      5000,
    );
    assert.equal(now.get('mnist_requests_total{protocol="framed",status="OK"}'), 5);
    assert.equal(now.get('mnist_received_bytes_total{protocol="framed"}'), 5 * 792);
    assert.equal(now.get('mnist_request_duration_seconds_count{protocol="framed"}'), 5);
  }
});
