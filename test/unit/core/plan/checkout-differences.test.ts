// What a planned build context holds other than its commit's files where git status says nothing:
// each kind of difference said once, with its reason; what git status reports, or what the
// .dockerignore leaves out, not said here.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hiddenDifferences, hiddenDifferencesWarning, type IndexEntry } from "../../../../src/core/plan/checkout-differences.js";
import type { ContextFile } from "../../../../src/core/model.js";

const file = (name: string, mode = 0o644): ContextFile => ({ name, type: "file", mode, sha256: "0".repeat(64) });
const dir = (name: string): ContextFile => ({ name, type: "directory", mode: 0o755 });
const entry = (path: string, more: Partial<IndexEntry> = {}): IndexEntry => ({ path, tag: "H", mode: "100644", eol: { index: "i/lf", worktree: "w/lf", attr: "attr/" }, ...more });
const all = (paths: readonly string[]) => [...paths];

test("a checkout that is its commit has no difference", () => {
  const contexts = new Map([["science/a", [file("Dockerfile"), dir("lib"), file("lib/x.py"), file("run.sh", 0o755)]]]);
  const index = [entry("science/a/Dockerfile"), entry("science/a/lib/x.py"), entry("science/a/run.sh", { mode: "100755" }), entry("science/b/Dockerfile")];
  assert.equal(hiddenDifferences(contexts, index, [], all), []);
  assert.is(hiddenDifferencesWarning([], "3-abc"), undefined);
});

test("each difference git status does not show, with its reason", () => {
  const contexts = new Map([["science/a", [
    file("Dockerfile"), file("assumed.txt"), file("skipped.txt"), file("mode.sh"), file("crlf.txt"), file("link"),
    dir("empty"), dir("empty/deeper"), dir("vendor"), dir("vendor/.git"), file("vendor/.git/index"), file("vendor/lib.txt"), file("stray.txt"),
  ]]]);
  const index = [
    entry("science/a/Dockerfile"), entry("science/a/assumed.txt", { tag: "h" }), entry("science/a/skipped.txt", { tag: "S" }),
    entry("science/a/mode.sh", { mode: "100755" }), entry("science/a/crlf.txt", { eol: { index: "i/lf", worktree: "w/crlf", attr: "attr/" } }),
    entry("science/a/link", { mode: "120000" }), entry("science/a/vendor", { mode: "160000" }), entry("science/a/sparse.txt", { tag: "S" }),
  ];
  assert.equal(hiddenDifferences(contexts, index, [], all), [
    { path: "science/a/assumed.txt", why: "marked assume-unchanged: git status does not compare it with the commit, so it may differ" },
    { path: "science/a/crlf.txt", why: "line ends converted on checkout by core.autocrlf or core.eol, which other checkouts do not do: lf in the commit, crlf here" },
    { path: "science/a/empty", why: "a directory holding nothing of the commit (empty, or only what .dockerignore leaves out): git keeps no directories, so other checkouts lack it" },
    { path: "science/a/link", why: "a symbolic link in the commit, a file here: core.symlinks=false" },
    { path: "science/a/mode.sh", why: "mode 0644 here, 0755 in the commit: core.fileMode=false hides it" },
    { path: "science/a/skipped.txt", why: "marked skip-worktree: git status does not compare it with the commit, so it may differ" },
    { path: "science/a/sparse.txt", why: "left out of this checkout by a sparse checkout or skip-worktree, so not built" },
    { path: "science/a/stray.txt", why: "not in the commit, though git status does not show it" },
    // a nested repository's own state, said once; its files are its own repository's
    { path: "science/a/vendor/.git", why: "a git repository's own files, which change without a commit: leave them out with .dockerignore" },
  ]);
});

test("what git status reports (an ignored directory with its slash, untracked and changed files) and what the .dockerignore leaves out are not said again", () => {
  const contexts = new Map([["science/a", [file("Dockerfile"), dir(".venv"), dir(".venv/lib"), file(".venv/lib/a.py"), file("new.txt"), file("edited.sh")]]]);
  const index = [entry("science/a/Dockerfile"), entry("science/a/edited.sh", { mode: "100755" }), entry("science/a/docs/x.md", { tag: "S" })];
  const reported = ["science/a/.venv/", "science/a/new.txt", "science/a/edited.sh"];
  assert.equal(hiddenDifferences(contexts, index, reported, (paths) => paths.filter((p) => !p.includes("/docs/"))), []);
});

test("line ends an attribute fixes (eol=crlf) are the same in every checkout, and a filter's files (git-lfs, git-crypt) are its own: not a difference", () => {
  const contexts = new Map([["science/a", [file("win.bat"), file("model.bin"), file("secret.env"), file("text.txt")]]]);
  const index = [
    entry("science/a/win.bat", { eol: { index: "i/lf", worktree: "w/crlf", attr: "attr/text eol=crlf" } }),
    entry("science/a/model.bin", { eol: { index: "i/lf", worktree: "w/-text", attr: "attr/-text" } }),
    entry("science/a/secret.env", { eol: { index: "i/-text", worktree: "w/lf", attr: "attr/filter=git-crypt" } }),
    entry("science/a/text.txt", { eol: { index: "i/lf", worktree: "w/crlf", attr: "attr/filter=lfs diff=lfs merge=lfs" } }),
  ];
  assert.equal(hiddenDifferences(contexts, index, [], all), []);
});

test("the layer's Dockerfile, sciserver-image.json and .dockerignore shape the build whatever .dockerignore leaves out: marked assume-unchanged, they are said though not in the context", () => {
  const contexts = new Map([["science/a", [file("data.txt")]]]);
  const index = [entry("science/a/Dockerfile", { tag: "h" }), entry("science/a/.dockerignore", { tag: "S" }), entry("science/a/sciserver-image.json"), entry("science/a/data.txt")];
  assert.equal(hiddenDifferences(contexts, index, [], all).map((d) => d.path), ["science/a/.dockerignore", "science/a/Dockerfile"]);
});

test("only the contexts given are looked at; the warning groups paths by reason, five at most each", () => {
  const contexts = new Map([["compat/base", [file("a"), file("b"), file("c"), file("d"), file("e"), file("f"), file("g", 0o755)]]]);
  const index = ["a", "b", "c", "d", "e", "f", "g"].map((n) => entry(`compat/base/${n}`, { tag: "h" })).concat(entry("science/x/y", { tag: "h" }));
  const differences = hiddenDifferences(contexts, index, [], all);
  assert.is(differences.length, 7);
  assert.is(hiddenDifferencesWarning(differences, "3-abc"),
    "the checkout differs from its commit where git status does not show it, and is built as it is, tagged 3-abc, which another checkout of the commit does not make: compat/base/a, compat/base/b, compat/base/c, compat/base/d, compat/base/e, 2 more (marked assume-unchanged: git status does not compare it with the commit, so it may differ)");
});

test.run();
