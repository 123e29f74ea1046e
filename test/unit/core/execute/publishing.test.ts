// Publishing rules (issue 9) decided without I/O: reuse, refusal, push order, pinned parents,
// reconcile; and the run's last line (issue 12, item 9).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { builtOnOtherParent, builtOnOtherParentBuild, decideReuse, pinParents, pushOrder, refusalsBeforeBuilding } from "../../../../src/core/execute/publishing.js";
import { inputsMismatch } from "../../../../src/core/requests/inputs-digest.js";
import { reconcilePlan } from "../../../../src/core/plan/reconcile.js";
import { build, makePlan } from "../../../helpers/engine.js";

const D = "sha256:" + "a".repeat(64);
const E = "sha256:" + "b".repeat(64);
const base = { inputsDigest: D, buildTag: "r/sci/x:1.0-7-abc", pushing: false, overwrite: false };

test("an image of the same inputs under the build tag is reused; one of other inputs in the registry is refused", () => {
  assert.equal(decideReuse({ ...base }), { action: "build", why: "not built yet" });
  assert.equal(decideReuse({ ...base, engine: { inputs: D } }), { action: "reuse", from: "engine", push: false });
  assert.equal(decideReuse({ ...base, engine: { inputs: E } }).action, "build");
  // pushing: the registry decides; the engine's copy saves a pull
  assert.equal(decideReuse({ ...base, pushing: true, engine: { inputs: D } }), { action: "reuse", from: "engine", push: true });
  assert.equal(decideReuse({ ...base, pushing: true, registry: { inputs: D } }), { action: "reuse", from: "registry", push: false });
  // issue 16, item 4: the registry's image is the published one; the engine's is taken only when it is that very image
  assert.equal(decideReuse({ ...base, pushing: true, registry: { inputs: D, id: "sha256:img" }, engine: { inputs: D, id: "sha256:img" } }), { action: "reuse", from: "engine", push: false });
  assert.equal(decideReuse({ ...base, pushing: true, registry: { inputs: D, id: "sha256:published" }, engine: { inputs: D, id: "sha256:local" } }), { action: "reuse", from: "registry", push: false });
  assert.equal(decideReuse({ ...base, pushing: true, registry: { inputs: D }, engine: { inputs: D } }), { action: "reuse", from: "registry", push: false });
  const refused = decideReuse({ ...base, pushing: true, registry: { inputs: E }, engine: { inputs: D } });
  assert.is(refused.action, "refuse");
  assert.match((refused as { message: string }).message, `r/sci/x:1.0-7-abc is already in the registry with inputs ${E}, but this build's inputs are ${D}`);
  assert.match((refused as { message: string }).message, /: build tags are immutable \(--overwrite replaces it\)$/);
  // built from uncommitted changes: commit first (the registry's is likely the commit's own build)
  const dirty = decideReuse({ ...base, pushing: true, registry: { inputs: E }, uncommitted: ["science/x"] });
  assert.match((dirty as { message: string }).message, /: build tags are immutable; science\/x differs from the commit \(uncommitted changes, or what git status does not show: see the warning\): commit the changes first, or build a clean checkout \(a new commit gets its own build tags\)$/);
  assert.equal(decideReuse({ ...base, pushing: true, overwrite: true, registry: { inputs: E } }).action, "build");
  // a plan made before inputs digests never reuses, and never matches an unlabelled image
  assert.equal(decideReuse({ ...base, inputsDigest: undefined, engine: {} }).action, "build");
  assert.is(decideReuse({ ...base, pushing: true, registry: {} }).action, "refuse");
});

test("an image built on another commit's parent does not match, even with its own inputs right", () => {
  const b = { kind: "science" as const, target: "b", request: { inputsDigest: D, inputs: { context: "", parents: { "sci/a:1.0": E } } } };
  assert.is(inputsMismatch({ "org.sciserver.science.b.inputs": D, "org.sciserver.science.a.inputs": E }, b), undefined);
  // a parent label the image lacks (a COPY --from source) can't be checked
  assert.is(inputsMismatch({ "org.sciserver.science.b.inputs": D }, b), undefined);
  const wrong = inputsMismatch({ "org.sciserver.science.b.inputs": D, "org.sciserver.science.a.inputs": "sha256:other" }, b);
  assert.is(wrong, `inputs ${D}, but built on a sci/a:1.0 with inputs sha256:other (this checkout's: ${E})`);
  assert.is(decideReuse({ ...base, engine: { inputs: D, mismatch: wrong } }).action, "build");
  assert.is(decideReuse({ ...base, pushing: true, registry: { inputs: D, mismatch: wrong } }).action, "refuse");
});

test("an image built on another build of a parent than the run's is told apart by the buildtime it inherited", () => {
  const t = "org.sciserver.science.a.buildtime";
  assert.is(builtOnOtherParent("sci/a:1.0", { [t]: "1.100" }, { [t]: "1.100" }), undefined);
  assert.is(builtOnOtherParent("sci/a:1.0", { [t]: "1.100" }, { [t]: "2.200" }),
    "built on another build of sci/a:1.0 (buildtime 1.100) than the one this run uses (buildtime 2.200)");
  // nothing inherited (a COPY --from source), or no sci/ reference: can't be told
  assert.is(builtOnOtherParent("sci/a:1.0", {}, { [t]: "2.200" }), undefined);
  assert.is(builtOnOtherParent("busybox:stable", { [t]: "1" }, { [t]: "2" }), undefined);
});

test("an image built on another build of a parent (its version label), not another image of the same build, can't stand for this run's", () => {
  const v = "org.sciserver.science.a.version";
  assert.is(builtOnOtherParentBuild("sci/a:1.0", { [v]: "1.0-1-abc" }, { [v]: "1.0-2-def" }), "an image built on sci/a:1.0-1-abc, while this run's sci/a:1.0 is build 1.0-2-def");
  assert.is(builtOnOtherParentBuild("sci/a:1.0", { [v]: "1.0-2-def" }, { [v]: "1.0-2-def" }), undefined, "the same build (a concurrent run's image): judged on the registry");
  assert.is(builtOnOtherParentBuild("sci/a:1.0", {}, { [v]: "1.0-2-def" }), undefined);
  assert.is(builtOnOtherParentBuild("busybox:stable", { [v]: "1" }, { [v]: "2" }), undefined);
});

test("the build tag is pushed before the moving tag; parents are pinned to image ids", () => {
  assert.equal(pushOrder({ tags: ["r/sci/x:1.0", "r/sci/x:1.0-7-abc"] }), ["r/sci/x:1.0-7-abc", "r/sci/x:1.0"]);
  const pinned = pinParents({ dockerfile: "FROM r/sci/a:1.0 AS a\nFROM busybox:stable\nCOPY --from=r/sci/a:1.0 /a /a\n", buildArgs: {} }, { "r/sci/a:1.0": D });
  assert.is(pinned, `FROM ${D} AS a\nFROM busybox:stable\nCOPY --from=${D} /a /a\n`);
});

test("a request for a platform is pinned to its own platform's parent image, resolving TARGETARCH as that platform", () => {
  const ARM = `sha256:${"a".repeat(64)}`;
  const AMD = `sha256:${"b".repeat(64)}`;
  const pins = { "r/sci/a:1.0@linux/arm64": ARM, "r/sci/a:1.0@linux/amd64": AMD, "r/sci/a-arm64:1.0@linux/arm64": ARM };
  assert.is(pinParents({ dockerfile: "FROM r/sci/a:1.0\n", buildArgs: {}, platform: "linux/arm64" }, pins), `FROM ${ARM}\n`);
  assert.is(pinParents({ dockerfile: "FROM r/sci/a:1.0\n", buildArgs: {}, platform: "linux/amd64" }, pins), `FROM ${AMD}\n`);
  assert.is(pinParents({ dockerfile: "FROM r/sci/a-${TARGETARCH}:1.0\n", buildArgs: {}, platform: "linux/arm64" }, pins), `FROM ${ARM}\n`);
  // A request without a platform takes none of them.
  assert.is(pinParents({ dockerfile: "FROM r/sci/a:1.0\n", buildArgs: {} }, pins), "FROM r/sci/a:1.0\n");
});

test("reconcile keeps what the registry lacks or holds from other inputs, and what builds on it", () => {
  const p = makePlan("r", [
    build("sci/a", ["r/sci/a:1.0", "r/sci/a:1.0-7-abc"], "FROM busybox:stable\n"),
    build("sci/b", ["r/sci/b:1.0", "r/sci/b:1.0-7-abc"], "FROM r/sci/a:1.0\n", { dependsOn: ["sci/a"] }),
    build("sci/c", ["r/sci/c:1.0", "r/sci/c:1.0-7-abc"], "FROM busybox:stable\n"),
    build("sci/d", ["r/sci/d:1.0", "r/sci/d:1.0-7-abc"], "FROM busybox:stable\n"),
  ]);
  const digest = (id: string) => p.builds.find((b) => b.id === id)!.request.inputsDigest;
  const r = reconcilePlan(p, new Map([
    ["sci/a", { found: false as const }],
    ["sci/b", { found: true as const, inputs: digest("sci/b") }],
    ["sci/c", { found: true as const, inputs: E }],
    ["sci/d", { found: true as const, inputs: digest("sci/d"), mismatch: "inputs x, but built on a sci/q:1.0 with inputs y (this checkout's: z)" }],
  ]));
  assert.equal(r.builds.map((b) => [b.id, b.reasons]), [
    ["sci/a", ["not published (r/sci/a:1.0)"]],
    ["sci/b", ["built on sci/a, which is rebuilt"]],
    ["sci/c", [`published image has inputs ${E} ≠ ${digest("sci/c")}`]],
    ["sci/d", ["published image has inputs x, but built on a sci/q:1.0 with inputs y (this checkout's: z)"]],
  ]);
  assert.equal(r.waves, [["sci/a", "sci/c", "sci/d"], ["sci/b"]]);
});

test("reconcile leaves a moving tag at a newer build alone: moving tags only move forward", () => {
  const p = makePlan("r", [build("sci/a", ["r/sci/a:1.0", "r/sci/a:1.0-7-abc"], "FROM busybox:stable\n")]);
  p.builds[0].request.labels = { "org.sciserver.science.a.version": "1.0-7-abc" };
  const at = (buildName: string) => reconcilePlan(p, new Map([["sci/a", { found: true as const, inputs: E, build: buildName }]])).builds.map((b) => b.id);
  assert.equal(at("1.0-9-def"), []);
  assert.equal(at("1.0-5-fed"), ["sci/a"]);
});

test("a push is refused before building when a build would be refused at its turn: an image of other inputs, or one built on another build of a parent the run builds", () => {
  const base = build("sci/b", ["r/sci/b:1.0", "r/sci/b:1.0-3-ccc"], "FROM busybox\n");
  base.request.labels = { "org.sciserver.science.b.version": "1.0-3-ccc" };
  const tools = build("sci/t", ["r/sci/t:1.0", "r/sci/t:1.0-3-ccc"], "FROM r/sci/b:1.0\n", { dependsOn: ["sci/b"] });
  tools.request.inputs = { context: "", parents: { "sci/b:1.0": base.request.inputsDigest! } };
  const builds = [base, tools];
  const heldTools = (baseBuild: string, inputs = tools.request.inputsDigest!) => new Map([["sci/t", {
    "org.sciserver.science.t.inputs": inputs, "org.sciserver.science.b.inputs": base.request.inputsDigest!, "org.sciserver.science.b.version": baseBuild,
  }]]);
  // nothing held, or tools' build tag holding this run's image on base's build 3: nothing refused
  assert.equal(refusalsBeforeBuilding(builds, new Map(), { overwrite: false }), []);
  assert.equal(refusalsBeforeBuilding(builds, heldTools("1.0-3-ccc"), { overwrite: false }), []);
  // tools' build 3 stands on base's build 2, and this run builds base as build 3 (--all on a published commit)
  const split = refusalsBeforeBuilding(builds, heldTools("1.0-2-bbb"), { overwrite: false });
  assert.is(split.length, 1);
  assert.is(split[0].id, "sci/t");
  assert.match(split[0].message, "r/sci/t:1.0-3-ccc is already in the registry with an image built on sci/b:1.0-2-bbb, while this run's sci/b:1.0 is build 1.0-3-ccc: build tags are immutable (--overwrite replaces it)");
  // a parent the run does not build (pulled from {version}) is judged at its turn, on the registry
  assert.equal(refusalsBeforeBuilding([{ ...tools, dependsOn: [] }], heldTools("1.0-2-bbb"), { overwrite: false }), []);
  // other inputs under the build tag, with the dirty checkout's advice
  const other = refusalsBeforeBuilding(builds, heldTools("1.0-3-ccc", E), { overwrite: false, uncommitted: ["science/t"] });
  assert.match(other[0].message, `r/sci/t:1.0-3-ccc is already in the registry with inputs ${E}`);
  assert.match(other[0].message, "science/t differs from the commit");
  // --overwrite replaces them: nothing refused
  assert.equal(refusalsBeforeBuilding(builds, heldTools("1.0-2-bbb", E), { overwrite: true }), []);
});

test.run();
