// Images a plan builds on but does not build (unchanged parents, the science image of a
// compat-only change) come from the registry, not from a stale copy in the engine.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PROJECT_ROOT, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";
import { examplesRepo } from "../helpers/fixture.js";
import { filesInImage, requireEngine, uniqueRepo } from "../helpers/engine.js";

test("a compat-only change builds on the registry's science image, not a stale local tag", async () => {
  const engine = requireEngine();
  using repo = examplesRepo();
  const target = uniqueRepo(engine.registry);
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
});

test("a compat fragment's COPY --from a science layer reads this run's --repo, after that layer's build, and is rebuilt with it", async () => {
  const engine = requireEngine();
  const copy = "COPY --from=containers.repo.sciserver.org/compute-images/sci/essentials-2-4:2.4 /opt/essentials/VERSION /opt/sciserver/essentials-version\n";
  using repo = examplesRepo({ "compat/jupyter/Dockerfile": readFileSync(join(PROJECT_ROOT, "compat/jupyter/Dockerfile"), "utf8") + copy });
  const target = uniqueRepo(engine.registry);
  const versionIn = async (image: string) =>
    (await filesInImage(engine.docker, image, "/opt/sciserver/essentials-version"))["essentials-version"]?.content;
  // Production's registry is not reachable from here: only the rewritten reference can build.
  const first = runCli(["--all", "--push", "--repo", target, "--jobs", "2", "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(first.code, 0, first.stderr);
  assert.is(await versionIn(`${target}/rel/astro:1.0`), "essentials 2.4\n");
  repo.write({ "science/essentials-2-4/Dockerfile": readFileSync(join(repo.root, "science/essentials-2-4/Dockerfile"), "utf8").replace('"essentials 2.4"', '"essentials 2.4 patched"') });
  repo.commit("essentials patched");
  const r = runCli(["-vv", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "build rel/astro:1.0 (after sci/essentials-2-4): science layer sci/essentials-2-4 rebuilt (compat jupyter copies from it)");
  assert.is(await versionIn(`${target}/rel/astro:1.0`), "essentials 2.4 patched\n");
});

test("a base only the engine has is used with a note; one nobody has fails before building", async () => {
  const engine = requireEngine();
  using repo = examplesRepo();
  const target = uniqueRepo(engine.registry);
  // Built locally, never pushed.
  const local = runCli(["--all", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(local.code, 0, local.stderr);
  const r = runCli(["--include", "compat/jupyter", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, `${target}/sci/astro-tools:1.0: not in the registry`);
  assert.match(r.stderr, "using the engine's own copy");
  const other = uniqueRepo(engine.registry);
  const missing = runCli(["--include", "compat/jupyter", "--repo", other, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, new RegExp(`image-builder: error: base image ${other.replace(/\./g, "\\.")}/sci/\\S+ is neither in the registry nor in the engine`));
});

test("a base the registry will not serve (credentials refused, registry down) stops the run: no stale copy is used", async () => {
  const engine = requireEngine();
  using repo = examplesRepo();
  using config = tempDir("ib-dockercfg-");
  using outputs = tempDir("ib-outputs-");
  // The engine has every image under both locations (built locally, never pushed).
  const authTarget = uniqueRepo(engine.authRegistry);
  const downTarget = `127.0.0.1:9/t-${Date.now()}`;
  for (const target of [authTarget, downTarget]) {
    const local = runCli(["--all", "--repo", target, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
    assert.is(local.code, 0, local.stderr);
  }
  writeFileSync(join(config.path, "config.json"), JSON.stringify({ auths: { [engine.authRegistry]: { username: engine.authUser, password: "wrong-password" } } }));
  const results = join(outputs.path, "results.json");
  const denied = runCli(["--include", "compat/jupyter", "--repo", authTarget, "--progress", "plain", "--results", results],
    { cwd: repo.root, env: { DOCKER_CONFIG: config.path }, timeoutMs: 300_000 });
  assert.is(denied.code, 1, denied.stderr);
  assert.match(denied.stderr, new RegExp(`image-builder: error: cannot pull base image ${authTarget.replace(/\./g, "\\.")}/sci/\\S+ from the registry: .*unauthorized`));
  assert.not.match(denied.stderr, /engine's own copy|wrong-password/);
  assert.not.match(denied.stderr, /Step 1\/|#1 /, "nothing was built");
  const recorded = JSON.parse(readFileSync(results, "utf8"));
  assert.ok(recorded.results.length > 0 && recorded.results.every((r: { status: string }) => r.status === "cancelled"), JSON.stringify(recorded));

  const down = runCli(["--include", "compat/jupyter", "--repo", downTarget, "--progress", "plain"], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(down.code, 1, down.stderr);
  assert.match(down.stderr, /image-builder: error: cannot pull base image 127\.0\.0\.1:9\/\S+ from the registry: .*connection refused/);

  // A malformed docker config is bad input: exit 2, nothing written.
  writeFileSync(join(config.path, "config.json"), "{ not json");
  const bad = runCli(["--include", "compat/jupyter", "--repo", authTarget, "--results", join(outputs.path, "bad", "r.json"), "--log-dir", join(outputs.path, "logs")],
    { cwd: repo.root, env: { DOCKER_CONFIG: config.path }, timeoutMs: 300_000 });
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^image-builder: error: docker config .*config\.json is not valid JSON\n$/);
  assert.equal(readdirSync(outputs.path), ["results.json"], "nothing more written");
});

test.run();
