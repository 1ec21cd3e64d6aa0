// The offline deployment: after `deno task vendor`, a copy of the checkout
// serves a legacy and a framed request inside a network namespace that has
// only loopback (`unshare -n`, `ip link set lo up`), with the Deno binary
// and cache it carries: once through `vendor/serve`, once installed as the
// systemd unit's comments say (the copy at its WorkingDirectory, read-only,
// run as an unprivileged user with exactly the unit's ExecStart and
// Environment= lines), beside `systemd-analyze verify` of that unit. Needs
// root, vendor/ and the tools; without them it is skipped with a line saying
// what is missing, unless MNIST_REQUIRE_TOOLS=1 (CI) makes that a failure.
import assert from "node:assert/strict";
import { findTool, ignorableTests, requireSetup, requireTool } from "../server/testing/tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const UNIT = `${ROOT}deploy/mnist-server.service`;

function ok(command: string): boolean {
  return new Deno.Command("sh", { args: ["-c", command] }).outputSync().success;
}

const NO_VENDOR = requireSetup(
  findTool(`${ROOT}vendor/serve`) !== null && findTool(`${ROOT}vendor/bin/deno`) !== null,
  "vendor/ (deno task vendor)",
);
const NO_NAMESPACE = requireSetup(ok('test "$(id -u)" = 0'), "root (for unshare -n and mount)") ||
  requireTool("unshare", "util-linux") || requireTool("ip", "iproute2");
/** Tests of the vendored copy in a namespace with only loopback. */
const offline = ignorableTests(NO_VENDOR || NO_NAMESPACE);
/** The same, installed as the systemd unit says. */
const offlineUnit = ignorableTests(
  NO_VENDOR || NO_NAMESPACE || requireTool("systemd-analyze", "systemd") ||
    requireTool("setpriv", "util-linux"),
);

/** The [Service] settings of a unit that starting it depends on, read as systemd reads them. */
interface ServiceStart {
  workingDirectory: string;
  /** Environment= assignments, in order (a later one wins). */
  environment: Record<string, string>;
  /** ExecStart split into words. */
  execStart: string[];
}

/** Splits a unit setting's value into words: blanks separate, double or single quotes group. */
function words(value: string): string[] {
  const out: string[] = [];
  for (const match of value.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
    out.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2] ?? match[3]);
  }
  return out;
}

/**
 * Reads what starting `unit` runs. Refuses what it would have to interpret
 * differently from systemd (ExecStart prefixes, `$` and `%` expansion).
 */
function serviceStart(unit: string): ServiceStart {
  const lines = unit.replace(/\\\n/g, " ").split("\n").map((l) => l.trim());
  let section = "";
  const settings: [string, string][] = [];
  for (const line of lines) {
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) section = line;
    else if (section === "[Service]") {
      const at = line.indexOf("=");
      settings.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
    }
  }
  const environment: Record<string, string> = {};
  for (const [key, value] of settings) {
    if (key !== "Environment") continue;
    for (const assignment of words(value)) {
      const at = assignment.indexOf("=");
      assert.ok(at > 0, `Environment=${value}: not NAME=VALUE`);
      environment[assignment.slice(0, at)] = assignment.slice(at + 1);
    }
  }
  const starts = settings.filter(([key]) => key === "ExecStart").map(([, value]) => value);
  assert.equal(starts.length, 1, "one ExecStart");
  assert.match(starts[0], /^\//, "ExecStart is an absolute path with no prefix");
  assert.doesNotMatch(starts[0], /[$%]/, "ExecStart uses no expansion");
  const workingDirectory = settings.find(([key]) => key === "WorkingDirectory")?.[1];
  if (!workingDirectory?.startsWith("/")) throw new Error("WorkingDirectory is not absolute");
  return { workingDirectory, environment, execStart: words(starts[0]) };
}

/** Copies the checkout as someone would: everything but git and the native engine's packages. */
async function withCopy(fn: (copy: string) => Promise<void>): Promise<void> {
  const copy = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-offline-" });
  try {
    const tar =
      `tar -C ${ROOT} --exclude=./.git --exclude=node_modules -cf - . | tar -C ${copy} -xf -`;
    assert.ok(ok(tar), "copy failed");
    await fn(copy);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
}

/**
 * Runs `script` inside new network and mount namespaces: only loopback, up;
 * with `installAt`, the copy is mounted read-only there (on a tmpfs over its
 * parent folder, so nothing outside the namespace changes).
 */
async function isolated(
  copy: string,
  script: string,
  installAt?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const steps = [
    "ip link set lo up",
    // Only loopback exists in here.
    "test \"$(ip -o link show | wc -l)\" = 1 || { echo 'not isolated' >&2; exit 3; }",
  ];
  if (installAt) {
    const parent = installAt.replace(/\/[^/]+\/?$/, "") || "/";
    steps.push(
      `mount -t tmpfs tmpfs ${parent}`,
      `mkdir -p ${installAt}`,
      `mount --bind ${copy} ${installAt}`,
      `mount -o remount,bind,ro ${installAt}`,
    );
  }
  steps.push(script);
  const out = await new Deno.Command("unshare", {
    args: ["-n", "-m", "sh", "-c", steps.join(" && ")],
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** The probe's JSON line: the server's start line, a legacy and a framed answer, its exit code. */
function assertServed(out: { code: number; stdout: string; stderr: string }) {
  assert.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  assert.equal(result.error, undefined, JSON.stringify(result));
  assert.equal(result.legacy.length, 96);
  assert.equal(result.legacy.status, 0);
  assert.equal(result.framed.status, 0);
  assert.equal(result.framed.predicted, result.legacy.predicted);
  assert.equal(result.exit, 0, "SIGTERM ends it cleanly");
  return result;
}

offline.test("a copied, vendored folder serves legacy and framed requests with no network", async () => {
  await withCopy(async (copy) => {
    const out = await isolated(
      copy,
      `cd ${copy} && DENO_DIR=${copy}/vendor/deno exec ${copy}/vendor/bin/deno run ` +
        `--cached-only -A scripts/offline_probe.ts`,
    );
    const result = assertServed(out);
    assert.match(result.line, /mnist-server listening on 127\.0\.0\.1:\d+/);
  });
});

offlineUnit.test("the systemd unit, installed as its comments say, passes systemd-analyze verify and serves with no network", async () => {
  const unit = await Deno.readTextFile(UNIT);
  assert.match(unit, /^LimitNOFILE=\d+$/m);
  assert.match(unit, /^Restart=on-failure$/m);
  const start = serviceStart(unit);
  const drain = Number(start.environment.MNIST_DRAIN_SECONDS);
  const stop = Number(unit.match(/^TimeoutStopSec=(\d+)$/m)?.[1]);
  assert.ok(stop > drain + 10, "systemd waits for the drain and the shutdown deadline");
  assert.ok(start.execStart.includes("--cached-only"), "it never downloads at start");
  const at = start.workingDirectory;
  await withCopy(async (copy) => {
    // The check can fail: a broken copy of the unit is refused.
    await Deno.writeTextFile(
      `${copy}/deploy/broken.service`,
      unit.replace(/^LimitNOFILE=.*$/m, "LimitNOFILE=lots"),
    );
    const verify = (name: string) =>
      isolated(copy, `systemd-analyze verify ${at}/deploy/${name} 2>&1`, at);
    const good = await verify("mnist-server.service");
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(good.stdout.trim(), "", "no warning");
    const bad = await verify("broken.service");
    assert.match(bad.stdout, /LimitNOFILE|resource value/);

    // systemd starts ExecStart with only its own PATH, the user's HOME and the
    // unit's Environment=; nobody (65534) stands in for the unit's system user.
    const run = `${copy}.run.json`;
    await Deno.writeTextFile(
      run,
      JSON.stringify({
        command: [
          "setpriv",
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          ...start.execStart,
        ],
        cwd: at,
        env: {
          PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
          HOME: "/nonexistent",
          ...start.environment,
        },
      }),
    );
    try {
      const out = await isolated(
        copy,
        `cd ${copy} && DENO_DIR=${copy}/vendor/deno ${copy}/vendor/bin/deno run ` +
          `--cached-only -A scripts/offline_probe.ts --run ${run}`,
        at,
      );
      const result = assertServed(out);
      const port = start.environment.MNIST_PORT;
      assert.match(result.line, new RegExp(`mnist-server listening on [\\d.]+:${port} `));
    } finally {
      await Deno.remove(run);
    }
  });
});
