// --only: a part of a plan, and the parents it needs from the registry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { selectBuilds, selectPlatforms } from "../../../../src/core/plan/select-builds.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";
import { InputError } from "../../../../src/core/model.js";
import { GIT, RAW, makePlan } from "../../../helpers/small-plan.js";

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

test("run --platform keeps the plan's requests of those platforms; --only then picks among them with the same platform's parents", () => {
  const plan = planBuilds(readLayers(RAW), {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {}, platforms: ["linux/amd64", "linux/arm64"],
    changes: { all: false, science: ["a"], compat: [], why: "changed" },
  });
  const arm = selectPlatforms(plan, ["linux/arm64"], "plan.json");
  assert.equal(arm.builds.map((b) => b.id), ["sci/a@linux/arm64", "sci/b@linux/arm64", "rel/a:1.0@linux/arm64", "rel/b:1.0@linux/arm64"]);
  assert.equal(arm.waves[0], ["sci/a@linux/arm64"]);
  const { prebuiltParents } = selectBuilds(arm, ["sci/b@linux/arm64"], "plan.json");
  // Pulled by its own platform's build tag, pinned where the child's FROM names it.
  assert.equal(prebuiltParents, [{
    id: "sci/a@linux/arm64", baseTag: "127.0.0.1:5055/x/sci/a:1.0", buildTag: "127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0-linux-arm64", platform: "linux/arm64",
  }]);
  assert.throws(() => selectPlatforms(plan, ["linux/s390x"], "plan.json"),
    (e: unknown) => e instanceof InputError && (e as Error).message === "plan.json: --platform linux/s390x: the plan builds nothing for it; its platforms are linux/amd64, linux/arm64");
  assert.throws(() => selectPlatforms(makePlan({ science: ["a"] }), ["linux/amd64"], "plan.json"),
    (e: unknown) => e instanceof InputError && /it names no platforms/.test((e as Error).message));
});

test.run();
