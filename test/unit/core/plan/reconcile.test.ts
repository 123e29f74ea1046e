// --reconcile: from a plan of every layer, what the registry lacks or holds from other inputs,
// and what counts as changed for `graph`.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { reconcilePlan, reconciledChanges, type PublishedImage } from "../../../../src/core/plan/reconcile.js";
import { renderGraph } from "../../../../src/core/report/render-graph.js";
import { analyzeRepository } from "../../../../src/core/plan/analyze-repository.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";
import type { Plan } from "../../../../src/core/model.js";
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

test.run();
