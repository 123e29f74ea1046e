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
  bad("{}", /^p\.json: not an image-builder plan: repo: required$/);
  bad("[]", /^p\.json: not an image-builder plan: expected an object, got an array$/);
  const outside = structuredClone(plan);
  outside.builds[0].request.contexts = ["../../etc"];
  bad(JSON.stringify(outside), /^p\.json: builds\[0\]\.request\.contexts\[0\]: "\.\.\/\.\.\/etc" is outside the repository$/);
  const reordered = structuredClone(plan);
  reordered.builds.reverse();
  bad(JSON.stringify(reordered), /^p\.json: builds\[0\]\.dependsOn\[0\]: sci\/b does not come before rel\/b:1\.0$/);
});

test("a malformed plan names the file and the first field that is wrong", () => {
  const bad = (change: (p: any) => void, re: RegExp) => {
    const p: any = structuredClone(withCompat);
    change(p);
    assert.throws(() => parsePlanFile(JSON.stringify(p), "plan.json"), (e: Error) => e instanceof InputError && re.test(e.message), re.source);
  };
  bad((p) => delete p.builds[1].request.dockerfile, /^plan\.json: builds\[1\]\.request\.dockerfile: required$/);
  bad((p) => delete p.builds[0].request.tags, /^plan\.json: builds\[0\]\.request\.tags: required$/);
  bad((p) => (p.builds[0].request.tags = []), /^plan\.json: builds\[0\]\.request\.tags: expected at least 1 entry$/);
  bad((p) => (p.builds[0].kind = "sciense"), /^plan\.json: builds\[0\]\.kind: expected "science" or "compat", got "sciense"$/);
  bad((p) => (p.builds[0].request.labels["org.sciserver.science.a.version"] = 3), /^plan\.json: builds\[0\]\.request\.labels\["org\.sciserver\.science\.a\.version"\]: expected a string, got number 3$/);
  bad((p) => (p.builds[0].request.inputs.parents = []), /^plan\.json: builds\[0\]\.request\.inputs\.parents: expected an object, got an array$/);
  bad((p) => delete p.builds[1].finalImages, /^plan\.json: builds\[1\]\.finalImages: required for a compat build$/);
  bad((p) => (p.buildNumber = "7"), /^plan\.json: not an image-builder plan: buildNumber: expected a number, got string "7"$/);
  bad((p) => (p.waves = null), /^plan\.json: not an image-builder plan: waves: expected an array, got null$/);
});

test("a plan file from before inputs digests, with a stored command line, still reads", () => {
  const old = JSON.parse(JSON.stringify(withCompat));
  for (const b of old.builds) {
    b.request.command = ["docker", "build", "--tag", b.request.tags[0], b.source];
    delete b.request.inputsDigest;
    delete b.request.inputs;
  }
  const read = parsePlanFile(JSON.stringify(old), "old.json");
  assert.equal(read.builds.map((b) => b.id), withCompat.builds.map((b) => b.id));
  assert.is(read.builds[0].request.inputsDigest, undefined);
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
