// What counts as changed: --include and --ignore.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { determineChanges } from "../../../../src/core/plan/changes.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";
import { InputError } from "../../../../src/core/model.js";
import { RAW } from "../../../helpers/small-plan.js";

test("--include and --ignore of something that is not a layer directory list the layer directories", () => {
  const flags = { all: false, include: ["science/nope"], ignore: [], why: "changed" };
  assert.throws(() => determineChanges(readLayers(RAW), [], flags), (e: Error) => e instanceof InputError
    && e.message === "--include science/nope: not a layer directory (expected science/NAME or compat/NAME with a sciserver-image.json); the layer directories are compat/base, science/a, science/b, science/c");
});

test.run();
