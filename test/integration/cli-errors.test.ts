// Bad input and edge cases through the real CLI: one line naming the file, exit 2, nothing built.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compat, makeRepo, science, type TempRepo } from "../helpers/repo.js";
import { tempDir } from "../helpers/temp.js";
import { PROJECT_ROOT, planJson, runCli } from "../helpers/cli.js";

function repoWith(files: Record<string, string> = {}): TempRepo {
  return makeRepo({
    "image-builder.json": '{"repo": "registry.example.org/images"}',
    ...science("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"),
    ...compat("base", [], "ENV X=1\n"),
    ...files,
  });
}

function expectInputError(args: string[], cwd: string, pattern: RegExp): void {
  const r = runCli(args, { cwd });
  assert.is(r.code, 2, `${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr.trim(), pattern, r.stderr);
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.is(r.stdout, "");
}

test("a Dockerfile syntax error names the file and line", () => {
  using repo = repoWith();
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable AS a b\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 1: FROM requires/);
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN <<EOF\necho never closed\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 2: .*heredoc/i);
  // What the builder would fail on after the rest of the plan is pushed: refused when planning, naming the file's own line.
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUNN echo a > /a\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 2: unknown instruction RUNN$/);
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\n", "compat/base/Dockerfile": "ENV X=1\nCPY x /x\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: compat\/base\/Dockerfile: line 2: unknown instruction CPY$/);
  repo.write({ "science/a/Dockerfile": "ARG BASE\nFROM ${BASE}\n", "compat/base/Dockerfile": "ENV X=1\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 2: FROM \$\{BASE\}: the base image name is empty/);
  assert.is(runCli(["--dryrun", "--build-arg", "BASE=busybox:stable"], { cwd: repo.root }).code, 0);
  repo.write({ "science/a/Dockerfile": "ARG X=abc\nFROM ${X/[z-a]/q}\n" });
  const odd = runCli(["--dryrun", "--json"], { cwd: repo.root });
  assert.is(odd.code, 0, odd.stderr);
});

test("a Dockerfile that sets image-builder's breadcrumb labels is refused when planning: the image would name a layer it does not hold", () => {
  using repo = repoWith();
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nLABEL maintainer=me org.sciserver.science.numpy-2.version=2.0-1-abcdef0\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 2: LABEL org\.sciserver\.science\.numpy-2\.version is image-builder's own/);
  // Quoted, or in the legacy one-pair form: the same key.
  repo.write({ "science/a/Dockerfile": 'FROM busybox:stable\nLABEL "org.sciserver.science.x.inputs"="sha256:0"\n' });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 2: LABEL org\.sciserver\.science\.x\.inputs /);
  // A builder stage's labels never reach the image.
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable AS build\nLABEL org.sciserver.science.x.version=1\nFROM busybox:stable\n" });
  assert.is(runCli(["--dryrun"], { cwd: repo.root }).code, 0);
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\n", "compat/base/Dockerfile": "ENV X=1\nLABEL org.sciserver.compat.version other:1.0-1-abcdef0\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: compat\/base\/Dockerfile: line 2: LABEL org\.sciserver\.compat\.version /);
  // Other labels, in the same namespace or not, are the user's.
  repo.write({ "compat/base/Dockerfile": "ENV X=1\nLABEL org.sciserver.description=\"a b\" org.sciserver.science.x.owner=me\n" });
  const r = runCli(["--dryrun"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
});

test("a layer directory that is a symbolic link is refused when planning, naming it: its files are not the repository's", () => {
  using repo = repoWith();
  using outside = tempDir("ib-outside-");
  writeFileSync(join(outside.path, "sciserver-image.json"), '{"image": "lnk", "version": "1.0", "target": "lnk"}');
  writeFileSync(join(outside.path, "Dockerfile"), "FROM busybox:stable\n");
  symlinkSync(outside.path, join(repo.root, "science/lnk"));
  repo.commit("a linked layer");
  expectInputError(["--dryrun", "--all"], repo.root, /^image-builder: error: science\/lnk: a symbolic link to a directory: a layer must be a directory of the repository/);
  // A link that is no layer (no sciserver-image.json behind it) is not one, as any other directory.
  repo.remove("science/lnk");
  symlinkSync("/nonexistent-ib-dir", join(repo.root, "science/dangling"));
  repo.commit("a dangling link");
  const r = runCli(["--dryrun", "--all"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
});

test("the files image-builder reads from a checkout are read only as regular files of the repository: a link (to /dev/zero, to an agent's file), a fifo or a huge file is refused in one line naming it, unread", () => {
  using repo = repoWith({ "science/a/data.txt": "d\n" });
  using outside = tempDir("ib-outside-");
  writeFileSync(join(outside.path, "agent-file"), "FROM busybox:stable\nLABEL secret=AGENT_SECRET\n");
  const link = (path: string, target: string) => {
    rmSync(join(repo.root, path), { force: true });
    symlinkSync(target, join(repo.root, path));
  };
  const refused = (path: string, problem: RegExp) => {
    const r = runCli(["-v", "--dryrun", "--all"], { cwd: repo.root, timeoutMs: 30_000 });
    assert.is(r.code, 2, `${path}: exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr.trim(), new RegExp(`^image-builder: error: ${path.replace(/[./]/g, "\\$&")}: ${problem.source}`), r.stderr);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.not.match(r.stderr, /AGENT_SECRET|root:x:0/i);
    assert.is(r.stdout, "");
  };
  const linked = /a symbolic link: image-builder reads this file only as a file of the repository \(git tracks the link, not the file it points to\)$/;
  // What a pull request can commit: links to a device, to a file of the machine, to another file of the repository.
  link("science/a/Dockerfile", "/dev/zero");
  refused("science/a/Dockerfile", linked);
  link("science/a/Dockerfile", join(outside.path, "agent-file"));
  refused("science/a/Dockerfile", linked);
  link("science/a/Dockerfile", "/etc/passwd");
  refused("science/a/Dockerfile", linked);
  link("science/a/Dockerfile", "data.txt");
  refused("science/a/Dockerfile", linked);
  rmSync(join(repo.root, "science/a/Dockerfile"));
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\n" });
  link("science/a/.dockerignore", "/dev/zero");
  refused("science/a/.dockerignore", linked);
  rmSync(join(repo.root, "science/a/.dockerignore"));
  link("compat/base/sciserver-image.json", "../../science/a/data.txt");
  refused("compat/base/sciserver-image.json", linked);
  rmSync(join(repo.root, "compat/base/sciserver-image.json"));
  repo.write({ "compat/base/sciserver-image.json": "{}" });
  link("image-builder.json", join(outside.path, "agent-file"));
  refused("image-builder.json", linked);
  rmSync(join(repo.root, "image-builder.json"));
  repo.write({ "image-builder.json": '{"repo": "registry.example.org/images"}' });
  // A fifo (git keeps none, but a checkout can have one) would hang the read: refused at once.
  execFileSync("mkfifo", [join(repo.root, "science/a/.dockerignore")]);
  refused("science/a/.dockerignore", /not a regular file \(a fifo or a device\): refused unread$/);
  rmSync(join(repo.root, "science/a/.dockerignore"));
  repo.write({ "science/a/.dockerignore": `${"x".repeat(1024)}\n`.repeat(1100) });
  refused("science/a/.dockerignore", /larger than 1 MiB, more than such a file holds: refused unread$/);
  rmSync(join(repo.root, "science/a/.dockerignore"));
  // science/ itself a link: every layer behind it would be files git does not track here.
  const science = join(outside.path, "science");
  execFileSync("mv", [join(repo.root, "science"), science]);
  symlinkSync(science, join(repo.root, "science"));
  refused("science", /a symbolic link: the layers must be directories of the repository/);
  rmSync(join(repo.root, "science"));
  execFileSync("mv", [science, join(repo.root, "science")]);
  const ok = runCli(["--dryrun", "--all"], { cwd: repo.root });
  assert.is(ok.code, 0, ok.stderr);
});

test("a file name in a build context that is not UTF-8 is refused naming it (escaped) unless its .dockerignore leaves it out; a link whose target is not UTF-8 too", () => {
  using repo = repoWith();
  const bad = Buffer.concat([Buffer.from(join(repo.root, "science/a/bad")), Buffer.from([0xff]), Buffer.from("name")]);
  writeFileSync(bad, "x");
  expectInputError(["--dryrun", "--all"], repo.root, /^image-builder: error: science\/a\/bad\\xffname: its name is not UTF-8 text, which a build context can't carry as it is: rename it, or leave it out with \.dockerignore$/);
  repo.write({ "science/a/.dockerignore": "bad*\n" });
  const ignored = runCli(["--dryrun", "--all"], { cwd: repo.root });
  assert.is(ignored.code, 0, ignored.stderr);
  rmSync(bad);
  repo.write({ "science/a/.dockerignore": "" });
  symlinkSync(Buffer.concat([Buffer.from("tgt"), Buffer.from([0xff])]), join(repo.root, "science/a/badlink"));
  expectInputError(["--dryrun", "--all"], repo.root, /^image-builder: error: science\/a\/badlink: a symbolic link whose target \(tgt\\xff\) is not UTF-8 text, which a build context can't carry as it is$/);
});

test("a sci/ reference without a registry that names no layer (a typo, a deleted parent) is never pulled from Docker Hub: a warning when planning, refused before a run builds anything", () => {
  using repo = repoWith({ ...science("b", { image: "b", compat: "base" }, "FROM sci/a:2.0\nRUN true\n") });
  const dry = runCli(["--dryrun", "--all"], { cwd: repo.root });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /warning: science\/b\/Dockerfile: line 1: sci\/a:2\.0 names no science layer of this repository, and without a registry it would be pulled from Docker Hub \(docker\.io\/sci\/a:2\.0\), so a build refuses it \(did you mean sci\/a:1\.0\?\)/);
  // Refused before the engine is asked: no engine here.
  const run = runCli(["--all", "--progress", "plain"], { cwd: repo.root, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  assert.is(run.code, 2, run.stderr);
  assert.match(run.stderr, /^image-builder: error: nothing is built: sci\/b: sci\/a:2\.0 \(line 1 of science\/b\/Dockerfile\): names no science layer of this repository, and a sci\/ reference without a registry would be pulled from Docker Hub's sci\/, which is not this repository's/m);
  // A registry spelled is the Dockerfile's choice: used as written.
  repo.write({ "science/b/Dockerfile": "FROM registry.example.org/other/sci/a:2.0\nRUN true\n" });
  repo.commit("spelled");
  const spelled = runCli(["--dryrun", "--all"], { cwd: repo.root });
  assert.match(spelled.stderr, /registry\.example\.org\/other\/sci\/a:2\.0 names no science layer of this repository, so it is pulled as written/);
});

test("compat fragments must not end in a continuation or carry parser directives", () => {
  using repo = repoWith();
  repo.write({ "compat/base/Dockerfile": "RUN echo hi \\\n# done\n\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: compat\/base\/Dockerfile: line 1: the fragment's last instruction ends in a line continuation /);
  repo.write({ "compat/base/Dockerfile": "# escape=`\nRUN echo hi\n" });
  expectInputError(["--dryrun"], repo.root, /^image-builder: error: compat\/base\/Dockerfile: line 1: parser directive "escape"/);
});

test("a repository with no commits, and a --root that does not exist", () => {
  using dir = tempDir("ib-empty-");
  const r = makeRepo({}, false);
  expectInputError(["--dryrun", "--repo", "r.example.org/x"], r.root, /^image-builder: error: --root \.: the git repository has no commits yet$/);
  r.cleanup();
  expectInputError(["--dryrun", "--root", join(dir.path, "nope")], dir.path, /--root .*nope: no such directory$/);
  expectInputError(["run", "plan.json", "--root", join(dir.path, "nope")], dir.path, /(plan\.json: cannot read file|no such directory)/);
});

test("an output file that is an input of the command is refused before anything is done: run PLAN --results PLAN, merge-platforms PLAN R --results R", () => {
  using repo = repoWith();
  assert.is(runCli(["plan", "--all", "--repo", "r.example.org/x", "--out", "plan.json"], { cwd: repo.root }).code, 0);
  const plan = readFileSync(join(repo.root, "plan.json"), "utf8");
  expectInputError(["run", "plan.json", "--results", "plan.json"], repo.root, /^image-builder: error: --results plan\.json: is an input of this command; writing it would overwrite what was read from it$/);
  expectInputError(["run", "plan.json", "--results", join(repo.root, "plan.json")], repo.root, /^image-builder: error: --results \/\S+\/plan\.json: is \(as plan\.json\) an input of this command/);
  writeFileSync(join(repo.root, "r.json"), "{}");
  expectInputError(["merge-platforms", "plan.json", "r.json", "--results", "r.json"], repo.root, /^image-builder: error: --results r\.json: is an input of this command/);
  assert.is(readFileSync(join(repo.root, "plan.json"), "utf8"), plan, "the plan was changed");
});

test("an error line quoting a name with a line end or an escape sequence stays one line, the characters shown escaped", () => {
  using repo = repoWith();
  const r = runCli(["--dryrun", "--include", "science/x\n\u001b[2Kfake line \u202eevil"], { cwd: repo.root });
  assert.is(r.code, 2);
  assert.is(r.stderr.split("\n").length, 2, r.stderr);
  assert.match(r.stderr, /^image-builder: error: --include science\/x\\n\\x1b\[2Kfake line \\u202eevil: not a layer directory/);
});

test("--all or --include with --ref is refused, not an ignored revision", () => {
  using repo = repoWith();
  expectInputError(["--all", "--ref", "no-such-revision", "--dryrun", "--repo", "r.example.org/x"], repo.root, /^image-builder: error: --all plans every layer, whatever changed: not with --ref$/);
  expectInputError(["--include", "science/a", "--ref", "HEAD~9", "--dryrun", "--repo", "r.example.org/x"], repo.root, /^image-builder: error: --include plans the layers it names, whatever changed: not with --ref$/);
});

test("usage errors exit 2 in every command, with one line", () => {
  using repo = repoWith();
  for (const args of [["--bogus"], ["plan", "--bogus"], ["graph", "--format", "svg"], ["run"], ["merge-results"], ["run", "x.json", "--jobs", "0"], ["--build-arg", "NOEQUALS"],
    // a near miss, which commander answers with a suggestion on a line of its own
    ["--reconcil"], ["run", "x.json", "--onli", "sci/a"], ["contains", "sci/a", "--jsn"]]) {
    const r = runCli(args, { cwd: repo.root });
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^image-builder: error: /);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.is(runCli(["--reconcil"], { cwd: repo.root }).stderr, "image-builder: error: unknown option '--reconcil'; did you mean --reconcile? (see --help)\n");
});

test("inspect of a file path that does not exist says no such file; a directory is not a file", () => {
  using repo = repoWith();
  expectInputError(["inspect", "/tmp/ib-missing-image.tar"], repo.root, /^image-builder: error: \/tmp\/ib-missing-image\.tar: no such file$/);
  expectInputError(["inspect", "out/e25.tar"], repo.root, /^image-builder: error: out\/e25\.tar: no such file$/);
  expectInputError(["inspect", "./science"], repo.root, /^image-builder: error: \.\/science: not a file$/);
});

test("layers git does not track are not part of the plan without --untracked", () => {
  using repo = repoWith();
  repo.write(science("new", { image: "newimg", compat: "base" }, "FROM busybox:stable\n"));
  // First commit, default ref: everything tracked is planned, the untracked layer is not.
  const ids = planJson([], repo.root).plan.builds.map((b: { id: string }) => b.id);
  assert.equal(ids, ["sci/a", "rel/a:1.0"]);
  assert.equal(planJson(["--all"], repo.root).plan.builds.map((b: { id: string }) => b.id), ["sci/a", "rel/a:1.0"]);
  assert.equal(planJson(["--untracked"], repo.root).plan.builds.map((b: { id: string }) => b.id), ["sci/a", "sci/new", "rel/a:1.0", "rel/newimg:1.0"]);
});

test("-vv under --all says --all, not that every compat layer changed", () => {
  using repo = repoWith();
  const r = runCli(["-vv", "--dryrun", "--all"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "build sci/a: --all\n");
  assert.match(r.stderr, "build rel/a:1.0 (after sci/a): science layer sci/a rebuilt\n");
});

test("a no-op reads no layer files; graph still checks them all", () => {
  using repo = repoWith();
  repo.write({ "README.md": "docs" });
  repo.commit();
  // A layer file broken in the working tree but not changed in git's eyes? Impossible; so break
  // one in a commit and plan a range after it: the no-op does not need it.
  repo.write({ "science/a/sciserver-image.json": "{ broken" });
  repo.commit();
  repo.write({ "README.md": "more docs" });
  repo.commit();
  const noop = runCli(["-v", "--dryrun"], { cwd: repo.root });
  assert.is(noop.code, 0, noop.stderr);
  assert.is(noop.stderr, "registry location registry.example.org/images (from image-builder.json)\nnothing to build: no layer changed since HEAD^\n");
  const quiet = runCli(["--dryrun"], { cwd: repo.root });
  assert.is(quiet.stderr, "nothing to build: no layer changed since HEAD^\n");
  expectInputError(["graph"], repo.root, /science\/a\/sciserver-image\.json: invalid JSON/);
  expectInputError(["--dryrun", "--ref", "HEAD~2"], repo.root, /science\/a\/sciserver-image\.json: invalid JSON/);
});

test("--results that cannot be written is refused before anything is built", () => {
  using repo = repoWith();
  expectInputError(["--all", "--results", repo.root], repo.root, /^image-builder: error: --results .*: is a directory$/);
});

test("when the engine cannot be reached, --results records every request as cancelled with the reason", () => {
  using repo = repoWith();
  const results = join(repo.root, "..", `results-${Date.now()}.json`);
  const r = runCli(["--all", "--results", results], { cwd: repo.root, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  assert.is(r.code, 1, r.stderr);
  assert.ok(existsSync(results));
  const written = JSON.parse(readFileSync(results, "utf8"));
  assert.equal(written.results.map((x: { id: string; status: string }) => [x.id, x.status]), [["sci/a", "cancelled"], ["rel/a:1.0", "cancelled"]]);
  assert.match(written.results[0].reason, "unix:///nonexistent/docker.sock");
  rmSync(results);
});

/** `plan --all` of `repo`, changed by `edit`, written to DIR/plan.json; returns the file. */
function editedPlan(repo: TempRepo, dir: string, edit: (plan: any) => void): string {
  const plan = join(dir, "plan.json");
  assert.is(runCli(["plan", "--all", "--out", plan], { cwd: repo.root }).code, 0);
  const written = JSON.parse(readFileSync(plan, "utf8"));
  edit(written);
  writeFileSync(plan, JSON.stringify(written));
  return plan;
}

test("a malformed plan or results file is one line naming the file and the field, exit 2, nothing written", () => {
  using repo = repoWith();
  using dir = tempDir("ib-malformed-");
  const badPlan = editedPlan(repo, dir.path, (p) => delete p.builds[1].request.dockerfile);
  const results = join(dir.path, "results.json");
  // -vvv, which printed the request's fields (and crashed on a missing one), and --results, which is not written.
  expectInputError(["run", badPlan, "-vvv", "--root", repo.root, "--results", results], dir.path,
    /^image-builder: error: .*plan\.json: builds\[1\]\.request\.dockerfile: required$/);
  assert.not.ok(existsSync(results));
  const badResults = join(dir.path, "bad-results.json");
  writeFileSync(badResults, JSON.stringify({ repo: "r", commit: "c", buildNumber: 1, results: [{ id: "sci/a", status: "built", durationMs: 1, pushed: true, tags: [{ tag: "t" }] }] }));
  expectInputError(["merge-results", badResults], dir.path, /^image-builder: error: .*bad-results\.json: results\[0\]\.tags\[0\]\.pushed: required$/);
});

test("a plan or results field of the wrong format is exit 2 naming it, before the engine is asked: references, waves, ids, digests, times", () => {
  using repo = repoWith();
  using dir = tempDir("ib-formats-");
  const noEngine = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };
  const refused = (edit: (p: any) => void, pattern: RegExp) => {
    const plan = editedPlan(repo, dir.path, edit);
    const r = runCli(["run", plan, "-vvv", "--root", repo.root], { cwd: dir.path, env: noEngine });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), pattern);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  };
  // Which the build used to fail on (exit 1, "Request path contains unescaped characters").
  refused((p) => (p.builds[0].request.tags[0] = "UPPER/x:y z"), /^image-builder: error: .*plan\.json: builds\[0\]\.request\.tags\[0\]: invalid image reference "UPPER\/x:y z": "y z" is not a valid tag$/);
  refused((p) => (p.repo = "127.0.0.1:1/other"), /plan\.json: builds\[0\]\.request\.tags\[0\]: \S+ is not under the plan's repo 127\.0\.0\.1:1\/other$/);
  refused((p) => (p.waves = [["nope"]]), /plan\.json: waves\[0\]\[0\]: nope is not a build of the plan$/);
  // Tags are used by position (moving tag first, build tag last): an edited list would publish under the wrong names.
  refused((p) => p.builds[0].request.tags.push(`${p.repo}/sci/a:latest`), /plan\.json: builds\[0\]\.request\.tags: \[.*"\S+\/sci\/a:latest"\]: not this build's tags \["\S+\/sci\/a:1\.0","\S+\/sci\/a:1\.0-\d+-[0-9a-f]+"\] \(its moving tag, then its build tag\)$/);
  refused((p) => (p.builds[0].request.tags = [p.builds[0].request.tags[1]]), /plan\.json: builds\[0\]\.request\.tags: .*not this build's tags/);
  refused((p) => (p.builds[0].request.tags = p.builds[1].request.tags), /plan\.json: builds\[0\]\.request\.tags: \[\S+rel\/a:1\.0.*not this build's tags/);
  refused((p) => (p.builds[0].request.labels["org.sciserver.science.a.version"] = "1.0-999-abcdef0"), /plan\.json: builds\[0\]\.request\.labels\.org\.sciserver\.science\.a\.version: "1\.0-999-abcdef0": not 1\.0-\d+-\{the commit's short hash\}, this build's at the plan's commit$/);
  refused((p) => (p.builds[0].request.inputsDigest = "md5:abc"), /plan\.json: builds\[0\]\.request\.inputsDigest: expected a digest \(sha256: and 64 lowercase hex digits\), got "md5:abc"$/);
  refused((p) => (p.builds[0].id = "../../x"), /plan\.json: builds\[0\]\.id: expected a build id .*, got "\.\.\/\.\.\/x"$/);
  const results = join(dir.path, "results.json");
  writeFileSync(results, JSON.stringify({ repo: "r", commit: "c", buildNumber: 1, results: [{ id: "sci/a", status: "built", durationMs: 1, pushed: false, startedAt: "yesterday" }] }));
  expectInputError(["merge-results", results], dir.path, /^image-builder: error: .*results\.json: results\[0\]\.startedAt: expected an ISO 8601 date-time such as 2026-12-03T09:00:00Z, got "yesterday"$/);
});

test("run -vvv prints the docker build command of the request as run: with run --build-arg, and from a plan that stored a stale one", () => {
  using repo = repoWith();
  using dir = tempDir("ib-command-");
  // A plan written before the command line was derived: its stored one is not what runs.
  let old: any;
  const plan = editedPlan(repo, dir.path, (p) => {
    for (const b of p.builds) b.request.command = ["docker", "build", "--tag", "stale:1", "."];
    old = p;
  });
  // No engine: the plan is printed, then the run stops at the engine.
  const r = runCli(["run", plan, "-vvv", "--root", repo.root, "--build-arg", "GREETING=hi"], { cwd: dir.path, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  assert.is(r.code, 1, r.stderr);
  const command = r.stderr.split("\n").find((l) => l.startsWith("  command: docker build --file science/a/Dockerfile"));
  assert.ok(command, r.stderr);
  assert.match(command!, " --build-arg GREETING=hi ");
  assert.not.match(r.stderr, "stale:1");
  // The inputs label in the command is the one the build gets: recomputed for the other argument.
  const label = /--label org\.sciserver\.science\.a\.inputs=(sha256:\w+)/.exec(command!)![1];
  assert.is.not(label, old.builds[0].request.inputsDigest);
  assert.match(r.stderr, `  label: org.sciserver.science.a.inputs=${label}`);
  // Said once, before anything is built: the run departs from the plan.
  assert.match(r.stderr, /image-builder: note: --build-arg GREETING: 2 request\(s\) built with other build arguments than the plan's, so under other inputs digests/);
});

test("run PLAN --build-arg that changes what a Dockerfile names (FROM ${BASE}) is refused before anything is built: the plan's order, pins and inputs come from what it resolved", () => {
  using repo = repoWith({ ...science("argr", { image: "argr", compat: "base" }, "ARG BASE=busybox:stable\nFROM ${BASE}\nARG GREETING=hello\nRUN echo $GREETING\n") });
  using dir = tempDir("ib-run-args-");
  const plan = editedPlan(repo, dir.path, () => {});
  for (const base of ["sci/a:1.0", "registry.example.org/images/sci/a:1.0"]) {
    const r = runCli(["run", plan, "--root", repo.root, "--build-arg", `BASE=${base}`], { cwd: dir.path, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`^image-builder: error: \\S+plan\\.json: nothing is built: science/argr/Dockerfile: --build-arg BASE changes what line 2 names \\(busybox:stable -> ${base.replace(/[./]/g, "\\$&")}\\), which the plan resolved without it: make the plan with it \\(plan --build-arg …\\)$`));
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  // An argument no reference uses runs (here, up to the missing engine).
  const other = runCli(["run", plan, "--root", repo.root, "--build-arg", "GREETING=hi"], { cwd: dir.path, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  assert.is(other.code, 1, other.stderr);
  assert.match(other.stderr, /--build-arg GREETING: \d+ request\(s\) built with other build arguments/);
  // Made with it, the plan resolves it: a dependency, rewritten to the run's build.
  const made = runCli(["--dryrun", "-vv", "--all", "--build-arg", "BASE=sci/a:1.0"], { cwd: repo.root });
  assert.is(made.code, 0, made.stderr);
  assert.match(made.stderr, /build sci\/argr \(after sci\/a\)/);
});

test("names docker would refuse are refused when planning", () => {
  using repo = repoWith();
  repo.write(science("b", { image: "a-_b", compat: "base" }, "FROM busybox:stable\n"));
  repo.commit();
  expectInputError(["--dryrun", "--all"], repo.root, /science\/b\/sciserver-image\.json: invalid image "a-_b"/);
});

test("a shallow clone is refused when planning (build numbers count every commit); run accepts one", () => {
  using repo = repoWith();
  using dir = tempDir("ib-shallow-");
  repo.write({ "science/a/x": "1" }); repo.commit();
  repo.write({ "science/a/x": "2" }); repo.commit();
  const clone = join(dir.path, "clone");
  execFileSync("git", ["clone", "-q", "--depth", "1", `file://${repo.root}`, clone]);
  expectInputError(["-v", "--dryrun"], clone, /^image-builder: error: --root \.: shallow clone \(1 commit\(s\) of history\): .*git fetch --unshallow/);
  expectInputError(["plan"], clone, /shallow clone/);
  // The plan carries the numbers; an agent's shallow checkout of the plan's commit can run it.
  const plan = join(dir.path, "plan.json");
  assert.is(runCli(["plan", "--all", "--out", plan], { cwd: repo.root }).code, 0);
  const r = runCli(["run", plan, "--root", clone], { cwd: dir.path, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, "unix:///nonexistent/docker.sock");
  assert.not.match(r.stderr, /shallow/);
});

test("a directory without science/ or compat/ is an error, not an empty plan", () => {
  using repo = repoWith();
  repo.write({ "science/a/x": "changed" });
  expectInputError(["-v", "--dryrun", "--all"], join(repo.root, "science"), /^image-builder: error: --root \.: no science\/ or compat\/ directory here/);
  expectInputError(["graph", "--root", "science"], repo.root, /--root science: no science\/ or compat\/ directory here/);
});

test("an unreadable image-builder.json is one line naming it", () => {
  using repo = repoWith();
  repo.remove("image-builder.json");
  repo.write({ "image-builder.json/x": "a directory now" });
  expectInputError(["-v", "--dryrun", "--repo", "r.example.org/x"], repo.root, /^image-builder: error: image-builder\.json: cannot read file \(EISDIR\)$/);
});

test("contradictory flags are refused", () => {
  using repo = repoWith();
  expectInputError(["--dryrun", "--all", "--include", "science/a"], repo.root, /^image-builder: error: --all and --include contradict each other/);
  expectInputError(["--dryrun", "--include", "science/a", "--ignore", "./science/a/"], repo.root, /^image-builder: error: science\/a is named by both --include and --ignore$/);
  const r = runCli(["-v", "--dryrun", "--push", "--all"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^image-builder: warning: --push does nothing with --dryrun/);
  const results = join(repo.root, "..", `unused-${Date.now()}.json`);
  const more = runCli(["--dryrun", "--all", "-j", "3", "--results", results], { cwd: repo.root });
  assert.is(more.stderr, "image-builder: warning: --jobs, --results do nothing with --dryrun: nothing is built or pushed\n");
  assert.not.ok(existsSync(results));
});

test("--include of a layer git does not track says to add it or pass --untracked", () => {
  using repo = repoWith();
  repo.write(science("new", { image: "newimg", compat: "base" }, "FROM busybox:stable\n"));
  expectInputError(["--dryrun", "--include", "science/new"], repo.root, /^image-builder: error: --include science\/new: git does not track its sciserver-image\.json yet; git add it, or pass --untracked$/);
  assert.equal(planJson(["--include", "science/new", "--untracked"], repo.root).plan.builds.map((b: { id: string }) => b.id), ["sci/new", "rel/newimg:1.0"]);
});

test("outputs that cannot be written are bad input (exit 2), named by their flag", () => {
  using repo = repoWith();
  expectInputError(["plan", "--all", "--out", repo.root], repo.root, /^image-builder: error: --out .*: is a directory$/);
  expectInputError(["plan", "--all", "--out", "image-builder.json/plan.json"], repo.root, /^image-builder: error: --out image-builder\.json\/plan\.json: a parent is not a directory$/);
  // Node's recursive mkdir never returns here; one level at a time fails at once
  expectInputError(["plan", "--all", "--out", "/proc/ib-nowhere/plan.json"], repo.root, /^image-builder: error: --out \/proc\/ib-nowhere\/plan\.json: cannot create \/proc\/ib-nowhere \(ENOENT\)$/);
  // Refused before the engine is even contacted (it cannot be reached here: exit 1 otherwise).
  const noEngine = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };
  for (const [args, pattern] of [
    [["--all", "--log-dir", "/proc/ib-nowhere/logs"], /^image-builder: error: --log-dir \/proc\/ib-nowhere\/logs: cannot create \/proc\/ib-nowhere \(ENOENT\)$/],
    [["--all", "--results", "/proc/ib-nowhere.json"], /^image-builder: error: --results \/proc\/ib-nowhere\.json: cannot create it \(ENOENT\)$/],
    [["--all", "--log-dir", "-"], /^image-builder: error: --log-dir -: /],
    [["--all", "--json", "--results", "-"], /^image-builder: error: --json and --results - both write to stdout/],
    [["plan", "--all", "--out", "-", "--waves"], /^image-builder: error: --out - and --waves both write to stdout/],
    // stdout by its paths, as a shell spells it
    [["--all", "--json", "--results", "/dev/stdout"], /^image-builder: error: --json and --results \/dev\/stdout both write to stdout/],
    [["plan", "--all", "--out", "/dev/fd/1", "--waves"], /^image-builder: error: --out \/dev\/fd\/1 and --waves both write to stdout/],
  ] as const) {
    const r = runCli([...args], { cwd: repo.root, env: noEngine });
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim(), pattern);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.is(r.stdout, "");
  }
  assert.equal(readdirSync(repo.root).sort(), [".git", "compat", "image-builder.json", "science"]);
  expectInputError(["--all", "--log-dir", "image-builder.json/logs"], repo.root, /^image-builder: error: --log-dir image-builder\.json\/logs: a parent is not a directory$/);
});

test("- as an output file is stdout", () => {
  using repo = repoWith();
  const plan = runCli(["plan", "--all", "--out", "-"], { cwd: repo.root });
  assert.is(plan.code, 0, plan.stderr);
  assert.equal(JSON.parse(plan.stdout).builds.map((b: { id: string }) => b.id), ["sci/a", "rel/a:1.0"]);
  const results = runCli(["--all", "--results", "-"], { cwd: repo.root, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  assert.is(results.code, 1, results.stderr);
  const written = JSON.parse(results.stdout);
  assert.equal(written.results.map((x: { id: string; status: string }) => [x.id, x.status]), [["sci/a", "cancelled"], ["rel/a:1.0", "cancelled"]]);
  repo.write({ "results.json": results.stdout });
  const merged = runCli(["merge-results", "results.json", "--out", "-"], { cwd: repo.root });
  assert.is(merged.code, 0, merged.stderr);
  assert.equal(JSON.parse(merged.stdout).results.length, 2);
  assert.not.ok(existsSync(join(repo.root, "-")));
});

test("a version is quoted as written in errors", () => {
  using repo = repoWith();
  repo.write({ "science/a/sciserver-image.json": '{"image": "a", "compat": "base", "version": 2.10e0}' });
  expectInputError(["--dryrun", "--all"], repo.root, /science\/a\/sciserver-image\.json: invalid version 2\.10e0: use dotted digits/);
});

test("help and version", () => {
  const help = runCli(["help", "plan"]);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: image-builder plan/);
  const version = runCli(["--version"]);
  assert.is(version.code, 0);
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
  assert.is(version.stdout.trim(), pkg.version);
});

test("platforms: a layer widening its parent's, a bad platform, and --platform a plan lacks are one line, exit 2", () => {
  using repo = repoWith({
    ...science("a", { image: "a", compat: "base", platforms: ["linux/amd64"] }, "FROM busybox:stable\n"),
    ...science("b", { image: "b", compat: "base", platforms: ["linux/amd64", "linux/arm64"] }, "FROM sci/a:1.0\n"),
  });
  expectInputError(["--dryrun", "--all"], repo.root,
    /^image-builder: error: science\/b\/sciserver-image\.json: platform linux\/arm64 is not among the platforms of sci\/a it builds on \(science\/a\/sciserver-image\.json: linux\/amd64\)/);
  expectInputError(["plan", "--all", "--platform", "linux/amd64,arm64"], repo.root, /^image-builder: error: --platform: invalid platform "arm64": use os\/arch/);
  repo.write(science("b", { image: "b", compat: "base", platforms: ["linux/x86"] }, "FROM sci/a:1.0\n"));
  expectInputError(["--dryrun", "--all"], repo.root, /^image-builder: error: science\/b\/sciserver-image\.json: platform linux\/x86 is not among/);
  repo.write(science("b", { image: "b", compat: "base", platforms: "linux/amd64" }, "FROM sci/a:1.0\n"));
  expectInputError(["--dryrun", "--all"], repo.root, /^image-builder: error: science\/b\/sciserver-image\.json: "platforms" must be a non-empty list/);
  repo.write(science("b", { image: "b", compat: "base" }, "FROM sci/a:1.0\n"));
  repo.commit("b inherits");
  const planned = runCli(["plan", "--all", "--out", "plan.json"], { cwd: repo.root });
  assert.is(planned.code, 0, planned.stderr);
  expectInputError(["run", "plan.json", "--platform", "linux/arm64"], repo.root,
    /^image-builder: error: plan\.json: --platform linux\/arm64: the plan builds nothing for it; its platforms are linux\/amd64$/);
});

test.run();
