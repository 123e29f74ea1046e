// What counts as changed: --include and --ignore.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { determineChanges, uncommittedLayers, uncommittedWarning } from "../../../../src/core/plan/changes.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";
import { InputError } from "../../../../src/core/model.js";
import { makePlan, RAW } from "../../../helpers/small-plan.js";

test("--include and --ignore of something that is not a layer directory list the layer directories", () => {
  const flags = { all: false, include: ["science/nope"], ignore: [], why: "changed" };
  assert.throws(() => determineChanges(readLayers(RAW), [], flags), (e: Error) => e instanceof InputError
    && e.message === "--include science/nope: not a layer directory (expected science/NAME or compat/NAME with a sciserver-image.json); the layer directories are compat/base, science/a, science/b, science/c");
});

test("uncommitted or untracked files under a planned build's contexts are warned about, once per directory", () => {
  const plan = makePlan({ science: ["a"] });
  assert.is(uncommittedWarning(uncommittedLayers(plan.builds, ["README.md", "science/c/x", "science/ab/x"]), "3-c0ffee0"), undefined);
  assert.is(uncommittedWarning(uncommittedLayers(plan.builds, ["compat/base/new.txt", "science/a/Dockerfile", "science/a/data"]), "3-c0ffee0"),
    "uncommitted changes are built as they are in the checkout, but tagged 3-c0ffee0 as if committed: compat/base, science/a");
});

test.run();
