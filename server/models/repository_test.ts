// The model repository on real folders in /tmp with real ONNX files
// (server/testdata/) and the real engine as the shape probe.
import assert from "node:assert/strict";
import { DEFAULT_REPOSITORY, ModelRepository, type RepositoryOptions } from "./repository.ts";
import { changesAfterScan, type LoadFailure } from "./version_status.ts";
import { engineProbe } from "./probe.ts";
import { ModelError, sha256Hex } from "./model.ts";

const testdata = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;
const dense10 = await Deno.readFile(testdata("dense_784x10.onnx"));
const dense5 = await Deno.readFile(testdata("dense_784x5.onnx"));

/** Writes `<root>/<model>/<version>/model.onnx` and, unless `sha256` is null, its model.json. */
async function putVersion(
  root: string,
  model: string,
  version: number | string,
  bytes: Uint8Array | null,
  sha256?: string | null,
): Promise<string> {
  const dir = `${root}/${model}/${version}`;
  await Deno.mkdir(dir, { recursive: true });
  if (bytes) await Deno.writeFile(`${dir}/model.onnx`, bytes);
  if (sha256 !== null) {
    const sum = sha256 ?? await sha256Hex(bytes ?? new Uint8Array());
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ sha256: sum }));
  }
  return dir;
}

/** A repository on a fresh temp folder; counts real probe runs and collects refusals. */
async function fixture(options: RepositoryOptions = {}) {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-repo-" });
  const failures: LoadFailure[] = [];
  let probes = 0;
  const repository = ModelRepository.open(root, {
    probe: (bytes) => {
      probes++;
      return engineProbe(bytes);
    },
    onLoadFailure: (f) => failures.push(f),
    ...options,
  });
  return {
    root,
    repository,
    failures,
    probes: () => probes,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("the bundled repository serves mnist version 1, resolved from the checkout", async () => {
  assert.match(DEFAULT_REPOSITORY, /^\/.*\/models$/);
  const repository = ModelRepository.open(DEFAULT_REPOSITORY);
  const [mnist, ...others] = await repository.scan();
  assert.equal(others.length, 0);
  assert.equal(mnist.name, "mnist");
  assert.equal(mnist.latest?.version, 1);
  assert.equal(mnist.latest?.parameters, 93322);
  const file = await repository.read(mnist.latest!);
  assert.equal(file.name, "mnist");
  assert.equal(file.sha256, file.metadata?.sha256);
});

Deno.test("each bad version is refused with its reason; the highest valid one serves", async () => {
  await using f = await fixture();
  await putVersion(f.root, "digits", 1, dense10);
  await putVersion(f.root, "digits", 2, dense5); // 5 outputs
  await putVersion(f.root, "digits", 3, new Uint8Array()); // empty
  await putVersion(f.root, "digits", 4, dense10, "0".repeat(64)); // checksum mismatch
  await putVersion(f.root, "digits", 5, null); // metadata, no model file
  await putVersion(f.root, "digits", 6, dense10, null); // no metadata
  // Truncated: half the file, with the sha256 of the whole.
  await putVersion(f.root, "digits", 7, dense10.subarray(0, 1000), await sha256Hex(dense10));
  await putVersion(f.root, "digits", 8, new Uint8Array([0x0f, 0xff, 0xff])); // not ONNX
  const [digits] = await f.repository.scan();
  assert.equal(digits.latest?.version, 1);
  const byVersion = new Map(digits.versions.map((v) => [v.version, v]));
  assert.deepEqual(digits.versions.map((v) => v.version), [8, 7, 6, 5, 4, 3, 2, 1]);
  const expect: [number, string, RegExp][] = [
    [8, "corrupt", /not an ONNX file/],
    [7, "checksum", /has sha256 [0-9a-f]{64}, but .*model\.json says/],
    [6, "metadata", /has no metadata file .*model\.json/],
    [5, "no_model_file", /version folder .*\/5 has no model\.onnx/],
    [4, "checksum", /says 0{64}/],
    [3, "empty", /is empty/],
    [2, "shape", /\[batch,5\]/],
  ];
  for (const [version, kind, reason] of expect) {
    const status = byVersion.get(version)!;
    assert.equal(status.state, "UNAVAILABLE", `version ${version}`);
    assert.equal(status.kind, kind, `version ${version}: ${status.reason}`);
    assert.match(status.reason, reason);
  }
  assert.equal(byVersion.get(1)!.state, "READY");
  assert.equal(byVersion.get(1)!.reason, "");
  assert.deepEqual(f.failures.map((x) => x.version).sort(), [2, 3, 4, 5, 6, 7, 8]);
  assert.equal(f.probes(), 2); // version 2 (refused), then version 1

  // Nothing changed: nothing checked, probed or reported again.
  await f.repository.scan();
  assert.equal(f.failures.length, 7);
  assert.equal(f.probes(), 2);
});

Deno.test("a refused version is tried again when its folder changes; removing it rolls back", async () => {
  await using f = await fixture();
  await putVersion(f.root, "mnist", 1, dense10);
  // A copy caught halfway: the model is there, its metadata not yet.
  const dir = await putVersion(f.root, "mnist", 2, dense10, null);
  let [mnist] = await f.repository.scan();
  assert.equal(mnist.latest?.version, 1);
  assert.equal(mnist.versions[0].kind, "metadata");

  await Deno.writeTextFile(
    `${dir}/model.json`,
    JSON.stringify({ sha256: await sha256Hex(dense10) }),
  );
  [mnist] = await f.repository.scan();
  assert.equal(mnist.latest?.version, 2);
  assert.equal(mnist.versions[0].state, "READY");

  await Deno.remove(dir, { recursive: true });
  [mnist] = await f.repository.scan();
  assert.equal(mnist.latest?.version, 1);
  assert.deepEqual(mnist.versions.map((v) => v.version), [1]);
});

Deno.test("allowChecksumMismatch serves a version without metadata or with a wrong sha256", async () => {
  await using f = await fixture({ allowChecksumMismatch: true });
  await putVersion(f.root, "a", 1, dense10, null);
  await putVersion(f.root, "b", 1, dense10, "0".repeat(64));
  const models = await f.repository.scan();
  assert.deepEqual(models.map((m) => [m.name, m.latest?.version]), [["a", 1], ["b", 1]]);
  assert.equal(f.failures.length, 0);
});

Deno.test("only <model>/<version>/ folders count: files, dot folders and other names are skipped", async () => {
  await using f = await fixture();
  await putVersion(f.root, "mnist", 1, dense10);
  await putVersion(f.root, "mnist", "latest", dense10);
  await putVersion(f.root, "mnist", "01", dense10);
  await putVersion(f.root, "mnist", ".tmp-2", dense10);
  await putVersion(f.root, ".partial", 1, dense10);
  await Deno.writeTextFile(`${f.root}/README.txt`, "not a model");
  await Deno.mkdir(`${f.root}/empty-model`);
  const models = await f.repository.scan();
  assert.deepEqual(models.map((m) => [m.name, m.versions.map((v) => v.version)]), [["mnist", [1]]]);
});

Deno.test("several models are scanned apart; a missing repository is a clear error", async () => {
  await using f = await fixture();
  await putVersion(f.root, "mnist", 1, dense10);
  await putVersion(f.root, "mnist", 10, dense10); // 10 sorts above 9, not below 2
  await putVersion(f.root, "mnist", 9, dense10);
  await putVersion(f.root, "fast", 3, dense10);
  const models = await f.repository.scan();
  assert.deepEqual(models.map((m) => [m.name, m.latest?.version]), [["fast", 3], ["mnist", 10]]);
  assert.equal(f.repository.find("mnist")?.versions.length, 3);
  await assert.rejects(
    ModelRepository.open(`${f.root}/nope`).scan(),
    (e: Error) =>
      e instanceof ModelError && /cannot read model repository .*\/nope/.test(e.message),
  );
});

Deno.test("unload and load: an unloaded model serves nothing until loaded again", async () => {
  await using f = await fixture();
  await putVersion(f.root, "mnist", 1, dense10);
  await f.repository.scan();
  assert.equal(f.repository.setLoaded("other", false), false);
  assert.equal(f.repository.setLoaded("mnist", false), true);
  let [mnist] = await f.repository.scan();
  assert.equal(mnist.unloaded, true);
  assert.equal(mnist.latest, null);
  assert.equal(mnist.versions[0].state, "READY");
  f.repository.setLoaded("mnist", true);
  [mnist] = await f.repository.scan();
  assert.equal(mnist.latest?.version, 1);
});

Deno.test("refuse() keeps a version out until its folder changes", async () => {
  await using f = await fixture();
  await putVersion(f.root, "mnist", 1, dense10);
  const dir = await putVersion(f.root, "mnist", 2, dense10);
  await f.repository.scan();
  f.repository.refuse("mnist", 2, "warmup", "warm-up failed: out of memory");
  // Seen at once, before any rescan.
  assert.equal(f.repository.find("mnist")?.latest, null);
  assert.equal(f.repository.find("mnist")?.versions[0].state, "UNAVAILABLE");
  let [mnist] = await f.repository.scan();
  assert.equal(mnist.latest?.version, 1);
  assert.equal(mnist.versions[0].reason, "warm-up failed: out of memory");
  assert.deepEqual(f.failures.map((x) => [x.version, x.kind]), [[2, "warmup"]]);
  await Deno.writeTextFile(`${dir}/NOTES`, "retried");
  [mnist] = await f.repository.scan();
  assert.equal(mnist.latest?.version, 2);
});

Deno.test("read() refuses a file that changed after its check", async () => {
  await using f = await fixture({ allowChecksumMismatch: true });
  const dir = await putVersion(f.root, "mnist", 1, dense10);
  const [mnist] = await f.repository.scan();
  await Deno.writeFile(`${dir}/model.onnx`, dense5);
  await assert.rejects(
    f.repository.read(mnist.latest!),
    (e: Error) => e instanceof ModelError && /changed after it was checked/.test(e.message),
  );
});

Deno.test("--model FILE is one model, one version; its metadata stays optional", async () => {
  const repository = ModelRepository.single(testdata("dense_784x10.onnx"), "mnist");
  const [mnist] = await repository.scan();
  assert.equal(mnist.name, "mnist");
  assert.equal(mnist.latest?.version, 1);
  assert.equal(mnist.latest?.path, testdata("dense_784x10.onnx"));
  const file = await repository.read(mnist.latest!);
  assert.equal(file.name, "mnist");
  assert.deepEqual(file.bytes, dense10);
  const wrong = ModelRepository.single(testdata("dense_784x5.onnx"), "mnist");
  const [refused] = await wrong.scan();
  assert.equal(refused.latest, null);
  assert.equal(refused.versions[0].kind, "shape");
  const [missing] = await ModelRepository.single("/nonexistent/model.onnx", "mnist").scan();
  assert.equal(missing.latest, null);
  assert.equal(missing.versions[0].kind, "no_model_file");
  assert.match(missing.versions[0].reason, /model file \/nonexistent\/model\.onnx does not exist/);
});

Deno.test("changesAfterScan: what to swap, start and stop after a scan", async () => {
  await using f = await fixture();
  await putVersion(f.root, "mnist", 1, dense10);
  await putVersion(f.root, "mnist", 2, dense10);
  await putVersion(f.root, "fast", 1, dense10);
  await putVersion(f.root, "broken", 1, dense5);
  const models = await f.repository.scan();
  const serving = new Map([["mnist", 1], ["fast", 1], ["removed", 4]]);
  const changes = changesAfterScan(models, serving);
  assert.deepEqual(changes.map((c) => [c.model, c.from, c.to?.version ?? null]), [
    ["mnist", 1, 2],
    ["removed", 4, null],
  ]);
  assert.equal(changes[0].to?.path, `${f.root}/mnist/2/model.onnx`);
  // "broken" has nothing to serve and serves nothing: no change.
  assert.deepEqual(changesAfterScan(models, new Map([["mnist", 2], ["fast", 1]])), []);
});

Deno.test('"latest" skips a candidate and a retired version, never probing them; "serving" counts as no stage', async () => {
  await using repo = await fixture();
  const sha256 = await sha256Hex(dense10);
  const stage = (dir: string, stage: string) =>
    Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ sha256, stage }));
  await putVersion(repo.root, "mnist", 1, dense10);
  await stage(await putVersion(repo.root, "mnist", 2, dense10), "retired");
  const three = await putVersion(repo.root, "mnist", 3, dense10);
  await stage(three, "candidate");
  const [mnist] = await repo.repository.scan();
  assert.equal(mnist.latest?.version, 1);
  assert.deepEqual(mnist.versions.map((v) => [v.version, v.state, v.stage]), [
    [3, "READY", "candidate"],
    [2, "READY", "retired"],
    [1, "READY", null],
  ]);
  assert.equal(repo.probes(), 1, "only the version chosen is probed");
  await stage(three, "serving");
  assert.equal((await repo.repository.scan())[0].latest?.version, 3);
});
