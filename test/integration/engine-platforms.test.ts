// Multi-platform images (issue 17, first phase) on the suite's engine: a family of two platforms,
// linux/amd64 natively and linux/arm64 under Debian's qemu-user-static (registered by
// test/engine/start.sh), on an arm64 base made here from Debian's arm64 busybox. Publishing the
// image index is not part of this phase: --push of such a plan is refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { filesInImage, requireEngine, TEST_BUILDER, uniqueRepo } from "../helpers/engine.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { runCli } from "../helpers/cli.js";
import { makeArm64Base } from "../helpers/platforms.js";

const SKIP = process.env.IB_EMULATION_SKIP;
const TWO = ["linux/amd64", "linux/arm64"];

test("a two-platform family: each layer built per platform, arm64 under emulation, parents pinned per platform", async () => {
  if (SKIP) {
    console.warn(`skipped: ${SKIP}`);
    return;
  }
  const { docker, registry } = requireEngine();
  await makeArm64Base(docker);
  const repo = uniqueRepo(registry);
  using src = makeRepo({
    // FROM resolves per platform: TARGETARCH picks each platform's base.
    ...science("base", { image: "base", compat: "ui", platforms: TWO }, "FROM busybox:stable-${TARGETARCH}\nRUN uname -m > /arch\n"),
    // Inherits both platforms from base.
    ...science("top", { image: "top", compat: "ui" }, "FROM sci/base:1.0\nRUN cat /arch > /parent-arch && uname -m > /arch\n"),
    ...compat("ui", [], "RUN uname -m > /ui-arch\n"),
  });
  const dry = runCli(["--dryrun", "-v", "--all", "--repo", repo], { cwd: src.root });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /change results in final image top => top:1\.0-\d+-[0-9a-f]+, top:1\.0 \(linux\/amd64, linux\/arm64\)/);

  const pushed = runCli(["--all", "--repo", repo, "--push", "--progress", "plain"], { cwd: src.root });
  assert.is(pushed.code, 2, pushed.stderr);
  assert.match(pushed.stderr, /--push: the plan builds for named platforms \(linux\/amd64, linux\/arm64\), and publishing their image index is not supported yet/);

  const run = runCli(["--all", "--repo", repo, "--progress", "plain"], { cwd: src.root, timeoutMs: 300_000 });
  if (TEST_BUILDER === "classic") {
    // IB_TEST_BUILDER=classic: the classic builder builds the engine's own platform only, and says so before building.
    assert.is(run.code, 2, run.stderr);
    assert.match(run.stderr, /the classic builder builds only the engine's own platform \(linux\/amd64\), not linux\/arm64/);
    return;
  }
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /8 built/);
  const suffix = /sci\/top:(1\.0-\d+-[0-9a-f]+)-linux-arm64/.exec(run.stderr)![1];
  for (const [platform, arch, machine] of [["linux-arm64", "arm64", "aarch64"], ["linux-amd64", "amd64", "x86_64"]]) {
    const top = `${repo}/sci/top:${suffix}-${platform}`;
    const info = await docker.getImage(top).inspect();
    assert.is(info.Architecture, arch, top);
    // RUN uname -m in the arm64 image records aarch64; its parent is the arm64 build of base.
    assert.is((await filesInImage(docker, top, "/arch"))["arch"]?.content.trim(), machine, `${top} /arch`);
    assert.is((await filesInImage(docker, top, "/parent-arch"))["parent-arch"]?.content.trim(), machine, `${top} /parent-arch`);
    const rel = `${repo}/rel/top:${suffix}-${platform}`;
    assert.is((await filesInImage(docker, rel, "/ui-arch"))["ui-arch"]?.content.trim(), machine, rel);
    assert.is((await docker.getImage(rel).inspect()).Config.Labels["org.sciserver.compat.version"], `top:${suffix}`);
  }
  // Each platform's image carries its own inputs digest.
  const label = "org.sciserver.science.top.inputs";
  const [arm, amd] = await Promise.all(["linux-arm64", "linux-amd64"].map((p) => docker.getImage(`${repo}/sci/top:${suffix}-${p}`).inspect()));
  assert.ok(arm.Config.Labels[label] && arm.Config.Labels[label] !== amd.Config.Labels[label]);

  // Nothing changed: every platform's image is reused.
  const again = runCli(["--all", "--repo", repo, "--progress", "plain"], { cwd: src.root, timeoutMs: 300_000 });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /8 reused/);

  // A parent rebuilt for one platform: that platform's images built on the other build of it are
  // not reused (told apart by the parent's buildtime they inherited), the other platform's are.
  for (const tag of [`${repo}/sci/base:${suffix}-linux-arm64`, `${repo}/sci/base:1.0-linux-arm64`]) await docker.getImage(tag).remove();
  const rebuilt = runCli(["--all", "--repo", repo, "--progress", "plain"], { cwd: src.root, timeoutMs: 300_000 });
  assert.is(rebuilt.code, 0, rebuilt.stderr);
  assert.match(rebuilt.stderr, /\n4 reused, 4 built\n/, rebuilt.stderr.slice(-1500));
  assert.match(rebuilt.stderr, /sci\/top@linux\/arm64 +built/);
  assert.match(rebuilt.stderr, /sci\/top@linux\/amd64 +reused/);

  // run PLAN --platform: one platform's part of a plan.
  const planned = runCli(["plan", "--all", "--repo", repo, "--out", "plan.json"], { cwd: src.root });
  assert.is(planned.code, 0, planned.stderr);
  const arm64 = runCli(["run", "plan.json", "--platform", "linux/arm64", "--progress", "plain"], { cwd: src.root, timeoutMs: 300_000 });
  assert.is(arm64.code, 0, arm64.stderr);
  assert.match(arm64.stderr, /4 reused/);
  assert.not.match(arm64.stderr, /linux\/amd64/);
});

test("a platform the engine can't run is refused before anything is built, naming what to install", async () => {
  if (SKIP) {
    console.warn(`skipped: ${SKIP}`);
    return;
  }
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ ...science("a", { image: "a", compat: "ui" }, "FROM busybox:stable\n"), ...compat("ui", [], "RUN true\n") });
  // riscv64 is emulated only where qemu-riscv64 is registered: refused where not, built where so.
  const registered = existsSync("/proc/sys/fs/binfmt_misc/qemu-riscv64");
  const r = runCli(["--include", "science/a", "--repo", repo, "--platform", "linux/riscv64", "--progress", "plain"], { cwd: src.root });
  if (TEST_BUILDER === "classic") {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /the classic builder builds only the engine's own platform \(linux\/amd64\), not linux\/riscv64/);
  } else if (registered) {
    assert.not.match(r.stderr, /can't run linux\/riscv64/);
    return;
  } else {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /the engine \(linux\/amd64\) can't run linux\/riscv64 .*apt-get install qemu-user-static binfmt-support/);
  }
  assert.is((await docker.listImages({ filters: { reference: [`${repo}/*`] } })).length, 0, "an image was built");
});

test.run();
