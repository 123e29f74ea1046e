import { test } from "uvu";
import * as assert from "uvu/assert";
import { planGraph, renderGraphSvg } from "../../../../../src/core/report/html/graph.js";
import { selectBuilds } from "../../../../../src/core/plan/select-builds.js";
import { makePlan } from "../../../../helpers/small-plan.js";
import { generatedPlan } from "../../../../helpers/generated-plan.js";

/** Each node's box in the SVG: the rect after its <title>. */
function boxes(svg: string): Map<string, { x: number; y: number; width: number; height: number }> {
  const out = new Map<string, { x: number; y: number; width: number; height: number }>();
  for (const m of svg.matchAll(/<title>([^<:]+(?::[^<:]+)?): [^<]*<\/title><rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)"/g)) {
    out.set(m[1], { x: Number(m[2]), y: Number(m[3]), width: Number(m[4]), height: Number(m[5]) });
  }
  return out;
}

test("one node per build, an edge per parent in the plan; a parent built by another run (run --only) is no node", () => {
  const plan = makePlan({ science: ["a", "c"] });
  assert.equal(planGraph(plan).edges.map((e) => `${e.from} -> ${e.to}`).sort(), ["sci/a -> rel/a:1.0", "sci/a -> sci/b", "sci/b -> rel/b:1.0", "sci/c -> rel/c:1.0"]);
  const only = selectBuilds(plan, ["sci/b"], "plan.json").plan;
  const graph = planGraph(only);
  assert.equal(graph.nodes.map((n) => n.key), ["sci/b"]);
  assert.equal(graph.edges, []);
  assert.match(renderGraphSvg(only), ">sci/b</text>");
});

test("layout: every node inside the drawing, no two overlapping, parents left of what is built on them", () => {
  const plan = generatedPlan(60);
  const svg = renderGraphSvg(plan);
  const [, width, height] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
  const placed = boxes(svg);
  assert.is(placed.size, plan.builds.length);
  const all = [...placed];
  for (const [id, b] of all) assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= width && b.y + b.height <= height, `${id} outside`);
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) {
    const [p, a] = all[i];
    const [q, b] = all[j];
    const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
    assert.ok(apart, `${p} and ${q} overlap`);
  }
  for (const b of plan.builds) for (const p of b.dependsOn) assert.ok(placed.get(p)!.x < placed.get(b.id)!.x, `${p} left of ${b.id}`);
});

test.run();
