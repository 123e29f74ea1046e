// Images a plan builds on but does not build (unchanged parents, the science image of a
// compat-only change) come from the registry, not from a stale copy in the engine.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../helpers/cli.js";
import { examplesRepo } from "../helpers/fixture.js";
import { filesInImage, requireEngine, uniqueRepo } from "../helpers/engine.js";

test("a compat-only change builds on the registry's science image, not a stale local tag", async () => {
  const engine = requireEngine();
  const repo = examplesRepo();
  const target = uniqueRepo(engine.registry);
  try {
    const first = runCli(["--all", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
    assert.is(first.code, 0, first.stderr);
    // A long-lived agent holds something else under the science tag.
    await engine.docker.getImage("busybox:stable").tag({ repo: `${target}/sci/astro-tools`, tag: "1.0" });
    repo.write({ "compat/jupyter/jupyter.conf": "ui=notebook\nport=9999\n" });
    repo.commit("compat change");
    const r = runCli(["-vv", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, "build rel/astro:1.0: compat jupyter changed");
    assert.match(r.stderr, `[base] pulled ${target}/sci/astro-tools:1.0`);
    const files = await filesInImage(engine.docker, `${target}/rel/astro:1.0`, "/opt/astro");
    assert.is(files["astro/TOOLS"]?.content, "astro tools installed\n", "built on the registry's astro-tools");
    const conf = await filesInImage(engine.docker, `${target}/rel/astro:1.0`, "/opt/sciserver/jupyter.conf");
    assert.is(conf["jupyter.conf"]?.content, "ui=notebook\nport=9999\n");
  } finally {
    repo.cleanup();
  }
});

test("a base only the engine has is used with a note; one nobody has fails before building", async () => {
  const engine = requireEngine();
  const repo = examplesRepo();
  const target = uniqueRepo(engine.registry);
  try {
    // Built locally, never pushed.
    const local = runCli(["--all", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
    assert.is(local.code, 0, local.stderr);
    const r = runCli(["--include", "compat/jupyter", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, `${target}/sci/astro-tools:1.0: not in the registry`);
    assert.match(r.stderr, "using the engine's own copy");
    const other = uniqueRepo(engine.registry);
    const missing = runCli(["--include", "compat/jupyter", "--repo", other, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
    assert.is(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, new RegExp(`image-builder: error: base image ${other.replace(/\./g, "\\.")}/sci/\\S+ is neither in the registry nor in the engine`));
  } finally {
    repo.cleanup();
  }
});

test.run();
