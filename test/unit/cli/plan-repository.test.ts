// What git says changed, turned into a plan in-process (planRepository) on real repositories: submodules,
// a commit's own changes (`B^!`) on merges and root commits, and the notes a plan comes with.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compat, makeRepo, science, type TempRepo } from "../../helpers/repo.js";
import { InputError } from "../../../src/core/model.js";
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { tempDir } from "../../helpers/temp.js";
import { planRepository, type PlanFlags } from "../../../src/cli/plan-repository.js";

const CONFIG = { "image-builder.json": '{"repo": "registry.example.org/images"}' };

function flags(root: string, more: Partial<PlanFlags> = {}): PlanFlags {
  return { root, include: [], ignore: [], untracked: false, all: false, buildArgs: {}, buildTime: 1, ...more };
}

/** The InputError message a plan is refused with. */
async function refusal(root: string, more: Partial<PlanFlags>): Promise<string> {
  try {
    await planRepository(flags(root, more), { skipUnchanged: true });
  } catch (e) {
    assert.instance(e, InputError);
    return (e as Error).message;
  }
  return assert.unreachable(`expected ${JSON.stringify(more)} to be refused`) as never;
}

async function planIds(root: string, more: Partial<PlanFlags> = {}): Promise<string[]> {
  return (await planRepository(flags(root, more), { skipUnchanged: true })).plan.builds.map((b) => b.id);
}

function twoLayers(): TempRepo {
  return makeRepo({
    ...CONFIG,
    ...science("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"),
    ...science("b", { image: "b", compat: "base" }, "FROM busybox:stable\n"),
    ...compat("base", [], "ENV X=1\n"),
  });
}

/** b changes on a branch `side`, a on main after it forked. */
function divergeOnSideBranch(repo: TempRepo): void {
  repo.git("checkout", "-q", "-b", "side");
  repo.write({ "science/b/x": "1" });
  repo.commit("b on a side branch");
  repo.git("checkout", "-q", "main");
  repo.write({ "science/a/x": "1" });
  repo.commit("a on main");
}

test("a layer directory that is a git submodule counts as changed when the submodule moves", async () => {
  using lib = makeRepo(science("x", { image: "sub", compat: "base" }, "FROM busybox:stable\n"));
  using repo = makeRepo({ ...CONFIG, ...compat("base", [], "ENV X=1\n"), "README": "r" });
  // The layer's files are the top of the submodule's repository.
  lib.git("mv", "science/x/sciserver-image.json", "science/x/Dockerfile", ".");
  lib.commit("flatten");
  repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", lib.root, "science/sub");
  repo.commit("add the submodule");
  assert.equal(await planIds(repo.root), ["sci/sub", "rel/sub:1.0"], "added in the last commit");
  repo.write({ README: "r2" });
  repo.commit("unrelated");
  assert.equal(await planIds(repo.root), []);
  lib.write({ Dockerfile: "FROM busybox:stable\nRUN true\n" });
  lib.commit("change the layer");
  repo.git("-C", "science/sub", "-c", "protocol.file.allow=always", "pull", "-q");
  // Uncommitted in the superproject: the working tree differs from HEAD^.
  assert.equal(await planIds(repo.root), ["sci/sub", "rel/sub:1.0"]);
  repo.commit("move the submodule");
  assert.equal(await planIds(repo.root, { ref: "HEAD^..HEAD" }), ["sci/sub", "rel/sub:1.0"]);
  assert.equal(await planIds(repo.root, { ref: "HEAD^!" }), ["sci/sub", "rel/sub:1.0"]);
  assert.equal(await planIds(repo.root, { ref: "HEAD~2..HEAD~1" }), []);
});

test("B^! is a commit's own changes: a merge's against its first parent, the root commit's everything", async () => {
  using repo = twoLayers();
  divergeOnSideBranch(repo);
  repo.git("merge", "-q", "--no-ff", "--no-edit", "side");
  // The merge brought b to main; a was main's own.
  assert.equal(await planIds(repo.root, { ref: "HEAD^!" }), ["sci/b", "rel/b:1.0"]);
  assert.equal(await planIds(repo.root, { ref: "HEAD^-" }), ["sci/b", "rel/b:1.0"]);
  assert.equal(await planIds(repo.root, { ref: "HEAD^-1" }), ["sci/b", "rel/b:1.0"]);
  assert.equal(await planIds(repo.root, { ref: "HEAD^-2" }), ["sci/a", "rel/a:1.0"]);
  const root = repo.git("rev-list", "--max-parents=0", "HEAD");
  // Uncommitted edits are not part of any commit's changes.
  repo.write({ "compat/base/Dockerfile": "ENV X=2\n" });
  for (const ref of [`${root}^!`, `${root}^-`]) {
    assert.equal(await planIds(repo.root, { ref }), ["sci/a", "sci/b", "rel/a:1.0", "rel/b:1.0"], ref);
  }
  assert.is(await refusal(repo.root, { ref: `${root}^-2` }), `--ref ${root}^-2: ${root} has no parent 2`);
  assert.is(await refusal(repo.root, { ref: "nosuch^!" }), "--ref nosuch^!: git does not know this revision");
});

test("forms of --ref that git takes for several revisions are refused; A..B with A off B's history is pointed out", async () => {
  using repo = twoLayers();
  for (const ref of ["HEAD^@", "^HEAD"]) {
    assert.match(await refusal(repo.root, { ref }), `--ref ${ref}: `);
  }
  divergeOnSideBranch(repo);
  // side..main compares the two trees: b differs too, though no commit of the range touched it.
  const twoDots = await planRepository(flags(repo.root, { ref: "side..main" }), { skipUnchanged: true });
  assert.equal(twoDots.plan.builds.map((b) => b.id), ["sci/a", "sci/b", "rel/a:1.0", "rel/b:1.0"]);
  assert.equal(twoDots.warnings, ["--ref side..main: side has 1 commit(s) that main does not, and their changes count too (side..main compares the two commits' files); side...main counts only main's changes since they diverged"]);
  const threeDots = await planRepository(flags(repo.root, { ref: "side...main" }), { skipUnchanged: true });
  assert.equal(threeDots.plan.builds.map((b) => b.id), ["sci/a", "rel/a:1.0"]);
  assert.equal(threeDots.warnings, []);
  assert.equal((await planRepository(flags(repo.root, { ref: "HEAD~1..HEAD" }), { skipUnchanged: true })).warnings, []);
});

test("layer directories git does not track are left out with a hint, whether or not anything changed", async () => {
  using repo = twoLayers();
  repo.write({ README: "r" });
  repo.commit("unrelated");
  repo.write({ ...science("new", { image: "new", compat: "base" }, "FROM busybox:stable\n"), ...compat("extra", [], "ENV Y=1\n") });
  const hint = "git does not track compat/extra, science/new (their sciserver-image.json), so they are left out of the plan: git add them, or pass --untracked";
  const nothing = await planRepository(flags(repo.root), { skipUnchanged: true });
  assert.equal(nothing.plan.builds, []);
  assert.equal(nothing.warnings, [hint]);
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN true\n" });
  assert.ok((await planRepository(flags(repo.root), { skipUnchanged: true })).warnings.includes(hint));
  assert.not.ok((await planRepository(flags(repo.root, { untracked: true }), { skipUnchanged: true })).warnings.includes(hint));
  repo.remove("compat/extra");
  assert.ok((await planRepository(flags(repo.root), { skipUnchanged: true })).warnings.includes(
    "git does not track science/new (its sciserver-image.json), so it is left out of the plan: git add it, or pass --untracked"));
});

test("uncommitted changes in what a plan builds are pointed out under any --ref: the image is tagged as HEAD", async () => {
  using repo = twoLayers();
  repo.write({ README: "r" });
  const head = `2-${repo.commit("unrelated")}`;
  assert.equal((await planRepository(flags(repo.root), { skipUnchanged: true })).warnings, []);
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN true\n", "science/a/untracked.txt": "x" });
  const edited = await planRepository(flags(repo.root), { skipUnchanged: true });
  assert.equal(edited.plan.builds.map((b) => b.id), ["sci/a", "rel/a:1.0"]);
  assert.equal(edited.warnings, [`uncommitted changes are built as they are in the checkout, but tagged ${head} as if committed: science/a`]);
  // --include b: b's compat build takes compat/base, edited; a is not built.
  repo.git("checkout", "-q", "--", "science/a");
  repo.remove("science/a/untracked.txt");
  repo.write({ "compat/base/Dockerfile": "ENV X=2\n" });
  const included = await planRepository(flags(repo.root, { include: ["science/b"] }), { skipUnchanged: true });
  assert.equal(included.warnings, [`uncommitted changes are built as they are in the checkout, but tagged ${head} as if committed: compat/base`]);
  // A range does not count them at all.
  const range = await planRepository(flags(repo.root, { ref: "HEAD~1..HEAD" }), { skipUnchanged: true });
  assert.equal(range.plan.builds, []);
  assert.equal(range.warnings, ["--ref HEAD~1..HEAD does not count uncommitted changes, but the checkout is what gets built: compat/base"]);
});

test("an uncommitted change the layer's .dockerignore leaves out of its context is not said to be built; its Dockerfile and .dockerignore always are", async () => {
  using repo = twoLayers();
  repo.write({ "science/a/.dockerignore": "notes.md\ndrafts\n", "science/a/notes.md": "n", "science/a/drafts/x.txt": "x" });
  const head = `2-${repo.commit("ignore notes")}`;
  repo.write({ "science/a/notes.md": "changed", "science/a/drafts/x.txt": "changed", "science/a/drafts/new.txt": "new" });
  const ignored = await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true });
  assert.equal(ignored.warnings, []);
  repo.write({ "science/a/.dockerignore": "notes.md\n" });
  const rules = await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true });
  assert.equal(rules.warnings, [`uncommitted changes are built as they are in the checkout, but tagged ${head} as if committed: science/a`]);
});

test("files git ignores in what a plan builds (a local .env) are pointed out, naming them: sent to the build, in no commit; those the .dockerignore leaves out are not", async () => {
  using repo = twoLayers();
  repo.write({ ".gitignore": ".env\n*.log\n", "science/a/.dockerignore": "*.log\n" });
  const head = `2-${repo.commit("ignore .env and logs")}`;
  repo.write({ "science/a/.env": "API_TOKEN=x", "science/a/build.log": "l", "science/b/.env": "x" });
  const planned = await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true });
  assert.equal(planned.plan.builds.map((b) => b.id), ["sci/a", "rel/a:1.0"]);
  assert.equal(planned.warnings, [`files git ignores are built into the images, though no commit has them, and tagged ${head}: science/a/.env (leave them out with the layer's .dockerignore, or remove them)`]);
  assert.equal(planned.uncommitted, [], "not uncommitted changes: committing them is no remedy");
  // an ignored directory as itself, not each of its files
  repo.write({ ".gitignore": ".env\n*.log\n.venv/\n", "science/a/.venv/lib/a.py": "a", "science/a/.venv/lib/b.py": "b" });
  repo.commit("ignore .venv");
  const venv = await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true });
  assert.match(venv.warnings.join("\n"), /: science\/a\/\.env, science\/a\/\.venv\/ \(leave them out/);
  assert.is(venv.warnings.length, 1, "an ignored directory's files are not also files git status does not show");
  repo.remove("science/a/.venv");
  // not planned: not said
  repo.remove("science/a/.env");
  assert.equal((await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true })).warnings, []);
});

test("what a planned context holds other than its commit where git status says nothing is said, naming each file and why: another checkout of the commit would make other images under its build tag", async () => {
  using repo = twoLayers();
  repo.write({ "science/a/data.txt": "committed\n", "science/a/run.sh": "#!/bin/sh\n", "science/a/docs/x.md": "x\n", "science/a/vendor/lib.txt": "v1\n" });
  // A repository inside the layer, committed as what git makes of one (a gitlink): its .git/ is its own state.
  repo.git("-C", "science/a/vendor", "init", "-q");
  repo.git("-C", "science/a/vendor", "add", "lib.txt");
  repo.git("-C", "science/a/vendor", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v");
  // Put in the index as git's add would, without git's warning about it amid the tests' output.
  repo.git("update-index", "--add", "--cacheinfo", `160000,${repo.git("-C", "science/a/vendor", "rev-parse", "HEAD").trim()},science/a/vendor`);
  const head = `2-${repo.commit("data, a script, docs, a vendored repository")}`;
  const warnings = async () => (await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true })).warnings;
  const said = (list: string) => `the checkout differs from its commit where git status does not show it, and is built as it is, tagged ${head}, which another checkout of the commit does not make: ${list}`;
  assert.equal(await warnings(), [said("science/a/vendor/.git (a git repository's own files, which change without a commit: leave them out with .dockerignore)")]);
  repo.write({ "science/a/.dockerignore": "vendor/.git\n" });
  const head3 = `3-${repo.commit("leave out the vendored .git")}`;
  const said3 = (list: string) => said(list).replace(`tagged ${head}`, `tagged ${head3}`);
  assert.equal(await warnings(), []);
  repo.git("update-index", "--assume-unchanged", "science/a/data.txt");
  repo.write({ "science/a/data.txt": "a local edit\n" });
  repo.git("config", "core.fileMode", "false");
  chmodSync(join(repo.root, "science/a/run.sh"), 0o755);
  mkdirSync(join(repo.root, "science/a/empty/deeper"), { recursive: true });
  repo.git("sparse-checkout", "set", "--no-cone", "/*", "!/science/a/docs/");
  assert.not.ok(existsSync(join(repo.root, "science/a/docs/x.md")));
  assert.is(repo.git("status", "--porcelain"), "", "git status says nothing");
  const planned = await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true });
  assert.equal(planned.warnings, [said3([
    "science/a/data.txt (marked assume-unchanged: git status does not compare it with the commit, so it may differ)",
    "science/a/docs/x.md (left out of this checkout by a sparse checkout or skip-worktree, so not built)",
    "science/a/empty (a directory holding nothing of the commit (empty, or only what .dockerignore leaves out): git keeps no directories, so other checkouts lack it)",
    "science/a/run.sh (mode 0755 here, 0644 in the commit: core.fileMode=false hides it)",
  ].join("; "))]);
  // Counted with the uncommitted layers: a refused build tag advises a clean checkout, not --overwrite.
  assert.equal(planned.uncommitted, ["science/a"]);
  // Layers not planned: not said.
  assert.equal((await planRepository(flags(repo.root, { include: ["science/b"] }), { skipUnchanged: true })).warnings, []);
});

test("a sparse checkout leaving out what .dockerignore leaves out anyway (an exception beside it) is no difference; a Dockerfile the .dockerignore leaves out, marked assume-unchanged and edited, is one", async () => {
  using repo = twoLayers();
  repo.write({ "science/a/.dockerignore": "docs\n!docs/keep.md\nDockerfile\n", "science/a/docs/keep.md": "k\n", "science/a/docs/x.md": "x\n" });
  const head = `2-${repo.commit("docs, partly sent")}`;
  repo.git("sparse-checkout", "set", "--no-cone", "/*", "!/science/a/docs/x.md");
  assert.not.ok(existsSync(join(repo.root, "science/a/docs/x.md")));
  const warnings = async () => (await planRepository(flags(repo.root, { include: ["science/a"] }), { skipUnchanged: true })).warnings;
  assert.equal(await warnings(), []);
  repo.git("update-index", "--assume-unchanged", "science/a/Dockerfile");
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN echo not the commit's\n" });
  assert.equal(await warnings(), [`the checkout differs from its commit where git status does not show it, and is built as it is, tagged ${head}, which another checkout of the commit does not make: science/a/Dockerfile (marked assume-unchanged: git status does not compare it with the commit, so it may differ)`]);
});

test("line ends core.autocrlf converts on checkout are said; a clone under another umask has the same inputs as any other", async () => {
  using repo = twoLayers();
  repo.write({ "science/a/data.txt": "line\n" });
  repo.commit("data");
  using dir = tempDir("ib-clones-");
  const clone = (name: string, umask: string, ...config: string[]) => {
    const path = join(dir.path, name);
    const r = spawnSync("sh", ["-c", `umask ${umask} && git clone -q ${config.map((c) => `-c ${c}`).join(" ")} "$0" "$1"`, repo.root, path], { encoding: "utf8" });
    assert.is(r.status, 0, r.stderr);
    return path;
  };
  const digests = async (root: string) => (await planRepository(flags(root, { all: true }), { skipUnchanged: true })).plan.builds.map((b) => b.request.inputsDigest);
  const plain = clone("plain", "022");
  const shared = clone("shared", "002");
  assert.is(statSync(join(shared, "science/a/data.txt")).mode & 0o777, 0o664);
  assert.equal(await digests(shared), await digests(plain));
  const crlf = clone("crlf", "022", "core.autocrlf=true");
  const planned = await planRepository(flags(crlf, { include: ["science/a"] }), { skipUnchanged: true });
  assert.match(planned.warnings.join("\n"), /: compat\/base\/Dockerfile, science\/a\/Dockerfile, science\/a\/data\.txt, science\/a\/sciserver-image\.json \(line ends converted on checkout by core\.autocrlf or core\.eol, which other checkouts do not do: lf in the commit, crlf here\)$/);
});

test("the final layer of an image version removed, or moved to another version: the layer now final gets the version's compat build (it kept serving the layer that left)", async () => {
  using repo = makeRepo({
    ...CONFIG,
    ...science("tools", { image: "tools", version: "2.0", compat: "base" }, "FROM busybox:stable\n"),
    ...science("tools-extra", { image: "tools", version: "2.0", compat: "base" }, "FROM sci/tools:2.0\nRUN touch /extra\n"),
    ...compat("base", [], "ENV X=1\n"),
  });
  repo.write({ README: "r" });
  repo.commit("unrelated");
  // whatever the user's diff settings (the old side is read from a diff)
  repo.git("config", "diff.noprefix", "true");
  repo.git("config", "diff.mnemonicPrefix", "true");
  // moved to 2.1: built as tools:2.1, and tools:2.0 made again from sci/tools
  repo.write(science("tools-extra", { image: "tools", version: "2.1", compat: "base" }, "FROM sci/tools:2.0\nRUN touch /extra\n"));
  const moved = await planRepository(flags(repo.root), { skipUnchanged: true });
  assert.equal(moved.plan.builds.map((b) => b.id), ["sci/tools-extra", "rel/tools:2.0", "rel/tools:2.1"]);
  assert.equal(moved.plan.builds.find((b) => b.id === "rel/tools:2.0")!.reasons, ["science layer tools-extra left tools:2.0 (now tools:2.1)"]);
  assert.match(moved.plan.builds.find((b) => b.id === "rel/tools:2.0")!.request.dockerfile, /^FROM registry\.example\.org\/images\/sci\/tools:2\.0/m);
  // removed (committed, and planned from its commit's own changes too)
  repo.git("checkout", "-q", "--", ".");
  repo.remove("science/tools-extra");
  repo.commit("drop tools-extra");
  for (const ref of [undefined, "HEAD^!", "HEAD~1..HEAD"]) {
    const removed = await planRepository(flags(repo.root, ref ? { ref } : {}), { skipUnchanged: true });
    assert.equal(removed.plan.builds.map((b) => [b.id, b.reasons]), [["rel/tools:2.0", ["science layer tools-extra left tools:2.0 (removed)"]]], ref);
  }
  // a layer added to the version is no layer leaving it
  repo.write(science("tools-more", { image: "tools", version: "2.0", compat: "base" }, "FROM sci/tools:2.0\n"));
  repo.commit("add tools-more");
  assert.equal(await planIds(repo.root), ["sci/tools-more", "rel/tools:2.0"]);
  assert.equal((await planRepository(flags(repo.root), { skipUnchanged: true })).changes.left, undefined);
});

test("a commit changing only files the layer's .dockerignore leaves out changes no image: nothing planned (it republished the family); its sciserver-image.json always counts", async () => {
  using repo = twoLayers();
  repo.write({ "science/a/.dockerignore": "README.md\nsciserver-image.json\n", "science/a/README.md": "one" });
  repo.commit("readme");
  repo.write({ "science/a/README.md": "two" });
  repo.commit("readme edited");
  assert.equal(await planIds(repo.root), []);
  assert.equal(await planIds(repo.root, { ref: "HEAD~1..HEAD" }), []);
  repo.write(science("a", { image: "a", version: "1.1", compat: "base" }, "FROM busybox:stable\n"));
  repo.commit("version");
  assert.equal(await planIds(repo.root), ["sci/a", "rel/a:1.1"]);
});

test("a layer committed where discovery does not look (nested, or its config misnamed) is pointed out, not silently nothing; a removed layer is not", async () => {
  using repo = twoLayers();
  repo.write({ ...science("group/x", { image: "x", compat: "base" }, "FROM busybox:stable\n"), "science/y/sciserver-image.JSON": "{}", "science/y/Dockerfile": "FROM busybox:stable\n" });
  repo.commit("misplaced");
  const r = await planRepository(flags(repo.root), { skipUnchanged: true });
  assert.equal(r.plan.builds, []);
  assert.equal(r.warnings, ["science/group, science/y changed, but are no layer directories (no sciserver-image.json directly in them): a layer is science/NAME or compat/NAME with its sciserver-image.json; nested directories are not read"]);
  repo.remove("science/b");
  repo.remove("science/group");
  repo.remove("science/y");
  repo.commit("removed");
  // (a removed layer's directory that stays for files git ignores in it is no stray either)
  repo.write({ ".gitignore": "__pycache__/\n", "science/b/__pycache__/x.pyc": "x" });
  assert.equal((await planRepository(flags(repo.root), { skipUnchanged: true })).warnings, []);
});

test("an image repository inside a larger git repository: uncommitted paths are its own", async () => {
  using repo = makeRepo({
    "images/image-builder.json": CONFIG["image-builder.json"],
    ...Object.fromEntries(Object.entries({ ...science("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"), ...compat("base", [], "ENV X=1\n") }).map(([p, c]) => [`images/${p}`, c])),
  });
  repo.write({ README: "r" });
  const head = `2-${repo.commit("unrelated")}`;
  repo.write({ "images/science/a/Dockerfile": "FROM busybox:stable\nRUN true\n", "science/a/Dockerfile": "not the image repository's" });
  const { plan, warnings } = await planRepository(flags(`${repo.root}/images`), { skipUnchanged: true });
  assert.equal(plan.builds.map((b) => b.id), ["sci/a", "rel/a:1.0"]);
  assert.equal(warnings, [`uncommitted changes are built as they are in the checkout, but tagged ${head} as if committed: science/a`]);
});

test("a repository with a single commit plans everything as new, not as changed since HEAD^", async () => {
  using repo = twoLayers();
  const { plan, changes } = await planRepository(flags(repo.root), { skipUnchanged: true });
  assert.is(changes.why, "new in the repository's first commit");
  assert.equal(plan.builds.find((b) => b.id === "sci/a")!.reasons, ["new in the repository's first commit"]);
  assert.not.match(JSON.stringify(plan), "HEAD^");
});

test("names docker would refuse are refused when planning, naming the layer's file", async () => {
  using repo = twoLayers();
  repo.write({ "science/a/sciserver-image.json": JSON.stringify({ image: "a", compat: "base", version: `1${".0".repeat(60)}` }) });
  assert.match(await refusal(repo.root, {}), /^science\/a\/sciserver-image\.json: version 1\.0\.0.* makes the tag ".*" 1\d\d characters long \(with the platform suffix a push adds\), over docker's limit of 128$/);
});

test.run();
