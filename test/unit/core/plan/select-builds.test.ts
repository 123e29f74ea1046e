// --only: a part of a plan, and the parents it needs from the registry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { selectBuilds } from "../../../../src/core/plan/select-builds.js";
import { InputError } from "../../../../src/core/model.js";
import { makePlan } from "../../../helpers/small-plan.js";

test("--only keeps the named builds and lists the parents they need from the registry", () => {
  const plan = makePlan({ science: ["a"] });
  const { plan: part, prebuiltParents } = selectBuilds(plan, ["sci/b", "rel/b:1.0"], "plan.json");
  assert.equal(part.builds.map((b) => b.id), ["sci/b", "rel/b:1.0"]);
  assert.equal(part.builds[0].dependsOn, []);
  assert.equal(part.builds[1].dependsOn, ["sci/b"]);
  assert.equal(prebuiltParents, [{ id: "sci/a", baseTag: "127.0.0.1:5055/x/sci/a:1.0", buildTag: "127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0" }]);
  assert.equal(part.waves, [["sci/b"], ["rel/b:1.0"]]);
  assert.throws(() => selectBuilds(plan, ["sci/nope"], "plan.json"), (e: Error) => e instanceof InputError
    && e.message === "plan.json: --only sci/nope: no such build in the plan; its builds are sci/a, sci/b, rel/a:1.0, rel/b:1.0");
  assert.is(selectBuilds(plan, [], "p").plan, plan);
});

test.run();
