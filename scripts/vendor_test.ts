// The offline deployment: after `deno task vendor`, a copy of the checkout
// serves a legacy and a framed request inside a network namespace that has
// only loopback (`unshare -n`, `ip link set lo up`), with the Deno binary
// and cache it carries. Needs root, unshare and ip (.ci/run installs
// iproute2 and runs the vendor step first); without vendor/ it is skipped,
// unless MNIST_REQUIRE_VENDOR=1 (CI) makes that a failure.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

function ok(command: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", command] }).outputSync().success;
  } catch {
    return false;
  }
}

const VENDORED = ok(`test -x ${ROOT}vendor/serve && test -x ${ROOT}vendor/bin/deno`);
const CAN_UNSHARE = ok('test "$(id -u)" = 0 && command -v unshare && command -v ip');
if (!VENDORED && Deno.env.get("MNIST_REQUIRE_VENDOR") === "1") {
  throw new Error("MNIST_REQUIRE_VENDOR=1 but vendor/ is missing: run 'deno task vendor' first");
}

Deno.test({
  name: "a copied, vendored folder serves legacy and framed requests with no network",
  ignore: !VENDORED || !CAN_UNSHARE,
  fn: async () => {
    const copy = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-offline-" });
    try {
      // The checkout as someone would copy it: everything but git and the native engine's packages.
      const tar =
        `tar -C ${ROOT} --exclude=./.git --exclude=node_modules -cf - . | tar -C ${copy} -xf -`;
      assert.ok(ok(tar), "copy failed");
      const script = [
        "ip link set lo up",
        // Only loopback exists in here.
        "test \"$(ip -o link show | wc -l)\" = 1 || { echo 'not isolated' >&2; exit 3; }",
        `cd ${copy}`,
        `DENO_DIR=${copy}/vendor/deno exec ${copy}/vendor/bin/deno run --cached-only -A scripts/offline_probe.ts`,
      ].join(" && ");
      const { code, stdout, stderr } = await new Deno.Command("unshare", {
        args: ["-n", "sh", "-c", script],
      }).output();
      const text = new TextDecoder().decode(stdout);
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      const result = JSON.parse(text.trim().split("\n").at(-1)!);
      assert.equal(result.error, undefined, JSON.stringify(result));
      assert.match(result.line, /mnist-server listening on 127\.0\.0\.1:\d+/);
      assert.deepEqual(result.legacy.length, 96);
      assert.equal(result.legacy.status, 0);
      assert.equal(result.framed.status, 0);
      assert.equal(result.framed.predicted, result.legacy.predicted);
    } finally {
      await Deno.remove(copy, { recursive: true });
    }
  },
});
