// Waves: builds grouped so that each depends only on builds of earlier waves.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { groupIntoWaves } from "../../../../src/core/plan/waves.js";
import { makePlan } from "../../../helpers/small-plan.js";

test("waves: each build depends only on builds of earlier waves", () => {
  const plan = makePlan({ science: ["a", "c"] });
  assert.equal(plan.waves, [["sci/a", "sci/c"], ["sci/b", "rel/a:1.0", "rel/c:1.0"], ["rel/b:1.0"]]);
  assert.equal(groupIntoWaves([]), []);
});

test.run();
