/**
 * Helpers for rollout tests: a model repository in a temporary folder whose
 * versions are real ONNX files (the bundled model, a small dense model whose
 * answers differ, one a scripted worker is stuck on), and the admin API.
 *
 * @example
 * ```ts
 * import { MODELS, repositoryOf } from "./rollout.ts";
 *
 * const root = await repositoryOf({ 1: { model: MODELS.bundled }, 2: { model: MODELS.dense, stage: "candidate" } });
 * console.log(root); // /tmp/mnist-rollout-...
 * await Deno.remove(root, { recursive: true });
 * ```
 * @module
 */
import { sha256Hex } from "../models/model.ts";
import type { ServerOptions } from "../options.ts";
import type { InferenceServer } from "../inference_server.ts";
import { withServer } from "./server.ts";

const bundled = await Deno.readFile(new URL("../../models/mnist/1/model.onnx", import.meta.url));
const dense = await Deno.readFile(new URL("../testdata/dense_784x10.onnx", import.meta.url));

/** `model` with a `doc_string` (ModelProto field 6) appended: still valid ONNX. */
function withDocString(model: Uint8Array, text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(model.length + 2 + bytes.length);
  out.set(model);
  out.set([0x32, bytes.length], model.length);
  out.set(bytes, model.length + 2);
  return out;
}

/** Real model files for versions. */
export const MODELS = {
  /** The served model: about 99% right on MNIST. */
  bundled,
  /** A single dense layer of fixed random weights: disagrees with `bundled` on most digits, unsure of all. */
  dense,
  /** `dense`, marked so that `server/testdata/scripted_worker.ts` never answers a run with ink. */
  stuck: withDocString(dense, "stuck on ink"),
};

/** The admin token the helpers' servers use. */
export const ADMIN = "admin-token-0123456789abcdef";
/** The operator token the helpers' servers use. */
export const OPERATOR = "operator-token-0123456789abcdef";

/** A repository folder with model `mnist`'s versions as given. */
export async function repositoryOf(
  versions: Record<number, { model: Uint8Array; stage?: string }>,
): Promise<string> {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-rollout-" });
  for (const [version, { model, stage }] of Object.entries(versions)) {
    const dir = `${root}/mnist/${version}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(`${dir}/model.onnx`, model);
    const metadata = { sha256: await sha256Hex(model), ...(stage ? { stage } : {}) };
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(metadata));
  }
  return root;
}

/** Calls the HTTP API: status and parsed JSON body (null when empty). */
export async function api(
  server: InferenceServer,
  method: string,
  path: string,
  body?: unknown,
  token = ADMIN,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${server.http!.addr.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Runs `fn` on a real server (admin token `ADMIN`) over a fresh repository of `versions`, then removes it. */
export async function withRolloutServer(
  versions: Record<number, { model: Uint8Array; stage?: string }>,
  options: ServerOptions,
  fn: (server: InferenceServer, address: { hostname: string; port: number }) => Promise<void>,
): Promise<void> {
  const root = await repositoryOf(versions);
  try {
    await withServer({ modelRepository: root, adminToken: ADMIN, ...options }, fn);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
