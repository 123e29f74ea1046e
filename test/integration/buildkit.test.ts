// What only BuildKit does, on the real engine: unused stages skipped, cache mounts kept between
// builds, and Dockerfile features the classic builder lacks refused with file and line.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { executePlan } from "../../src/executors/docker/index.js";
import { build, capture, filesInImage, makePlan, requireEngine, runOptions, uniqueRepo } from "../helpers/engine.js";
import { makeRepo } from "../helpers/repo.js";

test("an unused stage is skipped (its RUN false fails nothing); a cache mount survives between builds", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  const src = makeRepo({ "science/x/f": "x" }, false);
  const nonce = repo.split("/").pop();
  try {
    const dockerfile = (n: number) => `FROM busybox:stable AS broken\nRUN false\n` +
      `FROM busybox:stable\nRUN --mount=type=cache,id=${nonce},target=/cache echo run${n} >> /cache/runs && cp /cache/runs /runs\n`;
    for (const n of [1, 2]) {
      const out = capture();
      const result = await executePlan(makePlan(repo, [build("sci/m", [`${repo}/sci/m:1.0`], dockerfile(n), { contexts: ["science/x"] })]),
        runOptions(src.root, out.stream, { builder: "buildkit" }));
      assert.ok(result.ok, out.text());
      assert.not.match(out.text(), /RUN false/);
    }
    // the second build found what the first left in the cache mount
    assert.is((await filesInImage(docker, `${repo}/sci/m:1.0`, "/runs"))["runs"]?.content, "run1\nrun2\n");
  } finally {
    src.cleanup();
  }
});

test("RUN --mount under the classic builder is refused before anything is built, naming file and line", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  const src = makeRepo({ "science/x/f": "x" }, false);
  try {
    const b = build("sci/m", [`${repo}/sci/m:1.0`], "FROM busybox:stable\nRUN --mount=type=cache,target=/c true\n", { contexts: ["science/x"], source: "science/x" });
    const out = capture();
    await executePlan(makePlan(repo, [b]), runOptions(src.root, out.stream, { builder: "classic" })).then(
      () => assert.unreachable("should have been refused"),
      (e: Error) => assert.match(e.message, /^science\/x\/Dockerfile:2: RUN --mount needs BuildKit/),
    );
    assert.not.match(out.text(), /Step 1/);
  } finally {
    src.cleanup();
  }
});

test.run();
