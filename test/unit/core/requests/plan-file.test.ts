// Plan files are checked before anything runs; a plan written by an older image-builder, before
// fields were renamed, still runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePlanFile } from "../../../../src/core/requests/plan-file.js";
import { InputError } from "../../../../src/core/model.js";
import { makePlan } from "../../../helpers/small-plan.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";

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

const withCompat = planBuilds(readLayers([
  { kind: "science", dir: "a", config: JSON.stringify({ image: "a", compat: "base" }), dockerfile: "FROM busybox:stable\n" },
  { kind: "compat", dir: "base", config: "{}", dockerfile: "RUN true\n" },
]), {
  repo: "127.0.0.1:5055/x", git: { commit: "c0ffee".padEnd(40, "0"), shortCommit: "c0ffee0", buildNumber: 3 },
  buildTime: 1, buildArgs: { GREETING: "hi" }, changes: { all: true, science: [], compat: [], why: "--all" },
});

test("a plan file with the old field names (request.environment, finalImage) reads as today's plan", () => {
  const old = JSON.parse(JSON.stringify(withCompat));
  for (const b of old.builds) {
    b.request.environment = b.request.buildArgs;
    delete b.request.buildArgs;
    if (b.finalImages) {
      b.finalImage = b.finalImages;
      delete b.finalImages;
    }
  }
  assert.ok(old.builds.some((b: { finalImage?: string[] }) => b.finalImage), "the example has a compat build");
  assert.equal(parsePlanFile(JSON.stringify(old), "old.json"), withCompat);
});

test("today's plan file reads back as written", () => {
  assert.equal(parsePlanFile(JSON.stringify(withCompat), "p.json"), withCompat);
  assert.equal(withCompat.builds[0].request.buildArgs, { GREETING: "hi" });
});

test.run();
