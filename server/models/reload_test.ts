// The repository and its watcher together, on a real folder with real
// inotify events and the real engine probe: a version moved into place is
// taken whole; one copied in slowly is refused while incomplete, then taken.
import assert from "node:assert/strict";
import { ModelRepository } from "./repository.ts";
import { RepositoryWatcher } from "./watch.ts";
import { sha256Hex } from "./model.ts";
import type { LoadFailure } from "./version_status.ts";
import { until } from "../testing/until.ts";

const dense10 = await Deno.readFile(new URL("../testdata/dense_784x10.onnx", import.meta.url));
const metadata = JSON.stringify({ sha256: await sha256Hex(dense10) });

Deno.test("copy, then mv: taken whole; a copy caught halfway: refused, then taken; rollback", async () => {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "mnist-reload-" });
  const failures: LoadFailure[] = [];
  const repository = ModelRepository.open(root, { onLoadFailure: (f) => failures.push(f) });
  let serving: number | null = null;
  const watcher = RepositoryWatcher.start({
    root,
    debounceMs: 100,
    sighup: false,
    rescan: async () => {
      const [mnist] = await repository.scan();
      serving = mnist?.latest?.version ?? null;
    },
  });
  try {
    // Each version copied under a hidden name, then moved into place: a busy machine's pause
    // between two writes is never seen as a version without its metadata.
    await Deno.mkdir(`${root}/mnist/.1`, { recursive: true });
    await Deno.writeFile(`${root}/mnist/.1/model.onnx`, dense10);
    await Deno.writeTextFile(`${root}/mnist/.1/model.json`, metadata);
    await Deno.rename(`${root}/mnist/.1`, `${root}/mnist/1`);
    await until(() => serving === 1, "version 1 served");

    await Deno.mkdir(`${root}/mnist/.2`);
    await Deno.writeFile(`${root}/mnist/.2/model.onnx`, dense10);
    await Deno.writeTextFile(`${root}/mnist/.2/model.json`, metadata);
    await Deno.rename(`${root}/mnist/.2`, `${root}/mnist/2`);
    await until(() => serving === 2, "version 2 served");
    assert.equal(failures.length, 0);

    // Caught mid-copy, the metadata still to come: refused while it is missing.
    await Deno.mkdir(`${root}/mnist/.3`);
    await Deno.writeFile(`${root}/mnist/.3/model.onnx`, dense10);
    await Deno.rename(`${root}/mnist/.3`, `${root}/mnist/3`);
    await until(() => failures.length > 0, "version 3 refused, its metadata missing");
    assert.equal(serving, 2);
    assert.deepEqual(failures.map((f) => [f.version, f.kind]), [[3, "metadata"]]);
    await Deno.writeTextFile(`${root}/mnist/3/model.json`, metadata);
    await until(() => serving === 3, "version 3 served");

    // Rollback: the newest folder removed.
    await Deno.remove(`${root}/mnist/3`, { recursive: true });
    await until(() => serving === 2, "version 2 served again");
  } finally {
    watcher.close();
    await Deno.remove(root, { recursive: true });
  }
});
