// Plan files: a plan written by an older image-builder, before fields were renamed, still runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePlanFile } from "../../../../src/core/requests/plan-file.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";

const plan = planBuilds(readLayers([
  { kind: "science", dir: "a", config: JSON.stringify({ image: "a", compat: "base" }), dockerfile: "FROM busybox:stable\n" },
  { kind: "compat", dir: "base", config: "{}", dockerfile: "RUN true\n" },
]), {
  repo: "127.0.0.1:5055/x", git: { commit: "c0ffee".padEnd(40, "0"), shortCommit: "c0ffee0", buildNumber: 3 },
  buildTime: 1, buildArgs: { GREETING: "hi" }, changes: { all: true, science: [], compat: [], why: "--all" },
});

test("a plan file with the old field names (request.environment, finalImage) reads as today's plan", () => {
  const old = JSON.parse(JSON.stringify(plan));
  for (const b of old.builds) {
    b.request.environment = b.request.buildArgs;
    delete b.request.buildArgs;
    if (b.finalImages) {
      b.finalImage = b.finalImages;
      delete b.finalImages;
    }
  }
  assert.ok(old.builds.some((b: { finalImage?: string[] }) => b.finalImage), "the example has a compat build");
  assert.equal(parsePlanFile(JSON.stringify(old), "old.json"), plan);
});

test("today's plan file reads back as written", () => {
  assert.equal(parsePlanFile(JSON.stringify(plan), "p.json"), plan);
  assert.equal(plan.builds[0].request.buildArgs, { GREETING: "hi" });
});

test.run();
