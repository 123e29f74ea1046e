// What a run can build of a plan's platforms on an engine: native, emulated (probed), never classic.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  classicPlanWarning, enginePlatform, foreignPlatforms, normalizePlatform, basesToPull, platformRefusal, platformsOfPlan,
} from "../../../../src/core/execute/platforms.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { basesNotBuilt } from "../../../../src/core/plan/bases-not-built.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";
import { GIT, RAW, makePlan } from "../../../helpers/small-plan.js";

const TWO = ["linux/amd64", "linux/arm64"];
const twoPlatforms = planBuilds(readLayers(RAW), {
  repo: "r", git: GIT, buildTime: 1, buildArgs: {}, platforms: TWO, changes: { all: true, science: [], compat: [], why: "--all" },
});
const plain = makePlan({ science: ["a"] });

test("the engine's platform and the plan's compare as containerd does", () => {
  assert.is(enginePlatform({ os: "linux", arch: "amd64" }), "linux/amd64");
  assert.is(enginePlatform({ os: "linux", arch: "aarch64" }), "linux/arm64");
  assert.is(normalizePlatform("linux/arm64/v8"), "linux/arm64");
  assert.is(normalizePlatform("linux/arm"), "linux/arm/v7");
  assert.equal(platformsOfPlan(twoPlatforms), TWO);
  assert.equal(platformsOfPlan(plain), []);
  assert.equal(foreignPlatforms(TWO, "linux/amd64"), ["linux/arm64"]);
  assert.equal(foreignPlatforms(["linux/arm64/v8"], "linux/arm64"), []);
});

test("a run is refused before building when a foreign platform's probe failed, naming what to install", () => {
  assert.is(platformRefusal(plain, "linux/amd64", "buildkit", new Map()), undefined);
  assert.is(platformRefusal(twoPlatforms, "linux/amd64", "buildkit", new Map()), undefined);
  const refusal = platformRefusal(twoPlatforms, "linux/amd64", "buildkit", new Map([["linux/arm64", "exec format error"]]))!;
  assert.match(refusal, "the engine (linux/amd64) can't run linux/arm64 (linux/arm64: exec format error)");
  assert.match(refusal, "apt-get install qemu-user-static binfmt-support");
  // Native only: nothing to probe, nothing refused.
  assert.is(platformRefusal(twoPlatforms, "linux/arm64", "buildkit", new Map([["linux/amd64", "x"]]))?.includes("linux/amd64"), true);
});

test("the classic builder: refused for a foreign platform at the run, warned about at plan time", () => {
  assert.match(platformRefusal(twoPlatforms, "linux/amd64", "classic", new Map()) ?? "", /^the classic builder builds only the engine's own platform \(linux\/amd64\), not linux\/arm64/);
  assert.is(classicPlanWarning(twoPlatforms, "classic")?.startsWith("--builder classic builds only the engine's own platform"), true);
  assert.is(classicPlanWarning(twoPlatforms, "buildkit"), undefined);
  assert.is(classicPlanWarning(plain, "classic"), undefined);
});

test("a run for named platforms building on a layer it does not build itself pulls that layer's image for each platform, by its platform moving tag; one without platforms pulls {version}", () => {
  const childOnly = planBuilds(readLayers(RAW), {
    repo: "r", git: GIT, buildTime: 1, buildArgs: {}, platforms: TWO, changes: { all: false, science: ["b"], compat: [], why: "changed" },
  });
  assert.equal(basesNotBuilt(childOnly), ["r/sci/a:1.0"]);
  assert.equal(basesToPull(childOnly, basesNotBuilt(childOnly)), [
    { reference: "r/sci/a:1.0", platform: "linux/amd64", pull: "r/sci/a:1.0-linux-amd64" },
    { reference: "r/sci/a:1.0", platform: "linux/arm64", pull: "r/sci/a:1.0-linux-arm64" },
  ]);
  // The parents a plan builds, for every platform, are no bases to pull.
  assert.equal(basesNotBuilt(twoPlatforms), []);
  const plainChild = planBuilds(readLayers(RAW), {
    repo: "r", git: GIT, buildTime: 1, buildArgs: {}, changes: { all: false, science: ["b"], compat: [], why: "changed" },
  });
  assert.equal(basesToPull(plainChild, basesNotBuilt(plainChild)), [{ reference: "r/sci/a:1.0", pull: "r/sci/a:1.0" }]);
});

test.run();
