// --reconcile: from a plan of every layer, what the registry lacks or holds from other inputs,
// and what counts as changed for `graph`.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentLayers, reconcilePlan, reconciledChanges, type PublishedImage } from "../../../../src/core/plan/reconcile.js";
import { renderGraph } from "../../../../src/core/report/render-graph.js";
import { analyzeRepository } from "../../../../src/core/plan/analyze-repository.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";
import type { Plan } from "../../../../src/core/model.js";
import { versionLabel } from "../../../../src/core/requests/inputs-digest.js";
import { describePlan } from "../../../../src/executors/dry-run.js";
import { RAW, makePlan } from "../../../helpers/small-plan.js";

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

test("an image of this checkout's inputs published without its attestations is planned (to add them), and what builds on it too; with attestations it is current", () => {
  const whole = makePlan({ science: ["a", "c"] });
  const unattested = published(whole, { "sci/c": { found: true, inputs: whole.builds.find((b) => b.id === "sci/c")!.request.inputsDigest, attested: false } });
  const plan = reconcilePlan(whole, unattested);
  assert.equal(plan.builds.map((b) => b.id), ["sci/c", "rel/c:1.0"]);
  assert.match(plan.builds[0].reasons[0], /of this checkout's inputs, without its attestations \(provenance, SBOM\)$/);
  const attested = published(whole, { "sci/c": { found: true, inputs: whole.builds.find((b) => b.id === "sci/c")!.request.inputsDigest, attested: true } });
  assert.equal(reconcilePlan(whole, attested).builds, []);
});

test.run();
