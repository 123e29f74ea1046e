// What git says changed, turned into a plan in-process (loadPlan) on real repositories: submodules,
// a commit's own changes (`B^!`) on merges and root commits, and the notes a plan comes with.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compat, makeRepo, science, type TempRepo } from "../helpers/repo.js";
import { loadPlan, type PlanFlags } from "../../src/io/load-plan.js";

const CONFIG = { "image-builder.json": '{"repo": "registry.example.org/images"}' };

function flags(root: string, more: Partial<PlanFlags> = {}): PlanFlags {
  return { root, include: [], ignore: [], untracked: false, all: false, buildArgs: {}, buildTime: 1, ...more };
}

async function planIds(root: string, more: Partial<PlanFlags> = {}): Promise<string[]> {
  return (await loadPlan(flags(root, more), { skipUnchanged: true })).plan.builds.map((b) => b.id);
}

function twoLayers(): TempRepo {
  return makeRepo({
    ...CONFIG,
    ...science("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"),
    ...science("b", { image: "b", compat: "base" }, "FROM busybox:stable\n"),
    ...compat("base", [], "ENV X=1\n"),
  });
}

test("a layer directory that is a git submodule counts as changed when the submodule moves", async () => {
  const lib = makeRepo(science("x", { image: "sub", compat: "base" }, "FROM busybox:stable\n"));
  const repo = makeRepo({ ...CONFIG, ...compat("base", [], "ENV X=1\n"), "README": "r" });
  try {
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
  } finally { repo.cleanup(); lib.cleanup(); }
});

test.run();
