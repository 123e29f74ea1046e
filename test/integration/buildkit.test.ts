// What only BuildKit does, on the real engine: independent stages in parallel, unused stages skipped, cache mounts kept between
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

test("independent stages build in parallel: each waits for a file the other writes into a shared cache mount", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  const src = makeRepo({ "science/x/f": "x" }, false);
  const nonce = repo.split("/").pop();
  // Built one after the other, the first stage would wait out its bound (120 s) and fail the build:
  // only stages run at the same time meet. The mount's id is new for each run, so nothing is left over.
  const stage = (me: string, other: string) => `FROM busybox:stable AS ${me}\n` +
    `RUN --mount=type=cache,id=${nonce},target=/c echo ${nonce} > /c/${me} && ` +
    `i=0; while [ ! -e /c/${other} ]; do i=$((i+1)); [ $i -le 1200 ] || exit 7; sleep 0.1; done; echo met > /${me}\n`;
  const dockerfile = stage("a", "b") + stage("b", "a") +
    "FROM busybox:stable\nCOPY --from=a /a /met/a\nCOPY --from=b /b /met/b\n";
  try {
    const out = capture();
    const result = await executePlan(makePlan(repo, [build("sci/m", [`${repo}/sci/m:1.0`], dockerfile, { contexts: ["science/x"] })]),
      runOptions(src.root, out.stream, { builder: "buildkit" }));
    assert.ok(result.ok, out.text());
    const met = await filesInImage(docker, `${repo}/sci/m:1.0`, "/met");
    assert.is(met["met/a"]?.content, "met\n");
    assert.is(met["met/b"]?.content, "met\n");
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
