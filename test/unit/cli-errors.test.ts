// Bad input and edge cases through the real CLI: one line naming the file, exit 2, nothing built.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compat, makeRepo, science, type TempRepo } from "../helpers/repo.js";
import { planJson, runCli } from "../helpers/cli.js";

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
  const repo = repoWith();
  try {
    repo.write({ "science/a/Dockerfile": "FROM busybox:stable AS a b\n" });
    expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 1: FROM requires/);
    repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN <<EOF\necho never closed\n" });
    expectInputError(["--dryrun"], repo.root, /^image-builder: error: science\/a\/Dockerfile: line 2: .*heredoc/i);
    repo.write({ "science/a/Dockerfile": "ARG X=abc\nFROM ${X/[z-a]/q}\n" });
    const odd = runCli(["--dryrun", "--json"], { cwd: repo.root });
    assert.is(odd.code, 0, odd.stderr);
  } finally { repo.cleanup(); }
});

test("compat fragments must not end in a continuation or carry parser directives", () => {
  const repo = repoWith();
  try {
    repo.write({ "compat/base/Dockerfile": "RUN echo hi \\\n" });
    expectInputError(["--dryrun"], repo.root, /^image-builder: error: compat\/base\/Dockerfile: compat Dockerfiles must not end in a line continuation$/);
    repo.write({ "compat/base/Dockerfile": "# escape=`\nRUN echo hi\n" });
    expectInputError(["--dryrun"], repo.root, /^image-builder: error: compat\/base\/Dockerfile: line 1: parser directive "escape"/);
  } finally { repo.cleanup(); }
});

test("a repository with no commits, and a --root that does not exist", () => {
  const dir = mkdtempSync(join(tmpdir(), "ib-empty-"));
  try {
    const r = makeRepo({}, false);
    expectInputError(["--dryrun", "--repo", "r.example.org/x"], r.root, /^image-builder: error: --root \.: the git repository has no commits yet$/);
    r.cleanup();
    expectInputError(["--dryrun", "--root", join(dir, "nope")], dir, /--root .*nope: no such directory$/);
    expectInputError(["run", "plan.json", "--root", join(dir, "nope")], dir, /(plan\.json: cannot read file|no such directory)/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("usage errors exit 2 in every command, with one line", () => {
  const repo = repoWith();
  try {
    for (const args of [["--bogus"], ["plan", "--bogus"], ["graph", "--format", "svg"], ["run"], ["merge-results"], ["run", "x.json", "--jobs", "0"], ["--build-arg", "NOEQUALS"]]) {
      const r = runCli(args, { cwd: repo.root });
      assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^image-builder: error: /);
      assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  } finally { repo.cleanup(); }
});

test("layers git does not track are not part of the plan without --untracked", () => {
  const repo = repoWith();
  try {
    repo.write(science("new", { image: "newimg", compat: "base" }, "FROM busybox:stable\n"));
    // First commit, default ref: everything tracked is planned, the untracked layer is not.
    const ids = planJson([], repo.root).plan.builds.map((b: { id: string }) => b.id);
    assert.equal(ids, ["sci/a", "rel/a:1.0"]);
    assert.equal(planJson(["--all"], repo.root).plan.builds.map((b: { id: string }) => b.id), ["sci/a", "rel/a:1.0"]);
    assert.equal(planJson(["--untracked"], repo.root).plan.builds.map((b: { id: string }) => b.id), ["sci/a", "sci/new", "rel/a:1.0", "rel/newimg:1.0"]);
  } finally { repo.cleanup(); }
});

test("-vv under --all says --all, not that every compat layer changed", () => {
  const repo = repoWith();
  try {
    const r = runCli(["-vv", "--dryrun", "--all"], { cwd: repo.root });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, "build sci/a: --all\n");
    assert.match(r.stderr, "build rel/a:1.0 (after sci/a): science layer sci/a rebuilt\n");
  } finally { repo.cleanup(); }
});

test("a no-op reads no layer files; graph still checks them all", () => {
  const repo = repoWith();
  try {
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
    assert.is(noop.stderr, "final plan includes 0 science builds and 0 compat builds\n");
    expectInputError(["graph"], repo.root, /science\/a\/sciserver-image\.json: invalid JSON/);
    expectInputError(["--dryrun", "--ref", "HEAD~2"], repo.root, /science\/a\/sciserver-image\.json: invalid JSON/);
  } finally { repo.cleanup(); }
});

test("--results that cannot be written is refused before anything is built", () => {
  const repo = repoWith();
  try {
    expectInputError(["--all", "--results", repo.root], repo.root, /^image-builder: error: --results .*: is a directory$/);
  } finally { repo.cleanup(); }
});

test("when the engine cannot be reached, --results records every request as cancelled with the reason", () => {
  const repo = repoWith();
  try {
    const results = join(repo.root, "..", `results-${Date.now()}.json`);
    const r = runCli(["--all", "--results", results], { cwd: repo.root, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    assert.is(r.code, 1, r.stderr);
    assert.ok(existsSync(results));
    const written = JSON.parse(readFileSync(results, "utf8"));
    assert.equal(written.results.map((x: { id: string; status: string }) => [x.id, x.status]), [["sci/a", "cancelled"], ["rel/a:1.0", "cancelled"]]);
    assert.match(written.results[0].reason, "unix:///nonexistent/docker.sock");
    rmSync(results);
  } finally { repo.cleanup(); }
});

test("names docker would refuse are refused when planning", () => {
  const repo = repoWith();
  try {
    repo.write(science("b", { image: "a-_b", compat: "base" }, "FROM busybox:stable\n"));
    repo.commit();
    expectInputError(["--dryrun", "--all"], repo.root, /science\/b\/sciserver-image\.json: invalid image "a-_b"/);
  } finally { repo.cleanup(); }
});

test.run();
