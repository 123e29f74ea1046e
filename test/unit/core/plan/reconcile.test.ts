// --reconcile: from a plan of every layer, what the registry lacks or holds from other inputs,
// and what counts as changed for `graph`.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentLayers, heldBuildTag, heldByOtherCommits, reconcilePlan, reconciledChanges, type PublishedImage } from "../../../../src/core/plan/reconcile.js";
import { renderGraph } from "../../../../src/core/report/render-graph.js";
import { analyzeRepository } from "../../../../src/core/plan/analyze-repository.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";
import type { Plan } from "../../../../src/core/model.js";
import { versionLabel } from "../../../../src/core/requests/inputs-digest.js";
import { describePlan } from "../../../../src/executors/dry-run.js";
import { GIT, RAW, makePlan } from "../../../helpers/small-plan.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { parsePlanFile } from "../../../../src/core/requests/plan-file.js";
import { requestDigestProblem } from "../../../../src/core/requests/plan-inputs.js";

const published = (plan: Plan, stale: Record<string, PublishedImage> = {}) =>
  new Map(plan.builds.map((b): [string, PublishedImage] => [b.id, stale[b.id] ?? { found: true, inputs: b.request.inputsDigest }]));

test("graph --reconcile marks what the registry lacks, not every layer; nothing when reconcile plans nothing", () => {
  const snapshot = readLayers(RAW);
  const analysis = analyzeRepository(snapshot);
  // every layer planned, as --reconcile starts: a <- b, c, and their final images
  const whole = makePlan({ science: ["a", "c"] });
  assert.equal(whole.builds.map((b) => b.id).sort(), ["rel/a:1.0", "rel/b:1.0", "rel/c:1.0", "sci/a", "sci/b", "sci/c"]);

  // everything published from these inputs: nothing planned, nothing marked
  const current = published(whole);
  const nothing = reconcilePlan(whole, current);
  assert.equal(nothing.builds, []);
  const quiet = renderGraph(snapshot, analysis, nothing, reconciledChanges(nothing, current, "missing"), "mermaid");
  assert.not.match(quiet, /\n {2}class /);

  // sci/a never pushed: it is the change; b (built on it) and the finals are rebuilt
  const missingA = published(whole, { "sci/a": { found: false } });
  const some = reconcilePlan(whole, missingA);
  const changes = reconciledChanges(some, missingA, "missing");
  assert.equal(changes, { all: false, science: ["a"], compat: [], why: "missing" });
  const marked = renderGraph(snapshot, analysis, some, changes, "mermaid");
  assert.match(marked, "  class sci_a changed\n");
  assert.match(marked, /\n {2}class [^\n]*sci_b[^\n]* rebuilt\n/);
  assert.not.match(marked, /class [^\n]*sci_c/);
  assert.not.match(marked, /class [^\n]*compat_base/);
});

test("an older commit whose moving tags hold newer builds: nothing to build, and at -vv each layer says why it is current", () => {
  const whole = makePlan({ science: ["a"] });
  // this checkout is build 3; the registry's sci/a and rel/a moving tags hold build 5 of another commit (other inputs)
  const newer = (id: string): PublishedImage => {
    const b = whole.builds.find((x) => x.id === id)!;
    const label = b.request.labels[versionLabel(b.kind, b.target)];
    return { found: true, inputs: "sha256:newer", build: label.replace("-3-c0ffee0", "-5-abcdef1") };
  };
  const sciB = whole.builds.find((x) => x.id === "sci/b")!;
  const ownB: PublishedImage = { found: true, inputs: sciB.request.inputsDigest, build: sciB.request.labels[versionLabel("science", "b")] };
  const registry = published(whole, { "sci/a": newer("sci/a"), "rel/a:1.0": newer("rel/a:1.0"), "sci/b": ownB });
  const plan = reconcilePlan(whole, registry);
  assert.equal(plan.builds, []);
  const current = currentLayers(whole, plan, registry);
  const lines = describePlan(plan, 2, "missing from or stale in the registry", current);
  assert.is(lines[lines.length - 1], "nothing to build: nothing missing from or stale in the registry");
  const line = (id: string) => lines.find((l) => l.startsWith(`${id}: `));
  assert.match(line("sci/a") ?? "", /^sci\/a: current \(\S+\/sci\/a:1\.0 holds 1\.0-5-abcdef1, a newer build; moving tags only move forward\)$/);
  assert.match(line("rel/a:1.0") ?? "", /^rel\/a:1\.0: current \(\S+\/rel\/a:1\.0 holds \S*1\.0-5-abcdef1, a newer build; moving tags only move forward\)$/);
  assert.match(line("sci/b") ?? "", /^sci\/b: current \(\S+\/sci\/b:1\.0 holds \S+, of this checkout's inputs\)$/);
  assert.is(lines.length, whole.builds.length + 1);
  // below -vv, only the one line
  assert.equal(describePlan(plan, 1, "missing from or stale in the registry", current), ["nothing to build: nothing missing from or stale in the registry"]);
});

test("--allow-tag-rollback: moving tags holding a newer build, or another commit's of the same number (an amend), are stale, with what builds on them; the builds left on them are named for the history check", () => {
  const whole = makePlan({ science: ["a"] });
  const held = (id: string, build: string): PublishedImage => {
    const b = whole.builds.find((x) => x.id === id)!;
    return { found: true, inputs: "sha256:other", build: b.request.labels[versionLabel(b.kind, b.target)].replace("-3-c0ffee0", build) };
  };
  // sci/a: a newer build (force-pushed away); rel/a: the same number of another commit (amended)
  const registry = published(whole, { "sci/a": held("sci/a", "-5-abcdef1"), "rel/a:1.0": held("rel/a:1.0", "-3-deadbee") });
  const left = reconcilePlan(whole, registry);
  assert.equal(left.builds, []);
  assert.equal(heldByOtherCommits(whole, left, registry).map((h) => [h.id, h.held, h.hash]), [["sci/a", "1.0-5-abcdef1", "abcdef1"], ["rel/a:1.0", "1.0-3-deadbee", "deadbee"]]);
  const back = reconcilePlan(whole, registry, { allowRollback: true });
  // sci/b and rel/b are built on sci/a
  assert.equal(back.builds.map((b) => b.id), ["sci/a", "sci/b", "rel/a:1.0", "rel/b:1.0"]);
  assert.match(back.builds[0].reasons[0], /sci\/a:1\.0 holds 1\.0-5-abcdef1, a newer build: moved back to this checkout's \(--allow-tag-rollback\)$/);
  assert.match(back.builds[2].reasons.join("; "), /rel\/a:1\.0 holds \S*1\.0-3-deadbee, another commit's build with the same build number: moved back/);
  assert.equal(heldByOtherCommits(whole, back, registry), []);
  // an older build there moves without the flag, as before
  assert.equal(reconcilePlan(whole, published(whole, { "sci/a": held("sci/a", "-2-abcdef1") })).builds.map((b) => b.id), ["sci/a", "sci/b", "rel/a:1.0", "rel/b:1.0"]);
});

test("with a signing key: an image of this checkout's inputs it did not sign is planned (to be reused and signed), what is built on it is not", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const signed = (b: Plan["builds"][number]) => ({ found: true, inputs: b.request.inputsDigest, build: b.request.labels[versionLabel(b.kind, b.target)], signed: true });
  const state = new Map(whole.builds.map((b): [string, PublishedImage] => [b.id, signed(b) as PublishedImage]));
  assert.equal(reconcilePlan(whole, state).builds, []);
  const a = whole.builds.find((b) => b.id === "sci/a")!;
  state.set("sci/a", { ...signed(a), signed: false as boolean });
  const plan = reconcilePlan(whole, state);
  assert.equal(plan.builds.map((b) => [b.id, b.reasons]), [["sci/a", [`${a.request.tags[0]} holds ${a.request.labels[versionLabel("science", "a")]}, of this checkout's inputs, not signed by the signing key`]]]);
  assert.match(currentLayers(whole, plan, state).join("\n"), /sci\/b: current \(.*, of this checkout's inputs, signed by the signing key\)/);
  // a parent rebuilt still takes its children along, signed or not
  state.set("sci/a", { found: false });
  assert.ok(reconcilePlan(whole, state).builds.some((b) => b.id === "sci/b"));
});

test("an image right but lacking only its signature or attestations, whose {version} holds an earlier build: planned as that build (its tags, labels, generated names), reused, not rebuilt; a plan file of it reads back", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const held = (b: Plan["builds"][number], build: string): PublishedImage => ({ found: true, inputs: b.request.inputsDigest, build, signed: false });
  const state = new Map(whole.builds.map((b): [string, PublishedImage] => [b.id, { found: true, inputs: b.request.inputsDigest, build: b.request.labels[versionLabel(b.kind, b.target)], signed: true }]));
  const a = whole.builds.find((b) => b.id === "sci/a")!;
  const relA = whole.builds.find((b) => b.id === "rel/a:1.0")!;
  state.set("sci/a", held(a, "1.0-2-ab12cd3"));
  state.set("rel/a:1.0", held(relA, "a:1.0-1-0123abc"));
  // The clone's commits: each earlier build names its own in its provenance.
  const commits = new Map([["ab12cd3", "ab12cd3".padEnd(40, "0")], ["0123abc", "0123abc".padEnd(40, "1")]]);
  // A commit the clone lacks (a shallow clone): the build can't name it, so it is built as this checkout's.
  assert.ok(reconcilePlan(whole, state).builds.every((b) => b.earlierBuild === undefined && !b.request.tags[1].includes("ab12cd3")), "without its commit");
  const plan = reconcilePlan(whole, state, { commits });
  assert.equal(plan.builds.map((b) => b.id), ["sci/a", "rel/a:1.0"], "nothing built on them is planned");
  const [sciA, rel] = plan.builds;
  assert.equal(sciA.request.tags, ["127.0.0.1:5055/x/sci/a:1.0", "127.0.0.1:5055/x/sci/a:1.0-2-ab12cd3"]);
  assert.is(sciA.request.labels[versionLabel("science", "a")], "1.0-2-ab12cd3");
  assert.is(sciA.earlierBuild, true);
  assert.is(sciA.commit, "ab12cd3".padEnd(40, "0"), "the earlier build's own commit, which its provenance names");
  assert.match(sciA.reasons.join("; "), /holds 1\.0-2-ab12cd3, of this checkout's inputs, not signed by the signing key; completed as 1\.0-2-ab12cd3, not rebuilt$/);
  assert.equal(rel.request.tags, ["127.0.0.1:5055/x/rel/a:1.0", "127.0.0.1:5055/x/rel/a:1.0-1-0123abc"]);
  assert.is(rel.request.labels[versionLabel("compat", rel.target)], "a:1.0-1-0123abc");
  assert.equal(rel.finalImages, ["a:1.0-1-0123abc", "a:1.0"]);
  assert.match(rel.request.dockerfile, /\nENV SCISERVER_IMAGE=a:1\.0-1-0123abc\n/);
  assert.not.match(JSON.stringify(rel.request), /1-c0ffee0/, "no name of this checkout's build is left");
  // The same inputs: the inputs digest is the one planned, and the run's check of it agrees.
  assert.is(rel.request.inputsDigest, relA.request.inputsDigest);
  assert.is(requestDigestProblem(rel, whole.repo), undefined);
  // A plan file of it reads back (run PLAN on an agent); one naming a later build, or not marked as an earlier build, does not.
  const text = JSON.stringify(plan);
  assert.equal(parsePlanFile(text, "plan.json").builds.map((b) => b.request.tags[1]), [sciA.request.tags[1], rel.request.tags[1]]);
  assert.throws(() => parsePlanFile(text.replaceAll("1.0-2-ab12cd3", "1.0-4-ab12cd3"), "plan.json"), /request\.labels\.org\.sciserver\.science\.a\.version: "1\.0-4-ab12cd3": not 1\.0-3-\{the commit's short hash\}, this build's at the plan's commit, nor an earlier build's/);
  assert.throws(() => parsePlanFile(text.replaceAll('"earlierBuild":true', '"earlierBuild":null'), "plan.json"), /earlierBuild/);
  assert.throws(() => parsePlanFile(text.replaceAll(',"earlierBuild":true', ""), "plan.json"), /"1\.0-2-ab12cd3": not 1\.0-3-/);
  assert.throws(() => parsePlanFile(text.replaceAll("ab12cd3".padEnd(40, "0"), "ab12cd4".padEnd(40, "0")), "plan.json"), /commit: ab12cd40{33}: not the commit of an earlier build 1\.0-2-ab12cd3/);
  assert.throws(() => parsePlanFile(text.replaceAll(`,"commit":"${"ab12cd3".padEnd(40, "0")}"`, ""), "plan.json"), /commit: missing: an earlier build completed by --reconcile names the commit it was made from \(a plan made by an older image-builder, .*: make the plan again with this one\)/);
  // Only read (report --plan), such a plan of an older image-builder's is taken as it is.
  assert.is(parsePlanFile(text.replaceAll(`,"commit":"${"ab12cd3".padEnd(40, "0")}"`, ""), "plan.json", { readOnly: true }).builds.length, plan.builds.length);
  // Held by a newer build of these inputs (another branch's): current, left to its own commit.
  state.set("sci/a", held(a, "1.0-9-ab12cd3"));
  const newer = reconcilePlan(whole, state, { commits });
  assert.not.ok(newer.builds.some((b) => b.id === "sci/a"), "a newer build is not completed from an older checkout");
  assert.match(currentLayers(whole, newer, state).join("\n"), /sci\/a: current \(.*holds 1\.0-9-ab12cd3, a newer build \(of this checkout's inputs\); moving tags only move forward\)/);
  // Held by this checkout's own build: planned as it is.
  state.set("sci/a", held(a, a.request.labels[versionLabel("science", "a")]));
  assert.is(reconcilePlan(whole, state, { commits }).builds[0].request.tags[1], a.request.tags[1]);
  assert.is(reconcilePlan(whole, state, { commits }).builds[0].earlierBuild, undefined);
  // Rebuilt (other inputs, or a parent rebuilt): planned as this checkout's build.
  state.set("sci/a", { found: false });
  const rebuilt = reconcilePlan(whole, state, { commits });
  assert.is(rebuilt.builds.find((b) => b.id === "rel/a:1.0")!.request.tags[1], relA.request.tags[1]);
  assert.ok(rebuilt.builds.every((b) => b.earlierBuild === undefined));
});

test("platforms: a layer is planned as its earlier build only when every platform's image is that build; else as this checkout's", () => {
  const whole = planBuilds(readLayers(RAW), {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {}, platforms: ["linux/amd64", "linux/arm64"],
    changes: { all: true, science: [], compat: [], why: "everything" },
  });
  const image = (b: Plan["builds"][number], build: string, attested = true): PublishedImage => ({ found: true, inputs: b.request.inputsDigest, build, attested, index: { found: true, inputs: b.request.inputsDigest, build, attested } });
  const registry = (arm64Build: string) => new Map(whole.builds.map((b): [string, PublishedImage] => [b.id,
    b.id === "sci/a@linux/amd64" ? image(b, "1.0-2-ab12cd3", false) : b.id === "sci/a@linux/arm64" ? image(b, arm64Build) : image(b, b.request.labels[versionLabel(b.kind, b.target)])]));
  const commits = new Map([["ab12cd3", "ab12cd3".padEnd(40, "0")], ["0123abc", "0123abc".padEnd(40, "1")]]);
  const same = reconcilePlan(whole, registry("1.0-2-ab12cd3"), { commits });
  assert.equal(same.builds.map((b) => [b.id, b.request.tags[1], b.earlierBuild]), [
    ["sci/a@linux/amd64", "127.0.0.1:5055/x/sci/a:1.0-2-ab12cd3-linux-amd64", true],
    ["sci/a@linux/arm64", "127.0.0.1:5055/x/sci/a:1.0-2-ab12cd3-linux-arm64", true],
  ]);
  // Its platforms on different builds: built as this checkout's, a new build, so what is built on it is rebuilt on it too.
  const mixed = reconcilePlan(whole, registry("1.0-1-0123abc"), { commits });
  assert.equal(mixed.builds.slice(0, 2).map((b) => [b.id, b.request.tags[1], b.earlierBuild]), [
    ["sci/a@linux/amd64", "127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0-linux-amd64", undefined],
    ["sci/a@linux/arm64", "127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0-linux-arm64", undefined],
  ]);
  assert.match(mixed.builds[0].reasons.join("; "), /its earlier build 1\.0-2-ab12cd3 can't be completed here \(its platforms' moving tags hold different builds\), so it is built as this checkout's/);
  const children = mixed.builds.slice(2);
  assert.ok(children.length > 0 && children.every((b) => b.reasons.some((r) => /built on sci\/\S+, which is rebuilt/.test(r))), JSON.stringify(children.map((b) => [b.id, b.reasons])));
  assert.equal(children.map((b) => b.id).sort(), ["rel/a:1.0@linux/amd64", "rel/a:1.0@linux/arm64", "rel/b:1.0@linux/amd64", "rel/b:1.0@linux/arm64", "sci/b@linux/amd64", "sci/b@linux/arm64"]);
  // The same for a build whose commit this clone lacks (a shallow clone): built as this checkout's, with what builds on it.
  const shallow = reconcilePlan(whole, registry("1.0-2-ab12cd3"), { commits: new Map() });
  assert.equal(shallow.builds.map((b) => b.id).sort(), mixed.builds.map((b) => b.id).sort());
  assert.match(shallow.builds[0].reasons.join("; "), /can't be completed here \(its commit is not in this clone: a shallow clone\?\), so it is built as this checkout's/);
});

test("platforms: a layer whose index lacks a current platform image is kept whole, for the index, without rebuilding what builds on it", () => {
  // a <- b, c, on two platforms; every platform image published, of these inputs
  const whole = planBuilds(readLayers(RAW), {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {}, platforms: ["linux/amd64", "linux/arm64"],
    changes: { all: true, science: [], compat: [], why: "everything" },
  });
  const current = (b: Plan["builds"][number]): PublishedImage => ({ found: true, inputs: b.request.inputsDigest });
  const registry = (change: (b: Plan["builds"][number]) => PublishedImage = (b) => ({ ...current(b), index: current(b) })) =>
    new Map(whole.builds.map((b): [string, PublishedImage] => [b.id, change(b)]));
  assert.equal(reconcilePlan(whole, registry()).builds, [], "images and indexes current");

  // sci/a's index missing (its platform images published): both of its builds, nothing else.
  const noIndex = reconcilePlan(whole, registry((b) => ({ ...current(b), index: b.id.startsWith("sci/a@") ? { found: false } : current(b) })));
  assert.equal(noIndex.builds.map((b) => [b.id, b.reasons]), [
    ["sci/a@linux/amd64", ["no index of its platforms under 127.0.0.1:5055/x/sci/a:1.0"]],
    ["sci/a@linux/arm64", ["no index of its platforms under 127.0.0.1:5055/x/sci/a:1.0"]],
  ]);

  // The index of sci/a holds another commit's arm64 image: the arm64 build for the index, and its amd64 sibling with it.
  const wrong = reconcilePlan(whole, registry((b) => ({ ...current(b), index: b.id === "sci/a@linux/arm64" ? { found: true, inputs: "sha256:old", build: "1.0-2-0ldc0mm" } : current(b) })));
  assert.equal(wrong.builds.map((b) => b.id), ["sci/a@linux/amd64", "sci/a@linux/arm64"]);
  assert.match(wrong.builds[1].reasons[0], /^its linux\/arm64 image in the index 127\.0\.0\.1:5055\/x\/sci\/a:1\.0: published image has inputs sha256:old/);
  assert.match(wrong.builds[0].reasons[0], /^its layer's index 127\.0\.0\.1:5055\/x\/sci\/a:1\.0 is written with sci\/a@linux\/arm64's$/);

  // sci/a's arm64 image itself missing: rebuilt, with what builds on it for arm64; the amd64 builds of those layers are kept for their indexes.
  const missing = reconcilePlan(whole, registry((b) => (b.id === "sci/a@linux/arm64" ? { found: false, index: { found: false } } : { ...current(b), index: current(b) })));
  const reasons = Object.fromEntries(missing.builds.map((b) => [b.id, b.reasons[0]]));
  assert.equal(Object.keys(reasons).sort(), ["rel/a:1.0@linux/amd64", "rel/a:1.0@linux/arm64", "rel/b:1.0@linux/amd64", "rel/b:1.0@linux/arm64", "sci/a@linux/amd64", "sci/a@linux/arm64", "sci/b@linux/amd64", "sci/b@linux/arm64"]);
  assert.match(reasons["sci/a@linux/arm64"], /^not published/);
  assert.is(reasons["sci/b@linux/arm64"], "built on sci/a@linux/arm64, which is rebuilt");
  assert.match(reasons["sci/b@linux/amd64"], /^its layer's index .* is written with sci\/b@linux\/arm64's$/);
  assert.equal(missing.builds.find((b) => b.id === "sci/b@linux/amd64")!.dependsOn, ["sci/a@linux/amd64"]);

  // sci/a's index holds both current images, its arm64 one without its attestations: the layer is
  // kept whole for its index (the images reused, their attestations added), nothing built on it.
  const unattested = reconcilePlan(whole, registry((b) => ({ ...current(b), index: { ...current(b), attested: !(b.id === "sci/a@linux/arm64") } })));
  assert.equal(unattested.builds.map((b) => b.id), ["sci/a@linux/amd64", "sci/a@linux/arm64"]);
  assert.match(unattested.builds[1].reasons[0], /^its linux\/arm64 image in the index 127\.0\.0\.1:5055\/x\/sci\/a:1\.0: .* of this checkout's inputs, without its attestations/);
  assert.equal(reconcilePlan(whole, registry((b) => ({ ...current(b), index: { ...current(b), attested: true } }))).builds, [], "every image attested");
});

test("an image of this checkout's inputs published without its attestations is planned (reused, to add them), what builds on it is not; with attestations it is current", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const unattested = published(whole, { "sci/c": { found: true, inputs: whole.builds.find((b) => b.id === "sci/c")!.request.inputsDigest, attested: false } });
  const plan = reconcilePlan(whole, unattested);
  assert.equal(plan.builds.map((b) => b.id), ["sci/c"]);
  assert.match(plan.builds[0].reasons[0], /of this checkout's inputs, without its attestations \(provenance, SBOM\)$/);
  const attested = published(whole, { "sci/c": { found: true, inputs: whole.builds.find((b) => b.id === "sci/c")!.request.inputsDigest, attested: true } });
  assert.equal(reconcilePlan(whole, attested).builds, []);
});

test("an attestation that is not the image's own (about another image, or gone) is planned like a missing one; a tag whose index names a deleted manifest is rebuilt, with what builds on it", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const inputs = (id: string) => whole.builds.find((b) => b.id === id)!.request.inputsDigest;
  const foreign = reconcilePlan(whole, published(whole, { "sci/c": { found: true, inputs: inputs("sci/c"), attested: false, attestationFault: "attestation layer sha256:1: subject x is sha256:2, not the image's sha256:3" } }));
  assert.equal(foreign.builds.map((b) => b.id), ["sci/c"]);
  assert.match(foreign.builds[0].reasons[0], /of this checkout's inputs, with attestations that are not its own or not whole \(attestation layer sha256:1: subject x is sha256:2, not the image's sha256:3\)$/);
  const broken = reconcilePlan(whole, published(whole, { "sci/a": { found: false, broken: "the index names manifest sha256:4, which the registry does not have" } }));
  assert.ok(broken.builds.length > 1, "what builds on it is rebuilt too");
  assert.match(broken.builds.find((b) => b.id === "sci/a")!.reasons[0], /sci\/a:1\.0 is broken: the index names manifest sha256:4, which the registry does not have$/);
});

test("a one-platform index whose platform moving tag is missing or holds another image is planned (reused, to push the tag again), what builds on it is not", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const c = whole.builds.find((b) => b.id === "sci/c")!;
  const tag = `${c.request.tags[0]}-linux-amd64`;
  const older = { digest: "sha256:old", build: "c:1.0-1-abcdef" };
  for (const held of [undefined, older, { digest: "sha256:unlabelled" }]) {
    const plan = reconcilePlan(whole, published(whole, { "sci/c": { found: true, inputs: c.request.inputsDigest, attested: true, platformTag: { tag, held, image: "sha256:img" } } }));
    assert.equal(plan.builds.map((b) => b.id), ["sci/c"], "nothing is rebuilt on it");
    assert.match(plan.builds[0].reasons[0], new RegExp(`of this checkout's inputs, but ${tag.replace(/[./]/g, "\\$&")} ${held ? `holds ${held.digest}` : "is missing"}, not its image sha256:img$`));
  }
  // a newer build under the platform tag stays there, as the run leaves it: current
  const newerThere = reconcilePlan(whole, published(whole, { "sci/c": { found: true, inputs: c.request.inputsDigest, attested: true, platformTag: { tag, held: { digest: "sha256:new", build: "c:1.0-999-abcdef" }, image: "sha256:img" } } }));
  assert.equal(newerThere.builds, []);
  // a newer build under the moving tag stays, whatever its platform tag holds
  const newer = reconcilePlan(whole, published(whole, { "sci/c": { found: true, inputs: "sha256:other", build: "c:1.0-999-abcdef", platformTag: { tag, image: "sha256:img" } } }));
  assert.equal(newer.builds, []);
});

test("an index whose platform build tag holds another image of its inputs (a run of the commit ended before its index step) is planned, to be reused, and what builds on it is not", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const a = whole.builds.find((b) => b.id === "sci/a")!;
  const build = a.request.labels[versionLabel("science", "a")];
  const imageTag = `${a.request.tags[1]}-linux-amd64`;
  const plan = reconcilePlan(whole, published(whole, { "sci/a": { found: true, inputs: a.request.inputsDigest, build, attested: true, imageTagOther: { tag: imageTag, held: "sha256:other", image: "sha256:img" } } }));
  assert.equal(plan.builds.map((b) => [b.id, b.reasons]), [["sci/a", [`${a.request.tags[0]} holds ${build}, of this checkout's inputs, but ${imageTag} holds another image of them (sha256:other), not the index's sha256:img`]]]);
  // Of other inputs, the moving tag is judged on those, as before.
  const other = reconcilePlan(whole, published(whole, { "sci/a": { found: true, inputs: "sha256:other", build, imageTagOther: { tag: imageTag, held: "sha256:other", image: "sha256:img" } } }));
  assert.match(other.builds.find((b) => b.id === "sci/a")!.reasons[0], /^published image has inputs sha256:other/);
});

test("a moving tag holding an image of this checkout's inputs whose build tag is gone (a retention policy) is planned, with what builds on it: verify and its children look for that build tag", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const a = whole.builds.find((b) => b.id === "sci/a")!;
  const build = a.request.labels[versionLabel("science", "a")];
  const held = heldBuildTag(a.request, build)!;
  assert.is(held, a.request.tags[1], "this checkout's own build: its build tag");
  assert.is(heldBuildTag(a.request, "1.0-3-abc1234"), a.request.tags[0].replace(/:1\.0$/, ":1.0-3-abc1234"), "an older build's");
  assert.is(heldBuildTag({ ...a.request, platform: "linux/arm64" }, "1.0-3-abc1234"), a.request.tags[0].replace(/:1\.0$/, ":1.0-3-abc1234-linux-arm64"));
  assert.is(heldBuildTag(a.request, "an image from elsewhere"), undefined);
  const gone = published(whole, { "sci/a": { found: true, inputs: a.request.inputsDigest, build, buildTagMissing: held } });
  const planned = reconcilePlan(whole, gone);
  assert.equal(planned.builds.find((b) => b.id === "sci/a")!.reasons, [`${a.request.tags[0]} holds ${build}, of this checkout's inputs, but its build tag ${held} is gone`]);
  assert.ok(planned.builds.some((b) => b.id === "sci/b"), "what builds on it is rebuilt");
  // Only the index's tag gone, its image still under its platform build tag: written again where it
  // is, and what builds on it stays; an earlier commit's build is completed as that build.
  const imageTag = `${held}-linux-amd64`;
  const kept = reconcilePlan(whole, published(whole, { "sci/a": { found: true, inputs: a.request.inputsDigest, build, buildTagMissing: held, imageTagHeld: imageTag } }));
  assert.equal(kept.builds.map((b) => [b.id, b.reasons]), [["sci/a", [`${a.request.tags[0]} holds ${build}, of this checkout's inputs, but its build tag ${held} is gone (its image is still under ${imageTag})`]]]);
  const earlierTag = heldBuildTag(a.request, "1.0-1-abc1234")!;
  const earlier = reconcilePlan(whole, published(whole, { "sci/a": { found: true, inputs: a.request.inputsDigest, build: "1.0-1-abc1234", buildTagMissing: earlierTag, imageTagHeld: `${earlierTag}-linux-amd64` } }), { commits: new Map([["abc1234", "abc1234".padEnd(40, "0")]]) });
  assert.equal(earlier.builds.map((b) => b.id), ["sci/a"]);
  assert.is(earlier.builds[0].request.tags[1], earlierTag, "completed under the earlier build's tag");
  assert.match(earlier.builds[0].reasons.at(-1)!, /completed as 1\.0-1-abc1234, not rebuilt$/);
});

test.run();
