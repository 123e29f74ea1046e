// The dry-run plan through the real CLI, on real git repositories in temporary directories.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compat, makeRepo, science, type TempRepo } from "../helpers/repo.js";
import { MAIN, planJson, runCli } from "../helpers/cli.js";
import { spawn } from "node:child_process";
import { examplesRepo } from "../helpers/fixture.js";

const CONFIG = { "image-builder.json": '{\n  # default registry\n  "repo": "registry.example.org/images"\n}\n' };

/** nist-basic 1.0 <- nist-basic-2 2.0; astro (separate); compat jupyter includes base. */
function nistRepo(): TempRepo {
  return makeRepo({
    ...CONFIG,
    ...science("nist-basic", { image: "nist-basic", version: "1.0", compat: "jupyter" }, "FROM busybox:stable\nRUN echo 1\n"),
    ...science("nist-basic-2", { image: "nist-basic", version: "2.0", compat: "jupyter" }, "FROM registry.example.org/images/sci/nist-basic:1.0\nRUN echo 2\n"),
    ...science("astro", { image: "astro", version: "1.0", compat: "base" }, "FROM busybox:stable\n"),
    ...compat("base", [], "COPY a /a\n", { a: "a" }),
    ...compat("jupyter", ["base"], "COPY b /b\n", { b: "b" }),
  });
}

const ids = (plan: any): string[] => plan.builds.map((b: any) => b.id);

test("-v prints one line per final image and the summary, like the original tool", () => {
  using repo = nistRepo();
  repo.write({ "science/nist-basic/Dockerfile": "FROM busybox:stable\nRUN echo changed\n" });
  const h = repo.commit("change nist-basic");
  const n = repo.git("rev-list", "--count", "HEAD");
  const r = runCli(["-v", "--dryrun"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr,
    "registry location registry.example.org/images (from image-builder.json)\n" +
    `change results in final image nist-basic => nist-basic:1.0-${n}-${h}, nist-basic:1.0\n` +
    `change results in final image nist-basic => nist-basic:2.0-${n}-${h}, nist-basic:2.0\n` +
    "final plan includes 2 science builds and 2 compat builds\n");
  assert.is(r.stdout, "");
  // Quiet by default.
  const quiet = runCli(["--dryrun"], { cwd: repo.root });
  assert.is(quiet.code, 0);
  assert.is(quiet.stderr + quiet.stdout, "");
});

test("-vv says why each build is in the plan; -vvv prints the whole plan", () => {
  using repo = nistRepo();
  repo.write({ "compat/base/a": "changed" });
  repo.commit();
  const r = runCli(["-vv", "--dryrun"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "build rel/nist-basic:2.0: compat base changed since HEAD^ (included by jupyter)");
  assert.match(r.stderr, "build rel/astro:1.0: compat base changed since HEAD^");
  assert.match(r.stderr, "final plan includes 0 science builds and 3 compat builds");
  repo.write({ "science/nist-basic/Dockerfile": "FROM busybox:stable\nRUN echo x\n" });
  const vv = runCli(["-vv", "--dryrun"], { cwd: repo.root });
  assert.match(vv.stderr, "build sci/nist-basic: changed since HEAD^");
  assert.match(vv.stderr, "build sci/nist-basic-2 (after sci/nist-basic): built on sci/nist-basic");
  const vvv = runCli(["-vvv", "--dryrun"], { cwd: repo.root });
  assert.match(vvv.stderr, "FROM registry.example.org/images/sci/nist-basic:1.0");
  assert.match(vvv.stderr, "ENV SCISERVER_IMAGE=nist-basic:2.0-");
  assert.match(vvv.stderr, "label: org.sciserver.science.nist-basic.version=1.0-");
});

test("--json prints the documented plan format", () => {
  using repo = nistRepo();
  const { code, plan, stderr } = planJson(["--all"], repo.root);
  assert.is(code, 0, stderr);
  assert.is(plan.repo, "registry.example.org/images");
  assert.is(plan.commit, repo.git("rev-parse", "HEAD"));
  assert.is(plan.buildNumber, 1);
  const b = plan.builds.find((x: any) => x.id === "rel/nist-basic:2.0");
  for (const k of ["id", "kind", "image", "version", "target", "reasons", "dependsOn", "request"]) assert.ok(k in b, k);
  for (const k of ["contexts", "dockerfile", "buildArgs", "tags", "labels", "imageRewrites", "inputsDigest", "inputs"]) assert.ok(k in b.request, k);
  assert.is(b.kind, "compat");
  assert.equal(b.request.contexts, ["compat/base", "compat/jupyter"]);
  // The `docker build` command line is derived where it is printed (-vvv), never stored stale.
  assert.not.ok("command" in b.request);
});

test("uncommitted changes in the working tree count against the default HEAD^", () => {
  using repo = nistRepo();
  repo.write({ "x.txt": "unrelated" });
  repo.commit();
  assert.equal(ids(planJson([], repo.root).plan), []);
  repo.write({ "science/astro/Dockerfile": "FROM busybox:stable\nRUN true\n" });
  assert.equal(ids(planJson([], repo.root).plan), ["sci/astro", "rel/astro:1.0"]);
});

test("the first commit with the default ref plans everything", () => {
  using repo = nistRepo();
  assert.equal(ids(planJson([], repo.root).plan).length, 6);
});

test("--ref plans several commits at once; a range A..B ignores the working tree", () => {
  using repo = nistRepo();
  repo.write({ "science/astro/x": "1" }); repo.commit();
  repo.write({ "compat/jupyter/b": "2" }); repo.commit();
  repo.write({ "README": "3" }); repo.commit();
  repo.write({ "science/nist-basic-2/Dockerfile": "FROM registry.example.org/images/sci/nist-basic:1.0\nRUN echo uncommitted\n" });
  assert.equal(ids(planJson([], repo.root).plan), ["sci/nist-basic-2", "rel/nist-basic:2.0"]);
  assert.equal(ids(planJson(["--ref", "HEAD~3"], repo.root).plan),
    ["sci/astro", "sci/nist-basic-2", "rel/astro:1.0", "rel/nist-basic:1.0", "rel/nist-basic:2.0"]);
  assert.equal(ids(planJson(["--ref", "HEAD~3..HEAD"], repo.root).plan),
    ["sci/astro", "rel/astro:1.0", "rel/nist-basic:1.0", "rel/nist-basic:2.0"]);
  assert.equal(ids(planJson(["--ref", "HEAD~2..HEAD"], repo.root).plan), ["rel/nist-basic:1.0", "rel/nist-basic:2.0"]);
  assert.equal(ids(planJson(["--ref", "HEAD~3..HEAD~2"], repo.root).plan), ["sci/astro", "rel/astro:1.0"]);
  repo.git("tag", "v1", "HEAD~2");
  repo.git("branch", "old", "HEAD~3");
  assert.equal(ids(planJson(["--ref", "old..v1"], repo.root).plan), ["sci/astro", "rel/astro:1.0"]);
  // The checkout is what gets built: a range that ends elsewhere, and uncommitted edits the
  // range does not count, are pointed out.
  const head = repo.git("rev-parse", "--short", "HEAD");
  const elsewhere = runCli(["-v", "--dryrun", "--ref", "old..v1"], { cwd: repo.root });
  assert.is(elsewhere.code, 0, elsewhere.stderr);
  assert.match(elsewhere.stderr, `image-builder: warning: --ref old..v1 ends at v1 (${repo.git("rev-parse", "--short", "v1")}), not at the checkout (${head}): what gets built is the checkout's files, tagged 4-${head}\n`);
  assert.match(elsewhere.stderr, "image-builder: warning: --ref old..v1 does not count uncommitted changes, but the checkout is what gets built: science/nist-basic-2\n");
  repo.git("checkout", "-q", "--", ".");
  const clean = runCli(["-v", "--dryrun", "--ref", "HEAD~3..HEAD"], { cwd: repo.root });
  assert.is(clean.code, 0, clean.stderr);
  assert.not.match(clean.stderr, "warning");
  assert.equal(ids(planJson(["--ref", "HEAD~2^!"], repo.root).plan), ["sci/astro", "rel/astro:1.0"]);
  const unknown = runCli(["--dryrun", "--ref", "HEAD~3..nosuchbranch"], { cwd: repo.root });
  assert.is(unknown.code, 2, unknown.stderr);
  assert.is(unknown.stderr, "image-builder: error: --ref HEAD~3..nosuchbranch: git does not know this revision\n");
});

test("a reference that looks like a science layer but names none is a warning with the closest layer", () => {
  using repo = nistRepo();
  repo.write({ "science/astro/Dockerfile": "FROM busybox:stable\nCOPY --from=registry.example.org/images/sci/nist-basic:1.1 /a /a\n" });
  repo.commit("astro copies from a version that does not exist");
  const r = runCli(["--dryrun", "--json"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, "image-builder: warning: science/astro/Dockerfile: line 2: registry.example.org/images/sci/nist-basic:1.1 names no science layer of this repository, so it is pulled as written (did you mean sci/nist-basic:1.0?)\n");
  assert.equal(JSON.parse(r.stdout).builds.find((b: any) => b.id === "sci/astro").request.imageRewrites, {});
});

test("--untracked counts new directories git does not track yet", () => {
  using repo = nistRepo();
  repo.write({ "x": "1" }); repo.commit();
  repo.write(science("fresh", { image: "fresh", compat: "base" }, "FROM busybox:stable\n"));
  assert.equal(ids(planJson([], repo.root).plan), []);
  assert.equal(ids(planJson(["--untracked"], repo.root).plan), ["sci/fresh", "rel/fresh:1.0"]);
  repo.write({ "science/astro/new-file.txt": "not yet added" });
  assert.equal(ids(planJson(["--untracked", "--ignore", "science/fresh"], repo.root).plan), ["sci/astro", "rel/astro:1.0"]);
  assert.equal(ids(planJson([], repo.root).plan), []);
});

test("--include plans exactly the named directories; --ignore never counts them", () => {
  using repo = nistRepo();
  repo.write({ "science/astro/x": "1", "science/nist-basic/x": "1" }); repo.commit();
  assert.equal(ids(planJson(["--include", "science/nist-basic-2", "compat/base/"], repo.root).plan),
    ["sci/nist-basic-2", "rel/astro:1.0", "rel/nist-basic:1.0", "rel/nist-basic:2.0"]);
  assert.equal(ids(planJson(["--ignore", "science/nist-basic"], repo.root).plan), ["sci/astro", "rel/astro:1.0"]);
  const bad = runCli(["--dryrun", "--include", "science/nope"], { cwd: repo.root });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--include science\/nope: not a layer directory/);
});

test("--repo overrides the repository's config; without either the SciServer location is used, and -v says where it came from", () => {
  using repo = nistRepo();
  const { plan } = planJson(["--all", "--repo", "127.0.0.1:5000/test/"], repo.root);
  assert.is(plan.repo, "127.0.0.1:5000/test");
  assert.ok(plan.builds[0].request.tags[0].startsWith("127.0.0.1:5000/test/sci/"));
  assert.match(runCli(["-v", "--dryrun", "--all", "--repo", "127.0.0.1:5000/test"], { cwd: repo.root }).stderr,
    /^registry location 127.0.0.1:5000\/test \(from --repo\)$/m);
  // A clone of sciserver-compute-images has no image-builder.json.
  repo.remove("image-builder.json");
  const r = runCli(["-v", "--dryrun", "--all", "--json"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^registry location containers.repo.sciserver.org\/compute-images \(the default: neither --repo nor image-builder.json names one\)$/m);
  const planned = JSON.parse(r.stdout);
  assert.is(planned.repo, "containers.repo.sciserver.org/compute-images");
  assert.ok(planned.builds[0].request.tags[0].startsWith("containers.repo.sciserver.org/compute-images/sci/"));
  // Quiet without -v.
  assert.not.match(runCli(["--dryrun", "--all"], { cwd: repo.root }).stderr, /registry location/);
});

test("bad input: one line naming the file and the problem, exit 2, no stack trace, nothing written", () => {
  using repo = nistRepo();
  const before = readdirSync(repo.root).sort();
  const expectOneLine = (args: string[], pattern: RegExp) => {
    const r = runCli(["--dryrun", "-v", ...args], { cwd: repo.root });
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim(), pattern, r.stderr);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.not.match(r.stderr, /\n\s+at /);
    assert.is(r.stdout, "");
  };
  expectOneLine(["--ref", "no-such-branch"], /^image-builder: error: --ref no-such-branch: git does not know this revision$/);
  const notGit = mkdtempSync(join(tmpdir(), "ib-notgit-"));
  expectOneLine(["--root", notGit], /not a git repository/);
  rmSync(notGit, { recursive: true });
  repo.write({ "science/astro/sciserver-image.json": '{\n  "image": "astro",,\n}' });
  expectOneLine([], /^image-builder: error: science\/astro\/sciserver-image\.json: invalid JSON at line 2, column 20: property name expected$/);
  repo.write({ "science/astro/sciserver-image.json": '{"image": "astro", "compat": "base"}' });
  repo.remove("science/astro/Dockerfile");
  expectOneLine([], /science\/astro\/Dockerfile: missing Dockerfile/);
  expectOneLine(["--jobs", "0"], /--jobs/);
  assert.equal(readdirSync(repo.root).sort(), before);
});

test("git is asked a fixed number of times, whatever the number of layers (one diff, one status, one config read and one index listing for the repo)", () => {
  const files: Record<string, string> = { ...CONFIG, ...compat("base", [], "RUN true\n") };
  for (let i = 0; i < 40; i++) Object.assign(files, science(`l${i}`, { image: `l${i}`, compat: "base" }, "FROM busybox:stable\n"));
  using repo = makeRepo(files);
  repo.write({ "science/l7/x": "1" }); repo.commit();
  const trace = join(repo.root, "..", `trace-${Date.now()}.txt`);
  const r = runCli(["--dryrun", "--json", "--untracked"], { cwd: repo.root, env: { GIT_TRACE: trace } });
  assert.is(r.code, 0, r.stderr);
  assert.equal(ids(JSON.parse(r.stdout)), ["sci/l7", "rel/l7:1.0"]);
  const commands = readFileSync(trace, "utf8").split("\n").filter((l) => /trace: (built-in|exec): git /.test(l));
  rmSync(trace);
  assert.is(commands.filter((l) => / git diff /.test(l)).length, 1, commands.join("\n"));
  assert.is(commands.filter((l) => / git ls-files /.test(l)).length, 1, commands.join("\n"));
  assert.ok(commands.length <= 6, commands.join("\n"));
});

test("the README's main job: the example images plan with --all", () => {
  // a repository of its own, not the project's checkout (which may be a copy or a shallow clone)
  using repo = examplesRepo();
  const r = runCli(["-v", "--dryrun", "--all"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /change results in final image essentials => essentials:2\.4-\d+-[0-9a-f]+, essentials:2\.4/);
  assert.match(r.stderr, /change results in final image essentials => essentials:2\.5-/);
  assert.match(r.stderr, /change results in final image astro => astro:1\.0-/);
  assert.match(r.stderr, "final plan includes 4 science builds and 3 compat builds");
});

test("building without an engine address that answers fails with one line naming it", () => {
  using repo = nistRepo();
  const r = runCli(["--all"], { cwd: repo.root, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /unix:\/\/\/nonexistent\/docker\.sock/);
  assert.match(r.stderr, /DOCKER_HOST/);
  assert.not.match(r.stderr, /\n\s+at /);
});

test("platforms: the plan has a request per layer and platform, -v and graph name them, and no platforms leaves the plan as it was", () => {
  using repo = nistRepo();
  const before = planJson(["--all"], repo.root);
  assert.is(before.code, 0, before.stderr);
  assert.ok(before.plan.builds.every((b: any) => b.request.platform === undefined));
  repo.write(science("nist-basic", { image: "nist-basic", version: "1.0", compat: "jupyter", platforms: ["linux/amd64", "linux/arm64"] }, "FROM busybox:stable\nRUN echo 1\n"));
  repo.commit("two platforms");
  const { code, plan, stderr } = planJson(["--all", "-v"], repo.root);
  assert.is(code, 0, stderr);
  assert.equal(ids(plan).filter((id) => id.startsWith("sci/nist")), [
    "sci/nist-basic@linux/amd64", "sci/nist-basic@linux/arm64", "sci/nist-basic-2@linux/amd64", "sci/nist-basic-2@linux/arm64",
  ]);
  // astro declares none: built as before.
  assert.ok(ids(plan).includes("sci/astro"));
  const child = plan.builds.find((b: any) => b.id === "sci/nist-basic-2@linux/arm64");
  assert.equal(child.dependsOn, ["sci/nist-basic@linux/arm64"]);
  assert.match(child.request.tags[1], /^registry\.example\.org\/images\/sci\/nist-basic-2:2\.0-\d+-[0-9a-f]+-linux-arm64$/);
  assert.match(stderr, /change results in final image nist-basic => nist-basic:2\.0-\d+-[0-9a-f]+, nist-basic:2\.0 \(linux\/amd64, linux\/arm64\)\n/);
  assert.match(stderr, /change results in final image astro => astro:1\.0-\d+-[0-9a-f]+, astro:1\.0\n/);
  // The plan file checks out against its schema when run reads it (run --platform selects from it).
  const graph = runCli(["graph", "--all", "--format", "dot"], { cwd: repo.root });
  assert.is(graph.code, 0, graph.stderr);
  assert.match(graph.stdout, '"sci/nist-basic-2" [label="sci/nist-basic-2:2.0 (linux/amd64, linux/arm64)"');
  assert.match(graph.stdout, '"sci/astro" [label="sci/astro:1.0"');
  // --platform for the run: every layer, whatever it declares.
  const arm = planJson(["--all", "--platform", "linux/arm64"], repo.root);
  assert.ok(ids(arm.plan).every((id) => id.endsWith("@linux/arm64")), ids(arm.plan).join(" "));
  // --builder classic says at plan time what it can't do.
  const classic = runCli(["--dryrun", "--all", "--builder", "classic"], { cwd: repo.root });
  assert.match(classic.stderr, /warning: --builder classic builds only the engine's own platform/);
});

test("a Dockerfile's warning is said once, not once per platform it is planned for", () => {
  using repo = examplesRepo();
  const r = runCli(["--all", "--dryrun", "--platform", "linux/amd64,linux/arm64"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  const syntax = r.stderr.split("\n").filter((l) => l.includes("science/astro-base/Dockerfile:1: `# syntax="));
  assert.is(syntax.length, 1, r.stderr);
});

test("output going nowhere (its reader gone: EPIPE; a closed terminal: EIO) does not end the command: the plan is written, exit 0", async () => {
  using repo = examplesRepo();
  const out = join(repo.root, "..", `${repo.root.split("/").pop()}-plan.json`);
  const child = spawn(process.execPath, [MAIN, "plan", "--all", "-vvv", "--out", out], { cwd: repo.root, stdio: ["ignore", "ignore", "pipe"] });
  child.stderr.destroy();
  const code = await new Promise<number | null>((done) => child.on("exit", done));
  try {
    assert.is(code, 0);
    assert.ok(JSON.parse(readFileSync(out, "utf8")).builds.length > 0);
  } finally {
    rmSync(out, { force: true });
  }
});

test.run();
