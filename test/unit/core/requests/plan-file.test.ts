// Plan files are checked before anything runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePlanFile } from "../../../../src/core/requests/plan-file.js";
import { InputError } from "../../../../src/core/model.js";
import { makePlan } from "../../../helpers/small-plan.js";

test("plan files are checked before anything runs", () => {
  const plan = makePlan({ science: ["a"] });
  assert.equal(parsePlanFile(JSON.stringify(plan), "p.json"), plan);
  const bad = (text: string, re: RegExp) => assert.throws(() => parsePlanFile(text, "p.json"), (e: Error) => e instanceof InputError && re.test(e.message));
  bad("{", /^p\.json: invalid JSON/);
  bad("{}", /^p\.json: not an image-builder plan/);
  const outside = structuredClone(plan);
  outside.builds[0].request.contexts = ["../../etc"];
  bad(JSON.stringify(outside), /outside the repository/);
  const reordered = structuredClone(plan);
  reordered.builds.reverse();
  bad(JSON.stringify(reordered), /does not come before it/);
});

test.run();
