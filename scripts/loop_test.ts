// The whole loop on small data, as docs/models.md walks it: boards send
// digits to a server that captures the unsure ones, people label them, the
// served version is fine-tuned on them, the new version comes in as a
// candidate that serves nobody, a shadow compares it on live digits (its
// disagreements captured too, with both versions' scores), a canary serves it
// to one board, and promote serves it to every board. Needs Debian's
// python3-torch and python3-onnx.
import assert from "node:assert/strict";
import { InferenceClient } from "../client/client.ts";
import { Command } from "../shared/codec.ts";
import { type DecodedReply } from "../shared/reply_codec.ts";
import { Status } from "../shared/errors.ts";
import { Logger } from "../server/log.ts";
import { type CaptureRecord, readCaptures } from "../server/capture/capture_read.ts";
import { DigitCapture } from "../server/capture/capture.ts";
import type { ShadowEvent } from "../server/rollout/shadow_event.ts";
import { startServer } from "../server/server.ts";
import { ADMIN, api } from "../server/testing/rollout.ts";
import { until } from "../server/testing/until.ts";
import { requirePython } from "../server/testing/tools.ts";
import { LABELS_FILE } from "./captured.ts";
import { labelOrder } from "./label.ts";
import { loadHeldOut, type MnistDigit } from "../models/mnist_data.ts";

const ignore = requirePython(["torch", "onnx"], "python3-torch python3-onnx");
const ROOT = new URL("..", import.meta.url).pathname;
const BOARDS = 4;
/** A held-out digit moved 5-7 px sideways and 3 px up or down: the model is often unsure of it. */
function shifted(digit: MnistDigit, k: number): Uint8Array {
  const out = new Uint8Array(784);
  const dx = 5 + (k % 3), dy = k % 2 ? 3 : -3;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - dx, sy = y - dy;
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) {
        out[y * 28 + x] = Math.round(digit.pixels[sy * 28 + sx] * 255);
      }
    }
  }
  return out;
}

/** What a board sent: the digit's bytes (base64, as a capture keeps them) and its true label. */
function key(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

async function copyVersion(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for (const name of ["model.onnx", "model.json", "reference.json"]) {
    await Deno.copyFile(`${from}/${name}`, `${to}/${name}`);
  }
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "boards send digits; the unsure ones are captured, labelled, fine-tuned on, and come back",
  ignore,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-loop-" });
    const repository = `${tmp}/models`, captured = `${tmp}/capture`;
    await copyVersion(`${ROOT}models/mnist/1`, `${repository}/mnist/1`);
    const capture = await DigitCapture.open({
      dir: captured,
      rule: "below:0.9,disagree",
      flushMs: 60_000,
    });
    const shadowed: ShadowEvent[] = [];
    const server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      log: new Logger("error", () => {}),
      modelRepository: repository,
      adminToken: ADMIN,
      capture,
      onShadow: (event) => shadowed.push(event),
    });
    /** A rollout route of model mnist, with the admin token: its answer, which must be 200. */
    const admin = async (method: string, route: string, body?: unknown) => {
      const { status, body: answer } = await api(server, method, `/v2/models/mnist/${route}`, body);
      assert.equal(status, 200, JSON.stringify(answer));
      return answer;
    };
    const digits = loadHeldOut().filter((_, i) => i % 10 === 3).slice(0, 100);
    /** Each board sends its share of the digits, one at a time; the versions that answered, by board. */
    const boardsSend = async (
      onReply?: (k: number, digitU8: Uint8Array, reply: DecodedReply) => void,
    ) => {
      const versions = new Map<string, Set<number>>();
      for (let board = 0; board < BOARDS; board++) {
        const device = `board-${board}`;
        versions.set(device, new Set());
        const client = await InferenceClient.connect({
          hostname: "127.0.0.1",
          port: server.addr.port,
        });
        for (let k = board; k < digits.length; k += BOARDS) {
          const digitU8 = shifted(digits[k], k);
          const reply = await client.send({ command: Command.INFERENCE_INPUT, digitU8, device });
          assert.equal(reply.status, Status.OK);
          versions.get(device)!.add(reply.modelVersion!);
          onReply?.(k, digitU8, reply);
        }
        client.close();
      }
      return [...versions.values()].map((set) => [...set]);
    };
    try {
      // 1. Boards send digits: 100 held-out digits, moved off-centre, from four boards.
      const labels = new Map<string, number>();
      const unsure = new Set<string>();
      const answered = await boardsSend((k, digitU8, reply) => {
        labels.set(key(digitU8), digits[k].label);
        if (Math.max(...reply.scores!) < 0.9) unsure.add(key(digitU8));
      });
      assert.deepEqual(answered, [[1], [1], [1], [1]]);

      // 2. The capture kept exactly the unsure digits, each under its board's id.
      await capture.flush();
      const records: CaptureRecord[] = await Array.fromAsync(readCaptures(captured));
      assert.ok(unsure.size >= 20, `${unsure.size} unsure digits`);
      assert.deepEqual(new Set(records.map((r) => r.pixels)), unsure);
      for (const record of records) {
        assert.match(record.device, /^board-[0-3]$/);
        assert.equal(record.reason, "below");
        assert.ok(record.confidence < 0.9);
      }

      // 3. A person labels them with deno task label, answering in the order it asks (least sure first).
      const label = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", "scripts/label.ts", "--captured", captured],
        cwd: ROOT,
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const answers = labelOrder(records).map((r) => `${labels.get(r.pixels)}\n`).join("");
      const writer = label.stdin.getWriter();
      await writer.write(new TextEncoder().encode(answers));
      await writer.close();
      const labelled = await label.output();
      assert.equal(labelled.code, 0);
      assert.match(
        new TextDecoder().decode(labelled.stdout),
        new RegExp(`labelled ${records.length}`),
      );
      assert.equal(
        await Deno.readTextFile(`${captured}/${LABELS_FILE}`),
        labelOrder(records).map((r) => `${r.id},${labels.get(r.pixels)}\n`).join(""),
      );

      // 4. Fine-tune the served version on them, mixed with 500 of MNIST's digits.
      const out = `${repository}/mnist/2`;
      const train = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "scripts/train.ts",
          "--from-capture",
          captured,
          "--out",
          out,
          "--mnist-digits",
          "500",
          "--epochs",
          "2",
          "--threads",
          "2",
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(train.stdout) + new TextDecoder().decode(train.stderr);
      assert.equal(train.code, 0, said);
      assert.match(said, /fine-tuning .*mnist\/1 .* on \d+ captured digits ×10 and 500 of MNIST's/);
      const meta = JSON.parse(await Deno.readTextFile(`${out}/model.json`));
      assert.equal(meta.stage, "candidate");
      assert.equal(meta.parent.version, 1);
      assert.equal(meta.parent.sha256, await sha256(`${repository}/mnist/1/model.onnx`));
      assert.equal(meta.sha256, await sha256(`${out}/model.onnx`));
      const data = meta.data.capture;
      assert.equal(data.dir, captured);
      assert.equal(data.labelled, records.length);
      assert.equal(data.train + data.heldOut, records.length);
      assert.ok(data.heldOut > 0);
      assert.equal(data.mnistTrain, 500);
      assert.equal(meta.data.train, 500 + 10 * data.train);
      assert.equal(meta.training.seed, 0);
      assert.equal(meta.training.epochs, 2);
      const { heldOut, capturedHeldOut } = meta.figures;
      assert.equal(heldOut.digits, 1000);
      assert.equal(capturedHeldOut.digits, data.heldOut);
      const accuracies = [
        heldOut.accuracy,
        heldOut.parent,
        capturedHeldOut.accuracy,
        capturedHeldOut.parent,
      ];
      for (const figure of accuracies) {
        assert.ok(figure >= 0 && figure <= 1, JSON.stringify(meta.figures));
      }
      assert.ok(heldOut.accuracy > 0.9, `it forgot MNIST: ${JSON.stringify(meta.figures)}`);
      console.log(`figures: ${JSON.stringify(meta.figures)}`);

      // 5. It comes in as a candidate, serving nobody; a shadow runs it on every live digit.
      await server.serving.rescan();
      await admin("POST", "shadow", { version: 2, sample: 1 });
      const seen = new Set((await Array.fromAsync(readCaptures(captured))).map((r) => r.id));
      const asShadowed = await boardsSend();
      assert.deepEqual(asShadowed, [[1], [1], [1], [1]]);
      let figures = { compared: 0, dropped: 0, failed: 0 };
      await until(async () => {
        figures = await admin("GET", "shadow");
        return figures.compared + figures.dropped + figures.failed === 100;
      }, "the shadow's 100 digits accounted for");
      assert.ok(figures.compared > 0 && shadowed.length === figures.compared);

      // 6. What the shadow saw joins the captures: every disagreement, with both versions' scores.
      await capture.flush();
      const again = (await Array.fromAsync(readCaptures(captured))).filter((r) => !seen.has(r.id));
      const withShadow = again.filter((r) => r.shadow === 2);
      assert.ok(withShadow.length > 0);
      for (const record of withShadow) assert.deepEqual(Object.keys(record.scores!), ["1", "2"]);
      const disagreements = shadowed.filter((event) => !event.agree);
      assert.ok(disagreements.length > 0, "the fine-tuned version answers some digits otherwise");
      const captured2 = new Set(withShadow.map((r) => r.pixels));
      for (const event of disagreements) assert.ok(captured2.has(key(event.digitU8!)));

      // 7. A canary serves it to one board and to nobody else.
      await admin("DELETE", "shadow");
      await admin("POST", "canary", { version: 2, devices: ["board-0"] });
      const inCanary = await boardsSend();
      assert.deepEqual(inCanary, [[2], [1], [1], [1]]);

      // 8. Promote: every board gets it, and the repository says so (no stage in model.json).
      await admin("POST", "promote", { version: 2 });
      const promoted = await boardsSend();
      assert.deepEqual(promoted, [[2], [2], [2], [2]]);
      assert.equal(JSON.parse(await Deno.readTextFile(`${out}/model.json`)).stage, undefined);
    } finally {
      await server.shutdown();
      await capture.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
