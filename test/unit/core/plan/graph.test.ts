import { test } from "uvu";
import * as assert from "uvu/assert";
import { parentsFirst } from "../../../../src/core/plan/graph.js";

test("parentsFirst: parents before children, otherwise the input order; the nodes of a loop (a union of graphs) follow rather than vanish", () => {
  const parents: Record<string, string[]> = { app: ["base"], base: [], tool: ["app"], other: [] };
  assert.equal(parentsFirst(["app", "tool", "base", "other"], (n) => parents[n] ?? []), ["base", "app", "tool", "other"]);
  const loop: Record<string, string[]> = { a: ["b"], b: ["a"], c: [] };
  assert.equal(parentsFirst(["a", "b", "c"], (n) => loop[n]), ["c", "a", "b"]);
  // a chain far deeper than a call stack: no recursion
  const n = 50_000;
  const chain = Array.from({ length: n }, (_, i) => `l${n - 1 - i}`);
  const order = parentsFirst(chain, (x) => (x === "l0" ? [] : [`l${Number(x.slice(1)) - 1}`]));
  assert.is(order[0], "l0");
  assert.is(order[n - 1], `l${n - 1}`);
});

test.run();
