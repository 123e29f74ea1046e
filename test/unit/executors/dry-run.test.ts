// What the default command prints about a plan, by verbosity.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { describePlan } from "../../../src/executors/dry-run.js";
import type { Plan } from "../../../src/core/model.js";
import { plan } from "../../helpers/inputs-fixture.js";

const EMPTY: Plan = { repo: "registry.example.org/x", commit: "c0ffee".padEnd(40, "0"), buildNumber: 3, builds: [], waves: [] };

test("nothing to build is one line, even without -v, saying why", () => {
  for (const verbosity of [0, 1, 3]) {
    assert.equal(describePlan(EMPTY, verbosity, "changed since HEAD^"), ["nothing to build: no layer changed since HEAD^"], `-v x ${verbosity}`);
  }
  assert.equal(describePlan(EMPTY, 0, "changed in v1..v2"), ["nothing to build: no layer changed in v1..v2"]);
  assert.equal(describePlan(EMPTY, 0), ["nothing to build: the plan has no builds"]);
});

test("every verbosity prints every field of a plan from before inputs digests, never \"undefined\"", () => {
  const p = plan();
  const old: Plan = { ...p, contextListings: undefined, builds: p.builds.map((b) => ({ ...b, request: { ...b.request, inputsDigest: undefined, inputs: undefined } })) };
  for (const verbosity of [1, 2, 3]) {
    const text = describePlan(old, verbosity).join("\n");
    assert.not.match(text, "undefined", `-v x ${verbosity}`);
    if (verbosity >= 2) assert.match(text, "  inputs (none: the plan has no inputs digest)");
  }
  assert.match(describePlan(p, 2).join("\n"), `  inputs ${p.builds[0].request.inputsDigest}`);
});

test.run();
