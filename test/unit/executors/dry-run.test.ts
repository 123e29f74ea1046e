// What the default command prints about a plan, by verbosity.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { describePlan } from "../../../src/executors/dry-run.js";
import { planBuilds } from "../../../src/core/plan/plan-builds.js";
import { readLayers } from "../../../src/core/parse/layer-config.js";
import { GIT, RAW, makePlan } from "../../helpers/small-plan.js";
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

test("-v: one line per final image; with platforms, one line naming them, and one per layer naming the tags that hold its image index", () => {
  assert.equal(describePlan(makePlan({ science: ["a"] }), 1).filter((l) => l.startsWith("change results")), [
    "change results in final image a => a:1.0-3-c0ffee0, a:1.0",
    "change results in final image b => b:1.0-3-c0ffee0, b:1.0",
  ]);
  const platforms = ["linux/amd64", "linux/arm64"];
  const plan = planBuilds(readLayers(RAW), {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {}, platforms,
    changes: { all: false, science: ["a"], compat: [], why: "changed" },
  });
  assert.equal(describePlan(plan, 1), [
    "change results in final image a => a:1.0-3-c0ffee0, a:1.0 (linux/amd64, linux/arm64)",
    "change results in final image b => b:1.0-3-c0ffee0, b:1.0 (linux/amd64, linux/arm64)",
    "image index 127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0, 127.0.0.1:5055/x/sci/a:1.0 (linux/amd64, linux/arm64)",
    "image index 127.0.0.1:5055/x/sci/b:1.0-3-c0ffee0, 127.0.0.1:5055/x/sci/b:1.0 (linux/amd64, linux/arm64)",
    "image index 127.0.0.1:5055/x/rel/a:1.0-3-c0ffee0, 127.0.0.1:5055/x/rel/a:1.0 (linux/amd64, linux/arm64)",
    "image index 127.0.0.1:5055/x/rel/b:1.0-3-c0ffee0, 127.0.0.1:5055/x/rel/b:1.0 (linux/amd64, linux/arm64)",
    "final plan includes 4 science builds and 4 compat builds",
  ]);
  assert.not.ok(describePlan(makePlan({ science: ["a"] }), 1).some((l) => l.startsWith("image index")), "a plan without platforms has no index");
  // -vvv: each build's docker build command names its platform.
  assert.ok(describePlan(plan, 3).some((l) => l.startsWith("  command: docker build --file science/a/Dockerfile --platform linux/arm64 --tag 127.0.0.1:5055/x/sci/a:1.0-linux-arm64 ")));
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
